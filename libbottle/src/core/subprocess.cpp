// The only file that uses Boost.Process. Everything else hands a Command to a Runner.
#include "bottle/core/subprocess.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <variant>

// Boost 1.81's Process v2 config names boost::optional without including it when
// BOOST_PROCESS_USE_STD_FS is set.
#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>

// Boost.Process v2 is compiled into this one translation unit (its header-only mode
// leaves parts, such as process_environment's hooks, undefined in 1.81).
#define BOOST_PROCESS_V2_SEPARATE_COMPILATION
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/src.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>

#include "bottle/core/unique_fd.hpp"

extern char** environ;

namespace bottle {

namespace bp = boost::process::v2;
namespace asio = boost::asio;

int ProcessResult::shell_status() const {
  switch (outcome) {
    case Outcome::exited: return code;
    case Outcome::signaled: return 128 + code;
    case Outcome::failed_to_start: return 125;
    case Outcome::timed_out: return 124;
  }
  return 125;
}

ProcessResult exited(int code, std::string out, std::string err) {
  ProcessResult r;
  r.outcome = ProcessResult::Outcome::exited;
  r.code = code;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

ProcessResult timed_out(std::string out, std::string err) {
  ProcessResult r;
  r.outcome = ProcessResult::Outcome::timed_out;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

namespace {

ProcessResult failed_to_start(std::string why) {
  ProcessResult r;
  r.outcome = ProcessResult::Outcome::failed_to_start;
  r.start_error = std::move(why);
  return r;
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overlay, EnvPolicy policy) {
  std::vector<std::string> env;
  if (policy == EnvPolicy::clean && overlay.count("PATH") == 0) env.push_back(std::string("PATH=") + clean_path);
  for (char** e = policy == EnvPolicy::inherit ? environ : nullptr; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos && overlay.count(entry.substr(0, eq)) != 0) continue;
    env.push_back(std::move(entry));
  }
  for (const auto& [key, value] : overlay) env.push_back(key + "=" + value);
  return env;
}

// The parent ignores SIGINT/SIGQUIT while an interactive child owns the terminal
// (as a shell does); the child must get the default dispositions back, because
// ignored signals survive exec.
struct RestoreChildSignals {
  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&, const char* const*) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGQUIT, SIG_DFL);
    std::signal(SIGPIPE, SIG_DFL);
    mark_inherited_fds_cloexec();
    return {};
  }

  // Any descriptor above stderr that reached the child (e.g. the other ends of
  // this runner's output pipes, open in the parent without O_CLOEXEC) would be
  // inherited by whatever the program leaves running -- a tmux server, a VMM --
  // and the parent would wait forever for end-of-file. Marking them close-on-exec
  // (rather than closing them) keeps the launcher's own exec-error pipe working.
  static void mark_inherited_fds_cloexec() {
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    const long max_fd = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
    for (int fd = 3; fd < max_fd; ++fd) {
      const int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
};

class IgnoreTerminalSignals {
 public:
  IgnoreTerminalSignals() : int_(std::signal(SIGINT, SIG_IGN)), quit_(std::signal(SIGQUIT, SIG_IGN)) {}
  ~IgnoreTerminalSignals() {
    std::signal(SIGINT, int_);
    std::signal(SIGQUIT, quit_);
  }
  IgnoreTerminalSignals(const IgnoreTerminalSignals&) = delete;
  IgnoreTerminalSignals& operator=(const IgnoreTerminalSignals&) = delete;

 private:
  void (*int_)(int);
  void (*quit_)(int);
};

ProcessResult result_from_status(int native_status) {
  ProcessResult r;
  if (WIFSIGNALED(native_status)) {
    r.outcome = ProcessResult::Outcome::signaled;
    r.code = WTERMSIG(native_status);
  } else {
    r.outcome = ProcessResult::Outcome::exited;
    r.code = WEXITSTATUS(native_status);
  }
  return r;
}

bp::filesystem::path resolve_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  return bp::environment::find_executable(name);
}

// A non-interactive child leads a process group of its own, so that a timeout,
// kill_group() or cancel() reaches whatever it spawned (a shell script's
// children, a VMM) and not just the direct child. Out of the terminal's
// foreground group it no longer gets the user's ^C, so it dies with the thread
// that started it instead: a bottle-cli killed by ^C leaves no hung engine call.
struct NewProcessGroup {
  pid_t parent = ::getpid();
  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&, const char* const*) {
    if (::setpgid(0, 0) != 0 || ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return bp::error_code(errno, bp::system_category());
    if (::getppid() != parent) return bp::error_code(ESRCH, bp::system_category());  // died already
    return {};
  }
};

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw boost::system::system_error(errno, boost::system::system_category());
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void ignore_sigpipe_once() {
  // A child that exits before reading all of stdin must be an EPIPE we see, not a
  // SIGPIPE that kills the caller.
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

class FinishedProcess final : public RunningProcess {
 public:
  explicit FinishedProcess(ProcessResult result) : result_(std::move(result)) {}
  int pid() const override { return 0; }
  std::optional<ProcessResult> wait_for(std::chrono::milliseconds) override { return result_; }
  ProcessResult wait() override { return result_; }
  void kill_group() override {}

 private:
  ProcessResult result_;
};

using Clock = std::chrono::steady_clock;

// How long a group gets between SIGTERM and SIGKILL, and how long output is still
// read after SIGKILL: a descendant that left the group may hold the pipes open
// forever, and a killed run must still return.
constexpr auto term_grace = std::chrono::milliseconds(500);
constexpr auto drain_grace = std::chrono::milliseconds(1000);

}  // namespace

struct SystemRunner::Live {
  std::mutex mutex;
  std::set<pid_t> groups;  ///< leaders not yet reaped: their ids cannot be reused
  bool cancelled = false;
};

namespace {

// A started non-interactive child: its pipes are pumped with poll() by whichever
// thread waits, and its exit is seen through a pidfd (or, without one, by polling
// waitid every 20 ms).
class SystemProcess final : public RunningProcess {
 public:
  SystemProcess(std::shared_ptr<SystemRunner::Live> live, pid_t pid, int out_fd, int err_fd, int in_fd,
                std::optional<std::string> stdin_data)
      : live_(std::move(live)),
        pid_(pid),
        out_(out_fd),
        err_(err_fd),
        in_(in_fd),
        stdin_data_(std::move(stdin_data)),
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {
    for (int fd : {out_.get(), err_.get(), in_.get()})
      if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (in_.get() >= 0 && (!stdin_data_ || stdin_data_->empty())) in_.reset();
  }
  ~SystemProcess() override {
    if (result_) return;
    kill_group();
    wait();
  }
  SystemProcess(const SystemProcess&) = delete;
  SystemProcess& operator=(const SystemProcess&) = delete;

  int pid() const override { return pid_; }

  std::optional<ProcessResult> wait_for(std::chrono::milliseconds limit) override {
    if (pump(Clock::now() + limit)) return result_;
    return std::nullopt;
  }

  ProcessResult wait() override {
    pump(std::nullopt);
    return *result_;
  }

  void kill_group() override {
    if (result_) return;
    if (!exited_) ::kill(-pid_, SIGTERM);
    pump(Clock::now() + term_grace, /*stop_at_exit=*/true);
    // Even when the leader is gone its descendants may not be; the group id stays
    // reserved until the leader is reaped, which pump() has not done yet.
    ::kill(-pid_, SIGKILL);
    pump(std::nullopt, /*stop_at_exit=*/true);
    if (!pump(Clock::now() + drain_grace)) {
      out_.reset();
      err_.reset();
      pump(std::nullopt);
    }
  }

 private:
  // Pumps stdin/stdout/stderr until the child has exited and its output has
  // ended (then it is reaped and result_ set; returns true), or until `deadline`
  // (returns false). With stop_at_exit, returns once the child has exited,
  // without reaping it.
  bool pump(std::optional<Clock::time_point> deadline, bool stop_at_exit = false) {
    while (!result_) {
      if (!exited_) exited_ = has_exited();
      if (exited_ && stop_at_exit) return true;
      if (exited_ && out_.get() < 0 && err_.get() < 0) {
        reap();
        return true;
      }
      int timeout_ms = -1;
      if (deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
        if (left.count() <= 0) return false;
        timeout_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 60'000));
      }
      if (!exited_ && pidfd_.get() < 0 && (timeout_ms < 0 || timeout_ms > 20)) timeout_ms = 20;
      pollfd fds[4];
      nfds_t n = 0;
      const auto add = [&](int fd, short events) {
        if (fd >= 0) fds[n++] = pollfd{fd, events, 0};
      };
      add(out_.get(), POLLIN);
      add(err_.get(), POLLIN);
      add(in_.get(), POLLOUT);
      if (!exited_) add(pidfd_.get(), POLLIN);
      if (::poll(fds, n, timeout_ms) < 0) {
        // EINTR, or a transient ENOMEM: try again (a deadline still ends the wait).
        if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == out_.get()) drain(out_, out_text_);
        else if (fds[i].fd == err_.get()) drain(err_, err_text_);
        else if (fds[i].fd == in_.get()) feed();
      }
    }
    return true;
  }

  bool has_exited() {
    siginfo_t info{};
    // WNOWAIT: seen, not reaped, so the group id cannot be reused before reap().
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
    return info.si_pid == pid_;
  }

  void reap() {
    {
      std::lock_guard lock(live_->mutex);
      live_->groups.erase(pid_);
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    ProcessResult r = result_from_status(status);
    r.out = std::move(out_text_);
    r.err = std::move(err_text_);
    result_ = std::move(r);
    pidfd_.reset();
  }

  static void drain(UniqueFd& fd, std::string& text) {
    char buffer[65536];
    for (;;) {
      const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
      if (got > 0) {
        text.append(buffer, static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) return;
      fd.reset();  // end of output, or an error that ends it all the same
      return;
    }
  }

  void feed() {
    while (written_ < stdin_data_->size()) {
      const ssize_t put = ::write(in_.get(), stdin_data_->data() + written_, stdin_data_->size() - written_);
      if (put > 0) {
        written_ += static_cast<std::size_t>(put);
        continue;
      }
      if (put < 0 && errno == EINTR) continue;
      if (put < 0 && errno == EAGAIN) return;
      break;  // EPIPE: the child stopped reading, which is its business
    }
    in_.reset();
  }

  std::shared_ptr<SystemRunner::Live> live_;
  pid_t pid_;
  UniqueFd out_, err_, in_;
  std::optional<std::string> stdin_data_;
  std::size_t written_ = 0;
  UniqueFd pidfd_;
  bool exited_ = false;
  std::string out_text_, err_text_;
  std::optional<ProcessResult> result_;
};

// What both launch paths hand Boost.Process. process_environment keeps pointers
// into the strings it is given, so they live here, declared before it. And it is
// not const: Boost.Process only calls an initializer's non-const hooks, silently
// skipping a const one.
struct Launch {
  explicit Launch(const Command& command)
      : args(command.argv.begin() + 1, command.argv.end()),
        env_entries(merged_environment(command.env, command.env_policy)),
        env(env_entries),
        start_dir(command.cwd.empty() ? std::string(".") : command.cwd) {}
  const std::vector<std::string> args;
  const std::vector<std::string> env_entries;
  bp::process_environment env;
  bp::process_start_dir start_dir;
  asio::io_context ctx;
};

ProcessResult run_interactive(const Command& command, const bp::filesystem::path& exe) {
  Launch launch(command);
  try {
    IgnoreTerminalSignals ignore;
    bp::process proc(launch.ctx, exe, launch.args, bp::process_stdio{}, launch.env, launch.start_dir,
                     RestoreChildSignals{});
    proc.wait();
    return result_from_status(proc.native_exit_code());
  } catch (const boost::system::system_error& e) { return failed_to_start(exe.string() + ": " + e.code().message()); }
}

// Why `command` cannot start, or the executable to run.
std::variant<ProcessResult, bp::filesystem::path> resolve(const Command& command) {
  if (command.argv.empty()) return failed_to_start("empty argv");
  if (command.interactive && command.timeout) return failed_to_start("an interactive command cannot have a timeout");
  const auto exe = resolve_executable(command.argv.front());
  if (exe.empty()) return failed_to_start(command.argv.front() + ": not found on PATH");
  if (::access(exe.c_str(), X_OK) != 0) return failed_to_start(exe.string() + ": not executable");
  return exe;
}

}  // namespace

std::unique_ptr<RunningProcess> Runner::start(const Command& command) { return finished_process(run(command)); }

std::unique_ptr<RunningProcess> finished_process(ProcessResult result) {
  return std::make_unique<FinishedProcess>(std::move(result));
}

SystemRunner::SystemRunner() : live_(std::make_shared<Live>()) {}
SystemRunner::~SystemRunner() = default;

void SystemRunner::cancel() {
  std::lock_guard lock(live_->mutex);
  live_->cancelled = true;
  for (pid_t group : live_->groups) ::kill(-group, SIGKILL);
}

std::unique_ptr<RunningProcess> SystemRunner::start(const Command& command) {
  ignore_sigpipe_once();
  {
    std::lock_guard lock(live_->mutex);
    if (live_->cancelled) return finished_process(failed_to_start("cancelled: bottle is shutting down"));
  }
  auto resolved = resolve(command);
  if (auto* why = std::get_if<ProcessResult>(&resolved)) return finished_process(std::move(*why));
  const auto& exe = std::get<bp::filesystem::path>(resolved);
  if (command.interactive) return finished_process(run_interactive(command, exe));

  Launch launch(command);
  try {
    Pipe out = make_pipe(), err = make_pipe();
    Pipe in;
    if (command.stdin_data) {
      in = make_pipe();
    } else {
      in.read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (in.read.get() < 0) throw boost::system::system_error(errno, boost::system::system_category());
    }
    bp::process proc(launch.ctx, exe, launch.args, bp::process_stdio{in.read.get(), out.write.get(), err.write.get()},
                     launch.env, launch.start_dir, RestoreChildSignals{}, NewProcessGroup{});
    const pid_t pid = proc.id();
    // From here on the child is ours to reap (SystemProcess), not Boost's to kill.
    proc.detach();
    {
      std::lock_guard lock(live_->mutex);
      live_->groups.insert(pid);
      // cancel() ran while this child was being launched.
      if (live_->cancelled) ::kill(-pid, SIGKILL);
    }
    return std::make_unique<SystemProcess>(live_, pid, out.read.release(), err.read.release(), in.write.release(),
                                           command.stdin_data);
  } catch (const boost::system::system_error& e) {
    return finished_process(failed_to_start(exe.string() + ": " + e.code().message()));
  }
}

ProcessResult SystemRunner::run(const Command& command) {
  auto child = start(command);
  if (!command.timeout) return child->wait();
  if (auto done = child->wait_for(*command.timeout)) return *done;
  child->kill_group();
  ProcessResult killed = child->wait();
  return timed_out(std::move(killed.out), std::move(killed.err));
}

bool RecordingRunner::matches(const std::vector<std::string>& pattern, const std::vector<std::string>& argv) {
  if (pattern.size() > argv.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i)
    if (pattern[i] != "*" && pattern[i] != argv[i]) return false;
  return true;
}

ProcessResult RecordingRunner::run(const Command& command) {
  commands_.push_back(command);
  for (auto responder = responders_.rbegin(); responder != responders_.rend(); ++responder)
    if (auto answer = (*responder)(command)) return std::move(*answer);
  for (const auto& [pattern, result] : patterns_)
    if (matches(pattern, command.argv)) return result;
  if (next_ < script_.size()) return script_[next_++];
  return fallback;
}

std::vector<std::vector<std::string>> RecordingRunner::argvs() const {
  std::vector<std::vector<std::string>> all;
  all.reserve(commands_.size());
  for (const auto& c : commands_) all.push_back(c.argv);
  return all;
}

}  // namespace bottle
