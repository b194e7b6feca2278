// bench_cmp: run commands interleaved and compare each with the first (the baseline).
//
//   bench_cmp [-n RUNS] [-w WARMUP] [--before SHELL_COMMAND] LABEL -- ARGV... [::: LABEL -- ARGV...]...
//   bench_cmp --rss [-n RUNS] LABEL -- ARGV... [::: LABEL -- ARGV...]...
//
// Timing mode: every round runs each command once, starting with a different one each
// round (so no command always runs first), after WARMUP untimed rounds. Wall time is
// measured around posix_spawn + wait4, so no shell is in the figure. Per round, each
// command's time is divided by the baseline's time in that same round; the spread of
// these ratios is what a noisy machine does to the comparison. --before runs a shell
// command, untimed, before every timed run (e.g. stopping what the command starts,
// so only the start is in the figure). One line per command:
//   LABEL  n  median_ms  p10_ms  p90_ms  min_ms  max_ms  ratio_median  ratio_p10  ratio_p90
// (tab-separated; the baseline's ratios are 1).
//
// RSS mode: each command runs RUNS times (default 3) under ptrace, stopped at its exit
// to read its own peak resident set (VmHWM), which excludes the programs it runs (a
// child's memory is not the parent's). wait4's ru_maxrss, which is the largest of the
// process and its waited-for descendants, is printed too. One line per command:
//   LABEL  own_peak_kib(max over runs)  tree_peak_kib(max over runs)
//
// Children get stdin and stdout on /dev/null and stderr in a temporary file; a command
// that exits non-zero stops the benchmark, and its stderr is shown.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Cmd {
  std::string label;
  std::vector<std::string> argv;
  std::vector<double> ms;
  std::vector<double> ratios;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "bench_cmp: %s\n", message.c_str());
  std::exit(2);
}

int stderr_file() {
  char path[] = "/tmp/bench_cmp.err.XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) die("mkstemp failed");
  ::unlink(path);
  return fd;
}

void show_failure(const Cmd& c, int status, int err_fd) {
  std::string text;
  char buf[4096];
  ::lseek(err_fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(err_fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  std::fprintf(stderr, "bench_cmp: '%s' failed (%s %d):\n%s\n", c.label.c_str(), WIFEXITED(status) ? "exit" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), text.c_str());
  std::exit(1);
}

void reset(int fd) {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) die("cannot reset the stderr file");
}

std::vector<char*> c_argv(const Cmd& c) {
  std::vector<char*> args;
  for (const auto& a : c.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

// One timed run; returns milliseconds.
double timed_run(const Cmd& c, int err_fd) {
  reset(err_fd);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  auto args = c_argv(c);
  pid_t pid = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) die("cannot run " + c.argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  const auto t1 = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) show_failure(c, status, err_fd);
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// The --before command: untimed, and like a timed command it must succeed.
void untimed_shell(const std::string& command, int err_fd) {
  const Cmd c{.label = "--before", .argv = {"/bin/sh", "-c", command}, .ms = {}, .ratios = {}};
  timed_run(c, err_fd);
}

long vm_hwm_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// One run under ptrace: {own VmHWM at exit, ru_maxrss of the process tree}, in KiB.
std::pair<long, long> rss_run(const Cmd& c, int err_fd) {
  reset(err_fd);
  auto args = c_argv(c);
  const pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open("/dev/null", O_WRONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err_fd, 2);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) die("ptrace start failed");
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr,
           reinterpret_cast<void*>(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
  ::ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  long own = -1;
  rusage ru{};
  for (;;) {
    if (::wait4(pid, &status, 0, &ru) < 0) {
      if (errno == EINTR) continue;
      die("wait4 failed");
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    if (!WIFSTOPPED(status)) continue;
    const int event = status >> 16;
    long sig = 0;
    if (event == PTRACE_EVENT_EXIT) own = vm_hwm_kib(pid);
    else if (event == 0 && WSTOPSIG(status) != SIGTRAP) sig = WSTOPSIG(status);  // an ordinary signal: deliver it
    ::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(sig));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) show_failure(c, status, err_fd);
  return {own, ru.ru_maxrss};
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const double pos = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

int main(int argc, char** argv) {
  int runs = -1, warmup = 2;
  bool rss = false;
  std::string before;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-n" && i + 1 < argc) runs = std::atoi(argv[++i]);
    else if (a == "-w" && i + 1 < argc) warmup = std::atoi(argv[++i]);
    else if (a == "--rss") rss = true;
    else if (a == "--before" && i + 1 < argc) before = argv[++i];
    else break;
  }
  if (runs < 0) runs = rss ? 3 : 30;
  std::vector<Cmd> cmds;
  while (i < argc) {
    Cmd c;
    c.label = argv[i++];
    if (i >= argc || std::string(argv[i]) != "--") die("expected LABEL -- ARGV...");
    for (++i; i < argc && std::string(argv[i]) != ":::"; ++i) c.argv.emplace_back(argv[i]);
    if (c.argv.empty()) die("empty command for " + c.label);
    cmds.push_back(std::move(c));
    if (i < argc) ++i;  // skip ":::"
  }
  if (cmds.empty() || runs < 1)
    die("usage: bench_cmp [--rss] [-n RUNS] [-w WARMUP] [--before SHELL_COMMAND] LABEL -- ARGV... [::: ...]");
  const int err_fd = stderr_file();

  if (rss) {
    for (auto& c : cmds) {
      long own = 0, tree = 0;
      for (int r = 0; r < runs; ++r) {
        const auto [o, t] = rss_run(c, err_fd);
        own = std::max(own, o);
        tree = std::max(tree, t);
      }
      std::printf("%s\t%ld\t%ld\n", c.label.c_str(), own, tree);
    }
    return 0;
  }

  const std::size_t k = cmds.size();
  for (int r = 0; r < warmup + runs; ++r) {
    std::vector<double> round(k);
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t idx = (static_cast<std::size_t>(r) + j) % k;
      if (!before.empty()) untimed_shell(before, err_fd);
      round[idx] = timed_run(cmds[idx], err_fd);
    }
    if (r < warmup) continue;
    for (std::size_t j = 0; j < k; ++j) {
      cmds[j].ms.push_back(round[j]);
      cmds[j].ratios.push_back(round[j] / round[0]);
    }
  }
  for (const auto& c : cmds) {
    std::printf("%s\t%zu\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", c.label.c_str(), c.ms.size(),
                percentile(c.ms, 0.5), percentile(c.ms, 0.1), percentile(c.ms, 0.9),
                *std::min_element(c.ms.begin(), c.ms.end()), *std::max_element(c.ms.begin(), c.ms.end()),
                percentile(c.ratios, 0.5), percentile(c.ratios, 0.1), percentile(c.ratios, 0.9));
  }
  return 0;
}
