#pragma once
// A tmux server on a private socket (-L, -f /dev/null), killed when the test ends.

#include <unistd.h>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bottle/core/subprocess.hpp"

class TmuxServer {
 public:
  explicit TmuxServer(std::string stem) : socket_(stem + "-" + std::to_string(::getpid())) {}
  ~TmuxServer() { tmux({"kill-server"}); }
  TmuxServer(const TmuxServer&) = delete;
  TmuxServer& operator=(const TmuxServer&) = delete;

  bottle::ProcessResult tmux(std::vector<std::string> args) {
    // The command that starts the server must not hand it our output pipes: the
    // daemon would hold them open and the run would never see end-of-file.
    std::vector<std::string> argv{
        "sh", "-c", "exec \"$@\" </dev/null >/dev/null 2>&1", "sh", "tmux", "-L", socket_, "-f", "/dev/null"};
    if (!args.empty() && args.front() != "new-session") argv = {"tmux", "-L", socket_, "-f", "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runner_.run({.argv = argv});
  }
  std::string capture(const std::string& target) { return tmux({"capture-pane", "-p", "-t", target}).out; }
  std::string display(const std::string& target, const std::string& format) {
    std::string out = tmux({"display-message", "-p", "-t", target, format}).out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  std::string socket_;
  bottle::SystemRunner runner_;
};

/// Poll `condition` every 50 ms until it holds or `seconds` pass.
inline bool eventually(const std::function<bool()>& condition, double seconds = 10) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}
