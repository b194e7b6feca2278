// exec -t (§10.4): the guest command runs in a fresh host PTY whose slave becomes its
// controlling terminal, so window-size side channels really deliver SIGWINCH to it.
#include "fake_smolvm_exec.hpp"
#include "fake_smolvm_guest.hpp"
#include "fake_smolvm_log.hpp"
#include "fake_smolvm_process.hpp"
#include "fake_smolvm_signals.hpp"
#include "json_text.hpp"
#include "stdin_mode_guard.hpp"

#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>

namespace fake_smolvm {

namespace {

using Clock = std::chrono::steady_clock;

// Profiles model what each smolvm version does to the guest PTY size (§5.2, §5.3).
std::string tty_profile(const Context& context, const MachineRecord& record) {
  if (context.tty_profile) { return *context.tty_profile; }
  if (context.version.at_least(0, 8, 1)) { return "fixed"; }
  return record.image ? "v080-image" : "v080-bare";
}

winsize initial_size(const std::string& profile) {
  winsize size{};
  if (profile == "v080-image") {
    return size;  // crun's own PTY: 0x0 forever
  }
  if (isatty(STDIN_FILENO) != 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &size) == 0) {
    return size;  // forwarded as-is, even 0x0, like the real client
  }
  size.ws_col = 80;
  size.ws_row = 24;
  return size;
}

std::string session_json(const std::string& pts, const ExecPlan& plan, const std::string& profile, pid_t child) {
  return "{\"pid\":" + std::to_string(getpid()) + ",\"child_pid\":" + std::to_string(child) +
         ",\"pts\":" + fake_json::quote(pts) + ",\"argv\":" + fake_json::string_array(plan.command) +
         ",\"profile\":" + fake_json::quote(profile) + ",\"started\":" + std::to_string(std::time(nullptr)) + "}\n";
}

class PtySession {
 public:
  PtySession(const Context& context, const ExecPlan& plan) : plan_(plan), profile_(tty_profile(context, plan.record)) {}

  int run(const StateStore& store) {
    winsize size = initial_size(profile_);
    int slave = -1;
    if (openpty(&master_, &slave, nullptr, nullptr, &size) != 0) {
      return runtime_error("agent operation failed: openpty failed");
    }
    const char* slave_name = ttyname(slave);
    pts_ = slave_name != nullptr ? slave_name : "";
    // Registered before the child exists, so a side channel can never race the session.
    const RegistrationFile registration(store.sessions_dir(plan_.record.name) / (std::to_string(getpid()) + ".json"),
                                        session_json(pts_, plan_, profile_, 0));
    log_event("session-start", {field("machine", plan_.record.name), field("pts", pts_), field("cols", size.ws_col),
                                field("rows", size.ws_row), field("profile", profile_)});
    SignalPipe signals({SIGCHLD, SIGWINCH, SIGTERM, SIGINT, SIGHUP});
    child_.pid = fork();
    if (child_.pid < 0) { return runtime_error("agent operation failed: fork failed"); }
    if (child_.pid == 0) { start_child(slave); }
    close(slave);  // only the child may hold the slave, so the master reports EIO at its exit
    registration.rewrite(session_json(pts_, plan_, profile_, child_.pid));
    {
      // Raw mode on our stdin terminal for the loop; restored on every way out.
      const fake_tty::StdinModeGuard raw_mode(cfmakeraw);
      loop(signals);
    }
    close(master_);
    const int status = timed_out_ ? 124 : exit_status_of(child_.wait_status);
    log_event("session-end", {field("machine", plan_.record.name), field("pts", pts_), field("status", status)});
    return status;
  }

 private:
  [[noreturn]] void start_child(int slave) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, STDIN_FILENO);
    dup2(slave, STDOUT_FILENO);
    dup2(slave, STDERR_FILENO);
    if (slave > STDERR_FILENO) { close(slave); }
    close(master_);
    reset_signals_for_child();
    ExecPlan child_plan = plan_;
    if (!has_env(child_plan.env, "TERM")) {
      set_env(child_plan.env, "TERM", "xterm-256color");  // what the real agent injects
    }
    exec_guest_command(child_plan);
  }

  void loop(const SignalPipe& signals) {
    // A flag and a plain time point rather than optional<time_point>: GCC's -O2
    // -Wmaybe-uninitialized misfires on the latter.
    const bool has_deadline = plan_.timeout_ms.has_value();
    const auto deadline = Clock::now() + std::chrono::milliseconds(plan_.timeout_ms.value_or(0));
    std::optional<Clock::time_point> drain_until;
    while (master_open_) {
      pollfd fds[3];
      nfds_t count = 0;
      fds[count++] = {signals.read_fd(), POLLIN, 0};
      fds[count++] = {master_, POLLIN, 0};
      const bool reading_stdin = !stdin_done_ && !child_.reaped;
      if (reading_stdin) { fds[count++] = {STDIN_FILENO, POLLIN, 0}; }
      const int ready = poll(fds, count, 100);
      if (ready < 0 && errno != EINTR) { break; }
      if (has_deadline && !timed_out_ && Clock::now() >= deadline) {
        timed_out_ = true;
        child_.signal_group(SIGKILL);
      }
      if (ready > 0 && fds[0].revents != 0) { handle_signals(signals); }
      if (ready > 0 && fds[1].revents != 0) { pump_master(); }
      if (ready > 0 && reading_stdin && fds[2].revents != 0) { pump_stdin(); }
      child_.reap();
      if (child_.reaped) {
        // Drain what the child left in the PTY; stop at EIO, or soon if a stray
        // descendant keeps the slave open.
        if (!drain_until) {
          drain_until = Clock::now() + std::chrono::milliseconds(300);
        } else if (ready == 0 || Clock::now() >= *drain_until) {
          break;
        }
      }
    }
    child_.kill_and_reap();
  }

  void handle_signals(const SignalPipe& signals) {
    for (const int signal_number : signals.drain()) {
      if (signal_number == SIGCHLD) {
        child_.reap();
      } else if (signal_number == SIGWINCH) {
        forward_resize();
      } else {
        child_.signal_group(SIGHUP);  // our client went away: hang up the guest session
      }
    }
  }

  void forward_resize() {
    if (profile_ == "v080-image") {
      log_event("resize-dropped", {field("machine", plan_.record.name), field("pts", pts_)});
      return;
    }
    winsize size{};
    if (isatty(STDIN_FILENO) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &size) != 0) { return; }
    ioctl(master_, TIOCSWINSZ, &size);
    log_event("resize-forwarded", {field("machine", plan_.record.name), field("pts", pts_), field("cols", size.ws_col),
                                   field("rows", size.ws_row)});
  }

  void pump_master() {
    char chunk[65536];
    const ssize_t count = read(master_, chunk, sizeof chunk);
    if (count < 0 && errno == EINTR) { return; }
    if (count <= 0) {
      master_open_ = false;  // EIO: every slave fd is closed
      return;
    }
    write_all(STDOUT_FILENO, std::string_view(chunk, static_cast<std::size_t>(count)));
  }

  void pump_stdin() {
    char chunk[65536];
    const ssize_t count = read(STDIN_FILENO, chunk, sizeof chunk);
    if (count < 0 && errno == EINTR) { return; }
    if (count > 0) {
      write_all(master_, std::string_view(chunk, static_cast<std::size_t>(count)));
      return;
    }
    // EOF becomes ^D in the guest: once in 0.8.0, twice from 0.8.1.
    stdin_done_ = true;
    const int veof_count = profile_ == "fixed" ? 2 : 1;
    for (int i = 0; i < veof_count; ++i) { write_all(master_, "\x04"); }
    log_event("eof-veof", {field("machine", plan_.record.name), field("pts", pts_), field("count", veof_count)});
  }

  const ExecPlan& plan_;
  const std::string profile_;
  std::string pts_;
  int master_ = -1;
  GuestChild child_;
  bool timed_out_ = false;
  bool stdin_done_ = false;
  bool master_open_ = true;
};

}  // namespace

int run_in_pty(const Context& context, const StateStore& store, const ExecPlan& plan) {
  return PtySession(context, plan).run(store);
}

}  // namespace fake_smolvm
