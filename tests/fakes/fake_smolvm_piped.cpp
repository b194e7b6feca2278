// exec without a TTY (§10.3): buffered by default (all stdout, then all stderr), live with
// --stream or -i, stdin forwarded only with -i, --timeout kills the group and exits 124.
#include "fake_smolvm_exec.hpp"
#include "fake_smolvm_log.hpp"
#include "fake_smolvm_process.hpp"
#include "fake_smolvm_signals.hpp"
#include "json_text.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <iostream>

namespace fake_smolvm {

namespace {

using Clock = std::chrono::steady_clock;

std::string exec_registration(const ExecPlan& plan, pid_t child) {
  return "{\"pid\":" + std::to_string(getpid()) + ",\"child_pid\":" + std::to_string(child) +
         ",\"argv\":" + fake_json::string_array(plan.command) + "}\n";
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
};

Pipe make_pipe() {
  int fds[2] = {-1, -1};
  if (pipe2(fds, O_CLOEXEC) != 0) { return {}; }
  return {fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

// State of one piped exec while its loop runs.
class PipedSession {
 public:
  explicit PipedSession(const ExecPlan& plan) : plan_(plan), live_(plan.stream || plan.interactive) {}

  int run(const StateStore& store) {
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    Pipe in = plan_.interactive ? make_pipe() : Pipe{};
    SignalPipe signals({SIGCHLD, SIGTERM, SIGINT, SIGHUP});
    child_.pid = fork();
    if (child_.pid < 0) { return runtime_error("agent operation failed: fork: " + std::to_string(errno)); }
    if (child_.pid == 0) {
      setpgid(0, 0);  // its own group, so a timeout can kill everything it started
      const int stdin_fd = plan_.interactive ? in.read_end : open("/dev/null", O_RDONLY);
      dup2(stdin_fd, STDIN_FILENO);
      dup2(out.write_end, STDOUT_FILENO);
      dup2(err.write_end, STDERR_FILENO);
      reset_signals_for_child();
      exec_guest_command(plan_);
    }
    setpgid(child_.pid, child_.pid);
    close_fd(out.write_end);
    close_fd(err.write_end);
    close_fd(in.read_end);
    out_fd_ = out.read_end;
    err_fd_ = err.read_end;
    to_child_fd_ = in.write_end;
    const RegistrationFile registration(store.execs_dir(plan_.record.name) / (std::to_string(getpid()) + ".json"),
                                        exec_registration(plan_, child_.pid));
    loop(signals);
    if (!live_) {
      write_all(STDOUT_FILENO, stdout_buffer_);
      write_all(STDERR_FILENO, stderr_buffer_);
    }
    return timed_out_ ? 124 : exit_status_of(child_.wait_status);
  }

 private:
  void loop(const SignalPipe& signals) {
    // A flag and a plain time point rather than optional<time_point>: GCC's -O2
    // -Wmaybe-uninitialized misfires on the latter.
    const bool has_deadline = plan_.timeout_ms.has_value();
    const auto deadline = Clock::now() + std::chrono::milliseconds(plan_.timeout_ms.value_or(0));
    std::optional<Clock::time_point> give_up_at;
    while (!child_.reaped || out_fd_ >= 0 || err_fd_ >= 0) {
      if (give_up_at && Clock::now() >= *give_up_at) {
        break;  // a killed command's stray descendants may hold the pipes open
      }
      pollfd fds[4];
      nfds_t count = 0;
      fds[count++] = {signals.read_fd(), POLLIN, 0};
      const nfds_t out_index = out_fd_ >= 0 ? count : 99;
      if (out_fd_ >= 0) fds[count++] = {out_fd_, POLLIN, 0};
      const nfds_t err_index = err_fd_ >= 0 ? count : 99;
      if (err_fd_ >= 0) fds[count++] = {err_fd_, POLLIN, 0};
      const bool reading_stdin = to_child_fd_ >= 0;
      const nfds_t in_index = reading_stdin ? count : 99;
      if (reading_stdin) fds[count++] = {STDIN_FILENO, POLLIN, 0};

      int wait_ms = 200;
      if (has_deadline && !timed_out_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 200));
      }
      const int ready = poll(fds, count, wait_ms);
      if (ready < 0 && errno != EINTR) { break; }
      if (has_deadline && !timed_out_ && Clock::now() >= deadline) {
        timed_out_ = true;
        child_.signal_group(SIGKILL);
        give_up_at = Clock::now() + std::chrono::milliseconds(300);
      }
      if (ready <= 0) {
        child_.reap();
        continue;
      }
      if (fds[0].revents != 0) { handle_signals(signals); }
      if (out_index != 99 && fds[out_index].revents != 0) { pump_output(out_fd_, STDOUT_FILENO, stdout_buffer_); }
      if (err_index != 99 && fds[err_index].revents != 0) { pump_output(err_fd_, STDERR_FILENO, stderr_buffer_); }
      if (in_index != 99 && fds[in_index].revents != 0) { pump_stdin(); }
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
    close_fd(to_child_fd_);
    child_.kill_and_reap();
  }

  void handle_signals(const SignalPipe& signals) {
    for (const int signal_number : signals.drain()) {
      if (signal_number == SIGCHLD) {
        child_.reap();
      } else {
        // The client going away ends the guest command too: no orphans on the host.
        child_.signal_group(SIGTERM);
      }
    }
  }

  void pump_output(int& fd, int target, std::string& buffer) {
    char chunk[65536];
    const ssize_t count = read(fd, chunk, sizeof chunk);
    if (count <= 0) {
      if (count < 0 && errno == EINTR) { return; }
      close_fd(fd);
      return;
    }
    if (live_) {
      write_all(target, std::string_view(chunk, static_cast<std::size_t>(count)));
    } else {
      buffer.append(chunk, static_cast<std::size_t>(count));
    }
  }

  void pump_stdin() {
    char chunk[65536];
    const ssize_t count = read(STDIN_FILENO, chunk, sizeof chunk);
    if (count < 0 && errno == EINTR) { return; }
    if (count <= 0 || !write_all(to_child_fd_, std::string_view(chunk, static_cast<std::size_t>(count)))) {
      close_fd(to_child_fd_);  // EOF (or a child that stopped reading) closes its stdin
    }
  }

  const ExecPlan& plan_;
  const bool live_;
  GuestChild child_;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int to_child_fd_ = -1;
  bool timed_out_ = false;
  std::string stdout_buffer_;
  std::string stderr_buffer_;
};

}  // namespace

int run_piped(const StateStore& store, const ExecPlan& plan) { return PipedSession(plan).run(store); }

int run_detached(const StateStore& store, const ExecPlan& plan) {
  const pid_t child = fork();
  if (child < 0) { return runtime_error("agent operation failed: fork failed"); }
  if (child == 0) {
    detach_from_client();
    close_inherited_fds(plan.guest_ns_fd, plan.guest_net_fd);  // exec_guest_command still has to join them
    reset_signals_for_child();
    exec_guest_command(plan);
  }
  // Registered under its own pid so `stop` can find it after this fake has exited.
  write_file_atomically(store.execs_dir(plan.record.name) / (std::to_string(child) + ".json"),
                        "{\"pid\":" + std::to_string(child) + ",\"child_pid\":" + std::to_string(child) +
                            ",\"argv\":" + fake_json::string_array(plan.command) + "}\n");
  log_event("exec-detached", {field("machine", plan.record.name), field("child_pid", child)});
  std::cout << child << "\n";
  return 0;
}

}  // namespace fake_smolvm
