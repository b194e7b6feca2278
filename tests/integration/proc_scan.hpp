#pragma once
// A background watcher for secrets in process arguments: while it lives, a thread
// reads /proc/PID/cmdline of every process on the machine (containers' included:
// they share the host's /proc from here) and /proc/PID/environ of this process's
// descendants (bottle-cli, docker, ... on the host) every few milliseconds, and
// records each process in which one of the given secret strings appears.
//
// Reports name the pid, the process name and the secret's label, never the value.

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace proc_scan {

struct Secret {
  std::string label;  // what reports say, e.g. "host access token"
  std::string value;  // what is searched for; never printed
};

struct Hit {
  int pid = 0;
  std::string comm;   // the process name (/proc/PID/stat)
  std::string label;  // which secret
  std::string where;  // "cmdline" or "environ"
};

class Scanner {
 public:
  explicit Scanner(std::vector<Secret> secrets, std::chrono::milliseconds interval = std::chrono::milliseconds(3))
      : secrets_(std::move(secrets)), interval_(interval), self_(::getpid()) {
    for (const auto& s : secrets_)
      if (s.value.size() < 8) std::abort();  // a short "secret" would match by accident
    thread_ = std::thread([this] { run(); });
  }
  ~Scanner() { stop(); }
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  /// Stop scanning (idempotent); the counters keep their values.
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

  /// Complete passes over /proc.
  std::uint64_t sweeps() const { return sweeps_; }
  /// Non-empty command lines read, over all sweeps.
  std::uint64_t cmdlines_read() const { return cmdlines_read_; }
  /// Environments of descendants read, over all sweeps.
  std::uint64_t environs_read() const { return environs_read_; }

  /// Names of this process's descendants whose command line was read at least once.
  std::set<std::string> descendant_names() const {
    std::lock_guard lock(mutex_);
    return descendant_names_;
  }
  /// Each (pid, secret, place) once.
  std::vector<Hit> hits() const {
    std::lock_guard lock(mutex_);
    std::vector<Hit> out;
    for (const auto& [key, hit] : hits_) out.push_back(hit);
    return out;
  }
  /// One line per hit, without any secret value.
  std::string report() const {
    std::string text;
    for (const auto& h : hits())
      text += "pid " + std::to_string(h.pid) + " (" + h.comm + "): " + h.label + " in its " + h.where + "\n";
    return text;
  }

 private:
  static bool read_whole(const std::string& path, std::string& out, std::size_t limit = 1 << 20) {
    out.clear();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buffer[16384];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0 || out.size() >= limit) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return true;
  }

  struct Process {
    int ppid = 0;
    std::string comm;
  };

  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
  static bool read_stat(const std::string& dir, Process& p) {
    std::string stat;
    if (!read_whole(dir + "/stat", stat, 4096)) return false;
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open || close + 4 >= stat.size())
      return false;
    p.comm = stat.substr(open + 1, close - open - 1);
    p.ppid = std::atoi(stat.c_str() + close + 4);
    return true;
  }

  void check(int pid, const std::string& comm, const std::string& text, const char* where) {
    for (const auto& s : secrets_) {
      if (text.find(s.value) == std::string::npos) continue;
      std::lock_guard lock(mutex_);
      // The latest sighting wins: a process caught inside execve can show its new
      // command line under its old name for an instant.
      hits_.insert_or_assign(std::to_string(pid) + "/" + s.label + "/" + where, Hit{pid, comm, s.label, where});
    }
  }

  void sweep() {
    std::map<int, Process> processes;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return;
    while (const dirent* entry = ::readdir(proc)) {
      const int pid = std::atoi(entry->d_name);
      if (pid <= 0) continue;
      Process p;
      if (read_stat("/proc/" + std::string(entry->d_name), p)) processes.emplace(pid, std::move(p));
    }
    ::closedir(proc);

    std::string text;
    for (const auto& [pid, p] : processes) {
      const std::string dir = "/proc/" + std::to_string(pid);
      if (!read_whole(dir + "/cmdline", text) || text.empty()) continue;  // gone, or a kernel thread
      ++cmdlines_read_;
      check(pid, p.comm, text, "cmdline");
      if (pid == self_ || !descends_from_self(processes, pid)) continue;
      {
        std::lock_guard lock(mutex_);
        descendant_names_.insert(p.comm);
      }
      if (read_whole(dir + "/environ", text)) {
        ++environs_read_;
        check(pid, p.comm, text, "environ");
      }
    }
    ++sweeps_;
  }

  bool descends_from_self(const std::map<int, Process>& processes, int pid) const {
    for (int depth = 0; depth < 64 && pid > 1; ++depth) {
      const auto it = processes.find(pid);
      if (it == processes.end()) return false;
      pid = it->second.ppid;
      if (pid == self_) return true;
    }
    return false;
  }

  void run() {
    while (!stopping_) {
      sweep();
      std::this_thread::sleep_for(interval_);
    }
  }

  const std::vector<Secret> secrets_;
  const std::chrono::milliseconds interval_;
  const int self_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> sweeps_{0};
  std::atomic<std::uint64_t> cmdlines_read_{0};
  std::atomic<std::uint64_t> environs_read_{0};
  mutable std::mutex mutex_;
  std::set<std::string> descendant_names_;
  std::map<std::string, Hit> hits_;
  std::thread thread_;
};

}  // namespace proc_scan
