#include "fake_smolvm_process.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace fake_smolvm {

namespace {

struct ProcStat {
  char state = '?';
  long long start_time = 0;
};

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!file || !std::getline(file, line)) { return std::nullopt; }
  // The command name may contain spaces and parentheses; fields resume after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) { return std::nullopt; }
  std::istringstream fields(line.substr(close + 2));
  ProcStat stat;
  fields >> stat.state;
  std::string skipped;
  // Field 3 is the state; field 22 is the start time: skip fields 4..21.
  for (int field = 4; field <= 21; ++field) { fields >> skipped; }
  fields >> stat.start_time;
  if (!fields) { return std::nullopt; }
  return stat;
}

}  // namespace

std::optional<long long> process_start_time(pid_t pid) {
  const auto stat = read_proc_stat(pid);
  if (!stat) { return std::nullopt; }
  return stat->start_time;
}

bool process_alive(pid_t pid, std::optional<long long> expected_start_time) {
  if (pid <= 0) { return false; }
  const auto stat = read_proc_stat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') { return false; }
  return !expected_start_time || *expected_start_time == stat->start_time;
}

void terminate_group(pid_t leader, int first_signal, int grace_ms) {
  if (leader <= 0) { return; }
  kill(-leader, first_signal);
  kill(leader, first_signal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (process_alive(leader) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-leader, SIGKILL);
  kill(leader, SIGKILL);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) { continue; }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

void reset_signals_for_child() {
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    if (signal_number != SIGKILL && signal_number != SIGSTOP) { std::signal(signal_number, SIG_DFL); }
  }
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

void close_inherited_fds(int keep, int keep_too) {
  const long limit = sysconf(_SC_OPEN_MAX);
  const int highest = limit > 0 && limit < 65536 ? static_cast<int>(limit) : 65536;
  for (int fd = 3; fd < highest; ++fd) {
    if (fd != keep && fd != keep_too) { close(fd); }
  }
}

std::optional<std::string> resolve_command(const std::string& command, const std::vector<std::string>& env) {
  if (command.empty()) { return std::nullopt; }
  if (command.find('/') != std::string::npos) { return command; }
  std::string path_list = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) { path_list = entry.substr(5); }
  }
  std::istringstream directories(path_list);
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    const std::string candidate = (directory.empty() ? "." : directory) + "/" + command;
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::vector<char*> c_argv(std::vector<std::string>& words) {
  std::vector<char*> pointers;
  pointers.reserve(words.size() + 1);
  for (auto& word : words) { pointers.push_back(word.data()); }
  pointers.push_back(nullptr);
  return pointers;
}

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) { return WEXITSTATUS(wait_status); }
  if (WIFSIGNALED(wait_status)) { return 128 + WTERMSIG(wait_status); }
  return 1;
}

void detach_from_client() {
  setsid();
  const int null_fd = open("/dev/null", O_RDWR);
  dup2(null_fd, STDIN_FILENO);
  dup2(null_fd, STDOUT_FILENO);
  dup2(null_fd, STDERR_FILENO);
}

void GuestChild::signal_group(int signal_number) const { kill(-pid, signal_number); }

void GuestChild::reap() {
  if (!reaped && waitpid(pid, &wait_status, WNOHANG) == pid) { reaped = true; }
}

void GuestChild::kill_and_reap() {
  if (!reaped) {
    kill(-pid, SIGKILL);
    waitpid(pid, &wait_status, 0);
  }
}

}  // namespace fake_smolvm
