// `machine exec` internals: the resolved plan, and the runners for each mode (§10.3-10.5).
#pragma once

#include "fake_smolvm.hpp"
#include "fake_smolvm_state.hpp"

#include <sys/types.h>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fake_smolvm {

struct ExecPlan {
  MachineRecord record;
  std::vector<std::string> command;  // guest argv, verbatim
  std::string program;               // command[0] resolved against the guest PATH
  std::vector<std::string> env;
  std::string workdir;  // a guest path, mapped in the child; empty: keep the caller's cwd
  std::filesystem::path guest_fs;
  int guest_ns_fd = -1;   // the running machine's mount namespace; -1: a throwaway one
  int guest_net_fd = -1;  // its network namespace when it has no --net; -1 otherwise
  bool interactive = false;
  bool tty = false;
  bool stream = false;
  std::optional<long long> timeout_ms;
};

// humantime durations as clap parses `--timeout`: "30s", "5m", "1h 30m", "500ms".
// Returns the reason on failure (bare numbers need a unit; zero is refused).
struct DurationParse {
  std::optional<long long> milliseconds;
  std::string problem;
};
DurationParse parse_duration(const std::string& text);

// FAKE_SMOLVM_STRICT_PTS (§10.5). Returns an exit status when the guard handled the
// exec itself (refused it, or emulated the /dev/pts/* resize loop); nothing to proceed.
std::optional<int> guard_pts_side_channel(const Context& context, const StateStore& store, const ExecPlan& plan);

int run_piped(const StateStore& store, const ExecPlan& plan);
int run_detached(const StateStore& store, const ExecPlan& plan);
int run_in_pty(const Context& context, const StateStore& store, const ExecPlan& plan);

// A JSON file that exists exactly as long as this object (sessions/…, execs/…).
class RegistrationFile {
 public:
  RegistrationFile(std::filesystem::path path, const std::string& content);
  ~RegistrationFile();
  RegistrationFile(const RegistrationFile&) = delete;
  RegistrationFile& operator=(const RegistrationFile&) = delete;
  void rewrite(const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// Child side of every spawn: enter the guest mount namespace, apply the workdir, then
// execve the resolved program.
[[noreturn]] void exec_guest_command(const ExecPlan& plan);

}  // namespace fake_smolvm
