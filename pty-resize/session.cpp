#include "session.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit_status.hpp"
#include "resize_coalescer.hpp"
#include "side_channel_process.hpp"
#include "signal_pipe.hpp"
#include "spawn.hpp"
#include "terminal_size.hpp"

namespace pty_resize {

namespace {

constexpr std::array k_handled_signals{SIGCHLD, SIGWINCH, SIGINT, SIGTERM, SIGHUP};
constexpr std::chrono::milliseconds k_shutdown_grace{500};

// ^C from the terminal already reached the child, which shares our foreground process
// group; forwarding it too would deliver two SIGINTs (and "press ^C again to quit" TUIs
// would quit). SIGHUP is always forwarded: on hangup the kernel signals only the session
// leader, which pty-resize is when a tmux pane runs it directly, not the child.
bool should_forward(const CaughtSignal& caught) {
  if (caught.signo == SIGINT) { return !caught.from_terminal; }
  return caught.signo == SIGTERM || caught.signo == SIGHUP;
}

// The user's terminal may be in raw mode (smolvm sets it), where "\n" does not return the
// carriage; "\r\n" reads right either way.
void print_notice(const std::string& message) {
  std::cerr << "pty-resize: " << message << (::isatty(STDERR_FILENO) ? "\r\n" : "\n") << std::flush;
}

class Session {
 public:
  explicit Session(const SessionConfig& config)
      : m_side_channel(config.smolvm, config.machine, config.side_channel_timeout) {}

  int run(const SessionConfig& config) {
    // Handlers go in before the child exists so neither its SIGCHLD nor an early
    // SIGTERM can be lost.
    m_signal_fd = install_signal_pipe(k_handled_signals);

    const SpawnOutcome child = spawn_on_terminal(config.child_argv);
    if (child.pid < 0) {
      print_notice("error: cannot run '" + config.child_argv.front() + "': " + std::strerror(child.error));
      return child.error == ENOENT ? 127 : 126;
    }
    m_child_pid = child.pid;
    m_started = std::chrono::steady_clock::now();

    observe_host_size();
    while (!m_child_status) {
      wait_for_events();
      reap_children();
    }
    // The session is over; a resize for it is pointless, but it must not be orphaned.
    m_side_channel.terminate_and_reap(k_shutdown_grace);
    return exit_code_from_wait_status(*m_child_status);
  }

 private:
  void wait_for_events() {
    const int timeout_ms =
        earliest(m_side_channel.enforce_deadline(SideChannelProcess::Clock::now()), run_due_settle_push());
    std::array<pollfd, 2> fds{pollfd{m_signal_fd, POLLIN, 0}, pollfd{m_side_channel.stderr_fd(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      return;  // EINTR: a signal's record is in the pipe; handle it next round.
    }
    if (fds[1].revents != 0) { m_side_channel.collect_stderr(); }
    if (fds[0].revents != 0) { handle_signals(drain_signal_pipe(m_signal_fd)); }
  }

  // -1 means "no timeout", as for poll().
  static int earliest(int a, int b) {
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
  }

  // Runs a settle push when one is due; returns the milliseconds until the next one
  // (-1 when none is left).
  int run_due_settle_push() {
    constexpr std::size_t count = std::size(k_settle_push_offsets_ms);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - m_started).count();
    bool due = false;
    while (m_next_settle < count && elapsed >= k_settle_push_offsets_ms[m_next_settle]) {
      due = true;
      ++m_next_settle;
    }
    if (due && !m_child_status) {
      if (const std::optional<WindowSize> size = read_host_window_size()) {
        start_push(m_coalescer.on_repush_requested(*size));
      }
    }
    if (m_next_settle >= count) return -1;
    return static_cast<int>(k_settle_push_offsets_ms[m_next_settle] - elapsed);
  }

  void handle_signals(const std::vector<CaughtSignal>& signals) {
    bool resized = false;
    for (const CaughtSignal& caught : signals) {
      if (caught.signo == SIGWINCH) {
        resized = true;
      } else if (should_forward(caught) && !m_child_status) {
        ::kill(m_child_pid, caught.signo);
      }
    }
    // One size read per wake-up: a storm of SIGWINCH collapses to its latest size.
    if (resized) { observe_host_size(); }
  }

  // Reaps on every wake-up rather than only on SIGCHLD, so a dropped pipe record
  // cannot leave a zombie or hang the session.
  void reap_children() {
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == m_child_pid) {
        m_child_status = status;
      } else if (pid == m_side_channel.pid()) {
        const std::optional<std::string> failure = m_side_channel.finish(status);
        if (failure) { report_failure(*failure); }
        start_push(m_coalescer.on_push_finished(!failure));
      }
    }
  }

  void observe_host_size() {
    if (m_child_status) { return; }
    // No usable size anywhere (no terminal, or only 0x0 ones): push nothing.
    if (const std::optional<WindowSize> size = read_host_window_size()) {
      start_push(m_coalescer.on_size_observed(*size));
    }
  }

  void start_push(std::optional<WindowSize> size) {
    while (size) {
      const std::optional<std::string> failure = m_side_channel.start(*size);
      if (!failure) { return; }
      report_failure(*failure);
      size = m_coalescer.on_push_finished(false);
    }
  }

  void report_failure(const std::string& failure) {
    if (m_failure_reported) { return; }
    m_failure_reported = true;
    print_notice("resize side-channel failed (" + failure +
                 "); the guest terminal size may be wrong. Further failures are not reported.");
  }

  SideChannelProcess m_side_channel;
  ResizeCoalescer m_coalescer;
  int m_signal_fd = -1;
  pid_t m_child_pid = -1;
  std::optional<int> m_child_status;
  bool m_failure_reported = false;
  std::chrono::steady_clock::time_point m_started;
  std::size_t m_next_settle = 0;
};

}  // namespace

int run_session(const SessionConfig& config) {
  // pty-resize itself must survive a closed stderr; its children get SIGPIPE back at
  // its default unless whoever started pty-resize had ignored it on purpose.
  const bool sigpipe_was_ignored = std::signal(SIGPIPE, SIG_IGN) == SIG_IGN;
  reset_sigpipe_in_children(!sigpipe_was_ignored);

  Session session(config);
  return session.run(config);
}

}  // namespace pty_resize
