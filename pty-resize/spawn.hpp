#pragma once
// Starting the two kinds of processes pty-resize runs.

#include <string>
#include <vector>

#include <sys/types.h>

namespace pty_resize {

/// The result of a spawn: a pid, or the errno that prevented exec (pid == -1).
struct SpawnOutcome {
  pid_t pid = -1;
  int error = 0;
};

/// Starts `argv` (PATH-searched) on the caller's terminal: it inherits stdin, stdout and
/// stderr and stays in the caller's process group, so as part of the foreground job it
/// may read the terminal. No bytes are relayed; pty-resize never touches its stdio.
[[nodiscard]] SpawnOutcome spawn_on_terminal(const std::vector<std::string>& argv);

/// Starts `argv` (PATH-searched) detached from the terminal: stdin and stdout are
/// /dev/null, stderr is `stderr_fd`, and it leads a new process group so terminal signals
/// (^C) do not reach it and the whole group can be killed at once.
[[nodiscard]] SpawnOutcome spawn_detached(const std::vector<std::string>& argv, int stderr_fd);

/// Makes spawned programs start with SIGPIPE at its default action, undoing the
/// SIG_IGN that pty-resize sets for itself (ignored dispositions survive exec).
void reset_sigpipe_in_children(bool reset);

}  // namespace pty_resize
