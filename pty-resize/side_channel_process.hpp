#pragma once
// One running resize side-channel: its process, its captured stderr and its deadline.
//
// The session starts at most one at a time (see ResizeCoalescer). Its completion is
// observed by the session's waitpid() loop, which hands the status to finish().

#include <chrono>
#include <optional>
#include <string>

#include <sys/types.h>

#include "window_size.hpp"

namespace pty_resize {

class SideChannelProcess {
 public:
  using Clock = std::chrono::steady_clock;

  /// `smolvm` and `machine` are as in side_channel_argv(); a push that runs longer than
  /// `timeout` has its process group killed and counts as failed.
  SideChannelProcess(std::string smolvm, std::string machine, std::chrono::milliseconds timeout);
  /// Terminates and reaps a push that is still running, so none outlives pty-resize.
  ~SideChannelProcess();
  SideChannelProcess(const SideChannelProcess&) = delete;
  SideChannelProcess& operator=(const SideChannelProcess&) = delete;

  /// Starts pushing `size`. Returns a failure description if it could not be started
  /// (nothing is running then). Must not be called while running().
  [[nodiscard]] std::optional<std::string> start(WindowSize size);

  [[nodiscard]] bool running() const { return m_pid > 0; }
  [[nodiscard]] pid_t pid() const { return m_pid; }

  /// The read end of the captured stderr, for poll(); -1 when there is none.
  [[nodiscard]] int stderr_fd() const { return m_stderr_fd; }

  /// Reads whatever stderr is available without blocking (keeps the first few KiB).
  void collect_stderr();

  /// Milliseconds until the deadline for poll(), or -1 when nothing is running.
  /// Once the deadline has passed, kills the push's process group (its exit then
  /// arrives through SIGCHLD as usual) and returns -1.
  [[nodiscard]] int enforce_deadline(Clock::time_point now);

  /// Takes the reaped push's wait status. Returns std::nullopt on success (exit 0),
  /// else a one-line description of the failure including its first stderr line.
  [[nodiscard]] std::optional<std::string> finish(int wait_status);

  /// SIGTERMs the push's process group, waits up to `grace` for it, then SIGKILLs it,
  /// and reaps it. Used when the session ends with a push still in flight.
  void terminate_and_reap(std::chrono::milliseconds grace);

 private:
  void close_stderr();

  std::string m_smolvm;
  std::string m_machine;
  std::chrono::milliseconds m_timeout;
  pid_t m_pid = -1;
  int m_stderr_fd = -1;
  std::string m_stderr_text;
  Clock::time_point m_deadline{};
  bool m_timed_out = false;
};

}  // namespace pty_resize
