// The only file that uses Boost.Process. Everything else hands a Command to a Runner.
#include "bottle/subprocess.hpp"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <mutex>
#include <sys/wait.h>
#include <unistd.h>

// Boost 1.81's Process v2 config names boost::optional without including it when
// BOOST_PROCESS_USE_STD_FS is set.
#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>

// Boost.Process v2 is compiled into this one translation unit (its header-only mode
// leaves parts, such as process_environment's hooks, undefined in 1.81).
#define BOOST_PROCESS_V2_SEPARATE_COMPILATION
#include <boost/process/v2/src.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>

extern char** environ;

namespace bottle {

namespace bp = boost::process::v2;
namespace asio = boost::asio;

int ProcessResult::shell_status() const {
  switch (outcome) {
    case Outcome::exited: return code;
    case Outcome::signaled: return 128 + code;
    case Outcome::failed_to_start: return 125;
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

namespace {

ProcessResult failed_to_start(std::string why) {
  ProcessResult r;
  r.outcome = ProcessResult::Outcome::failed_to_start;
  r.start_error = std::move(why);
  return r;
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overlay) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
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
  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) {
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
  IgnoreTerminalSignals()
      : int_(std::signal(SIGINT, SIG_IGN)), quit_(std::signal(SIGQUIT, SIG_IGN)) {}
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

}  // namespace

ProcessResult SystemRunner::run(const Command& command) {
  if (command.argv.empty()) return failed_to_start("empty argv");
  // A child that exits before reading all of stdin must be an EPIPE we see, not a
  // SIGPIPE that kills the caller.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  const auto exe = resolve_executable(command.argv.front());
  if (exe.empty()) return failed_to_start(command.argv.front() + ": not found on PATH");
  if (::access(exe.c_str(), X_OK) != 0) return failed_to_start(exe.string() + ": not executable");

  const std::vector<std::string> args(command.argv.begin() + 1, command.argv.end());
  // process_environment keeps pointers into the strings it is given, so they must
  // outlive the launch. And it is not const: Boost.Process only calls an
  // initializer's non-const hooks, silently skipping a const one.
  const std::vector<std::string> env_entries = merged_environment(command.env);
  bp::process_environment env(env_entries);
  bp::process_start_dir start_dir(command.cwd.empty() ? std::string(".") : command.cwd);
  asio::io_context ctx;

  try {
    if (command.interactive) {
      IgnoreTerminalSignals ignore;
      bp::process proc(ctx, exe, args, bp::process_stdio{}, env, start_dir,
                       RestoreChildSignals{});
      proc.wait();
      return result_from_status(proc.native_exit_code());
    }

    asio::readable_pipe out_pipe(ctx), err_pipe(ctx);
    asio::writable_pipe in_pipe(ctx);
    std::string out, err;
    std::optional<bp::process> proc;
    if (command.stdin_data) {
      proc.emplace(ctx, exe, args, bp::process_stdio{in_pipe, out_pipe, err_pipe}, env, start_dir,
                   RestoreChildSignals{});
      asio::async_write(in_pipe, asio::buffer(*command.stdin_data),
                        [&](boost::system::error_code, std::size_t) { in_pipe.close(); });
    } else {
      proc.emplace(ctx, exe, args, bp::process_stdio{nullptr, out_pipe, err_pipe}, env,
                   start_dir, RestoreChildSignals{});
    }
    asio::async_read(out_pipe, asio::dynamic_buffer(out),
                     [](boost::system::error_code, std::size_t) {});
    asio::async_read(err_pipe, asio::dynamic_buffer(err),
                     [](boost::system::error_code, std::size_t) {});
    ctx.run();
    proc->wait();
    ProcessResult r = result_from_status(proc->native_exit_code());
    r.out = std::move(out);
    r.err = std::move(err);
    return r;
  } catch (const boost::system::system_error& e) {
    return failed_to_start(exe.string() + ": " + e.code().message());
  }
}

ProcessResult RecordingRunner::run(const Command& command) {
  commands_.push_back(command);
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
