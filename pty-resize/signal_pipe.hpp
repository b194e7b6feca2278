#pragma once
// The self-pipe trick: signal handlers only append a small record to a non-blocking pipe;
// all real work happens in the poll() loop that reads it.

#include <span>
#include <vector>

namespace pty_resize {

/// One delivered signal, as read back from the pipe.
struct CaughtSignal {
  int signo = 0;
  /// True when the kernel raised it for the terminal (si_code == SI_KERNEL), e.g. ^C or a
  /// window resize: the whole foreground process group, the child included, got it too.
  bool from_terminal = false;
};

/// Installs handlers for `signals` that write to a CLOEXEC, non-blocking pipe and returns
/// the pipe's read end, for poll(). Only one signal pipe may exist per process.
/// Throws std::system_error if the pipe or a handler cannot be set up.
[[nodiscard]] int install_signal_pipe(std::span<const int> signals);

/// Reads every record pending on `read_fd` without blocking. If the pipe ever overflowed,
/// records were dropped; callers re-check state (waitpid, TIOCGWINSZ) on every wake-up.
[[nodiscard]] std::vector<CaughtSignal> drain_signal_pipe(int read_fd);

}  // namespace pty_resize
