// Small POSIX process and fd helpers used across the fake.
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fake_smolvm {

// Start time (clock ticks since boot, /proc/PID/stat field 22), to tell a recycled PID
// from the process we started.
std::optional<long long> process_start_time(pid_t pid);

// Alive means: exists, is not a zombie, and (when given) has the recorded start time.
// Zombies count as dead because an orphaned stand-in may wait for a slow reaper.
bool process_alive(pid_t pid, std::optional<long long> expected_start_time = std::nullopt);

// Sends `first` to the process group, waits up to `grace_ms` for the leader to die, then
// SIGKILLs the group.
void terminate_group(pid_t leader, int first_signal, int grace_ms);

bool write_all(int fd, std::string_view data);

// Restores default dispositions and an empty mask in a freshly forked child, because
// ignored signals (SIGPIPE) survive exec.
void reset_signals_for_child();

// Closes every fd above 2 in a freshly forked child, except `keep` and `keep_too`.
void close_inherited_fds(int keep = -1, int keep_too = -1);

// Resolves a command like execvp would, but with the guest's PATH rather than ours.
std::optional<std::string> resolve_command(const std::string& command, const std::vector<std::string>& env);

std::vector<char*> c_argv(std::vector<std::string>& words);

// Turns a waitpid status into a shell-style exit status (128+signal when killed).
int exit_status_of(int wait_status);

// In a freshly forked child that outlives its client: a new session, with
// /dev/null as stdin, stdout and stderr.
void detach_from_client();

// The guest command an exec session forked, leader of its own process group.
struct GuestChild {
  pid_t pid = -1;
  int wait_status = 0;
  bool reaped = false;

  // Sends `signal_number` to the child's whole process group.
  void signal_group(int signal_number) const;
  // Collects the child's status if it has exited; never blocks.
  void reap();
  // At the end of a session: SIGKILLs the group and waits, unless already reaped.
  void kill_and_reap();
};

}  // namespace fake_smolvm
