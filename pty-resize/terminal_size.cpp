#include "terminal_size.hpp"

#include <array>

#include <sys/ioctl.h>
#include <unistd.h>

namespace pty_resize {

FdProbe probe_window_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0) {
    return std::nullopt;  // ENOTTY for pipes and files; EBADF for closed fds.
  }
  return WindowSize{size.ws_col, size.ws_row};
}

std::optional<WindowSize> read_host_window_size() {
  const std::array<FdProbe, 3> probes{probe_window_size(STDIN_FILENO), probe_window_size(STDOUT_FILENO),
                                      probe_window_size(STDERR_FILENO)};
  return select_window_size(probes);
}

}  // namespace pty_resize
