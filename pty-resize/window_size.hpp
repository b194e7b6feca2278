#pragma once
// Terminal sizes and the choice of which host fd to take the size from.

#include <optional>
#include <span>

namespace pty_resize {

/// A terminal size in character cells, as TIOCGWINSZ reports it.
struct WindowSize {
  unsigned cols = 0;
  unsigned rows = 0;

  bool operator==(const WindowSize&) const = default;

  /// True when both dimensions are non-zero. A PTY that was never sized (smolvm's own
  /// can be one) reports 0x0; pushing that would make the guest TUI unusable.
  [[nodiscard]] bool usable() const { return cols > 0 && rows > 0; }
};

/// What probing one file descriptor found: std::nullopt when the fd is not a terminal
/// (or TIOCGWINSZ failed), otherwise the size it reported, which may be 0x0.
using FdProbe = std::optional<WindowSize>;

/// Picks the host terminal size from probes given in priority order (stdin, stdout,
/// stderr): the first probe that is a terminal with a usable (non-zero) size.
/// Returns std::nullopt when there is none; the caller must then push nothing.
[[nodiscard]] std::optional<WindowSize> select_window_size(std::span<const FdProbe> probes);

}  // namespace pty_resize
