#pragma once
// The pty-resize session: run the child on the user's terminal and keep the guest PTY's
// size in step with the host terminal until the child exits.

#include <chrono>
#include <string>
#include <vector>

namespace pty_resize {

struct SessionConfig {
  std::vector<std::string> child_argv;  ///< Run on the user's terminal (PATH-searched).
  std::string smolvm;                   ///< Side-channel program.
  std::string machine;                  ///< Side-channel --name.
  /// A side-channel push still running after this long is killed and counts as failed,
  /// so a hung exec cannot block later resizes forever.
  std::chrono::milliseconds side_channel_timeout{10000};
};

/// Runs the session and returns pty-resize's exit code: the child's exit status, 128+N if
/// it was killed by signal N, 127 (not found) or 126 if it could not be started.
///
/// While the child runs: pushes the host size at start, again at the settle offsets
/// (k_settle_push_offsets_ms), and after every SIGWINCH (coalesced, see ResizeCoalescer); forwards SIGTERM, SIGHUP and
/// SIGINT to the child, except a SIGINT the terminal raised (^C), which the child got already; reports the first failed
/// push on stderr and carries on. On return every process it started has been reaped. Throws std::system_error if the
/// signal pipe cannot be set up.
[[nodiscard]] int run_session(const SessionConfig& config);

}  // namespace pty_resize
