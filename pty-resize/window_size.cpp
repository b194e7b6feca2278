#include "window_size.hpp"

namespace pty_resize {

std::optional<WindowSize> select_window_size(std::span<const FdProbe> probes) {
  for (const FdProbe& probe : probes) {
    // A 0x0 terminal is skipped rather than accepted: stdin may be smolvm's own
    // unsized PTY while stdout or stderr still reach the user's real terminal.
    if (probe && probe->usable()) { return *probe; }
  }
  return std::nullopt;
}

}  // namespace pty_resize
