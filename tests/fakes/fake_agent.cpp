// Stand-in for the `claude` / `codex` binaries in tests. It records how it was started
// (argv, cwd, selected env, terminal) to $FAKE_AGENT_LOG and behaves per $FAKE_AGENT_MODE:
//   exit:N | sleep:SECONDS | print:TEXT | winsize | ignore-term   (default: exit 0)
#include "json_lines_log.hpp"
#include "json_text.hpp"
#include "stdin_mode_guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

void write_text(int fd, const std::string& text) {
  std::size_t offset = 0;
  while (offset < text.size()) {
    const ssize_t written = write(fd, text.data() + offset, text.size() - offset);
    if (written < 0) {
      if (errno == EINTR) { continue; }
      return;
    }
    offset += static_cast<std::size_t>(written);
  }
}

void append_log(const std::string& line) { fake_log::append_line("FAKE_AGENT_LOG", line); }

// The size of whichever standard stream is a terminal, stdin first.
std::optional<winsize> terminal_size() {
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    winsize size{};
    if (isatty(fd) != 0 && ioctl(fd, TIOCGWINSZ, &size) == 0) { return size; }
  }
  return std::nullopt;
}

bool selected_variable(const std::string& key) {
  static const std::vector<std::string> exact = {
      "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS", "CODEX_CA_CERTIFICATE", "SSL_CERT_FILE",
      "TERM",        "HOME",       "USER"};
  if (key.starts_with("FAKE_") || key.starts_with("BOTTLE_")) { return true; }
  for (const auto& name : exact) {
    if (key == name) { return true; }
  }
  return false;
}

std::string selected_env_json() {
  std::string out = "{";
  bool first = true;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const auto equals = text.find('=');
    if (equals == std::string::npos || !selected_variable(text.substr(0, equals))) { continue; }
    out +=
        (first ? "" : ",") + fake_json::quote(text.substr(0, equals)) + ":" + fake_json::quote(text.substr(equals + 1));
    first = false;
  }
  return out + "}";
}

void log_start(const std::vector<std::string>& argv) {
  std::error_code error;
  const auto cwd = std::filesystem::current_path(error);
  const auto size = terminal_size();
  const std::string winsize_json =
      size ? "[" + std::to_string(size->ws_col) + "," + std::to_string(size->ws_row) + "]" : "null";
  append_log("{\"argv\":" + fake_json::string_array(argv) +
             ",\"cwd\":" + fake_json::quote(error ? std::string() : cwd.string()) + ",\"env\":" + selected_env_json() +
             ",\"tty\":" + (isatty(STDIN_FILENO) != 0 ? "true" : "false") + ",\"winsize\":" + winsize_json +
             ",\"uid\":" + std::to_string(getuid()) + "}");
}

// Self-pipe: the winsize loop waits on signals and stdin in one poll().
int signal_pipe[2] = {-1, -1};

void forward_signal(int signal_number) {
  const int saved_errno = errno;
  const auto byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const ssize_t written = write(signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

void report_size() {
  const auto size = terminal_size();
  const int cols = size ? size->ws_col : 0;
  const int rows = size ? size->ws_row : 0;
  write_text(STDOUT_FILENO, "SIZE " + std::to_string(cols) + " " + std::to_string(rows) + "\n");
  append_log("{\"event\":\"winsize\",\"cols\":" + std::to_string(cols) + ",\"rows\":" + std::to_string(rows) + "}");
}

// Like a TUI, read keys as they are typed (no line buffering, no echo) when stdin is a
// terminal, so a single `q` quits; the terminal is restored on the way out.
void key_mode(termios* mode) {
  mode->c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
  mode->c_cc[VMIN] = 1;
  mode->c_cc[VTIME] = 0;
}

int winsize_mode() {
  if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) { return 1; }
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  for (const int signal_number : {SIGWINCH, SIGTERM, SIGHUP}) { sigaction(signal_number, &action, nullptr); }
  const fake_tty::StdinModeGuard key_mode_guard(key_mode);
  report_size();
  bool stdin_open = true;
  for (;;) {
    pollfd fds[2] = {{signal_pipe[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (poll(fds, stdin_open ? 2 : 1, -1) < 0) {
      continue;  // EINTR
    }
    if (fds[0].revents != 0) {
      unsigned char delivered[32];
      const ssize_t count = read(signal_pipe[0], delivered, sizeof delivered);
      for (ssize_t i = 0; i < count; ++i) {
        if (delivered[i] == SIGWINCH) {
          report_size();
        } else {
          return 0;  // SIGTERM / SIGHUP
        }
      }
    }
    if (stdin_open && fds[1].revents != 0) {
      char buffer[256];
      const ssize_t count = read(STDIN_FILENO, buffer, sizeof buffer);
      if (count <= 0) {
        return 0;  // EOF (or a dead terminal)
      }
      if (std::string(buffer, static_cast<std::size_t>(count)).find('q') != std::string::npos) { return 0; }
    }
  }
}

void sleep_seconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> arguments(argv, argv + argc);
  log_start(arguments);
  std::string joined;
  for (std::size_t i = 1; i < arguments.size(); ++i) { joined += (i > 1 ? " " : "") + arguments[i]; }
  write_text(STDOUT_FILENO, "fake-agent argv: " + joined + "\n");

  const char* mode_env = std::getenv("FAKE_AGENT_MODE");
  const std::string mode = mode_env != nullptr ? mode_env : "";
  const auto colon = mode.find(':');
  const std::string kind = mode.substr(0, colon);
  const std::string argument = colon == std::string::npos ? "" : mode.substr(colon + 1);
  if (kind.empty() || kind == "exit") { return argument.empty() ? 0 : std::atoi(argument.c_str()); }
  if (kind == "sleep") {
    sleep_seconds(std::atof(argument.c_str()));
    return 0;
  }
  if (kind == "print") {
    write_text(STDOUT_FILENO, argument + "\n");
    return 0;
  }
  if (kind == "winsize") { return winsize_mode(); }
  if (kind == "ignore-term") {
    std::signal(SIGTERM, SIG_IGN);
    for (;;) { pause(); }
  }
  write_text(STDERR_FILENO, "fake-agent: unknown FAKE_AGENT_MODE '" + mode + "'\n");
  return 2;
}
