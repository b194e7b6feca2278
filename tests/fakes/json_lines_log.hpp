// The JSON Lines logs the fakes write for tests to assert on ($FAKE_AGENT_LOG,
// $FAKE_SMOLVM_LOG). Header-only: fake_agent links nothing else.
#pragma once

#include <fcntl.h>
#include <unistd.h>
#include <cstdlib>
#include <string>

namespace fake_log {

// Appends `line` and a newline to the file named by the environment variable
// `path_variable`; does nothing when it is unset or empty. One write() per line on
// an O_APPEND fd keeps lines whole across concurrent processes; a short write on a
// regular file only happens on a full disk, where a torn line is the least of the
// problems.
inline void append_line(const char* path_variable, const std::string& line) {
  const char* path = std::getenv(path_variable);
  if (path == nullptr || *path == '\0') { return; }
  const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) { return; }
  const std::string text = line + "\n";
  [[maybe_unused]] const ssize_t written = write(fd, text.data(), text.size());
  close(fd);
}

}  // namespace fake_log
