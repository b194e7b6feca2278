#pragma once
// Reading the host terminal size (TIOCGWINSZ).

#include <optional>

#include "window_size.hpp"

namespace pty_resize {

/// Probes one fd: std::nullopt if it is not a terminal or TIOCGWINSZ fails, else its size
/// (possibly 0x0).
[[nodiscard]] FdProbe probe_window_size(int fd);

/// The host size per select_window_size() over stdin, stdout and stderr, in that order.
[[nodiscard]] std::optional<WindowSize> read_host_window_size();

}  // namespace pty_resize
