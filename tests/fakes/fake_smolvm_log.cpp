#include "fake_smolvm_log.hpp"

#include "json_lines_log.hpp"
#include "json_text.hpp"

#include <sys/ioctl.h>
#include <unistd.h>
#include <chrono>
#include <filesystem>

namespace fake_smolvm {

namespace {

long long unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void append_line(const std::string& line) { fake_log::append_line("FAKE_SMOLVM_LOG", line); }

std::string stdin_winsize_json() {
  winsize size{};
  if (isatty(STDIN_FILENO) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &size) != 0) { return "null"; }
  return "[" + std::to_string(size.ws_col) + "," + std::to_string(size.ws_row) + "]";
}

std::string current_dir() {
  std::error_code error;
  auto path = std::filesystem::current_path(error);
  return error ? std::string() : path.string();
}

}  // namespace

std::string field(const std::string& key, const std::string& text) {
  return fake_json::quote(key) + ":" + fake_json::quote(text);
}

std::string field(const std::string& key, long long number) {
  return fake_json::quote(key) + ":" + std::to_string(number);
}

void log_invocation(const std::vector<std::string>& argv) {
  std::string line = "{\"t\":" + std::to_string(unix_ms()) + ",\"pid\":" + std::to_string(getpid()) +
                     ",\"argv\":" + fake_json::string_array(argv) + ",\"cwd\":" + fake_json::quote(current_dir()) +
                     ",\"stdin_tty\":" + (isatty(STDIN_FILENO) != 0 ? "true" : "false") +
                     ",\"winsize\":" + stdin_winsize_json() + "}";
  append_line(line);
}

void log_event(const std::string& event, const std::vector<std::string>& fields) {
  std::string line = "{\"t\":" + std::to_string(unix_ms()) + ",\"pid\":" + std::to_string(getpid()) +
                     ",\"event\":" + fake_json::quote(event);
  for (const auto& item : fields) { line += "," + item; }
  line += "}";
  append_line(line);
}

}  // namespace fake_smolvm
