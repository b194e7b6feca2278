#pragma once
// Coalescing of resize events into side-channel pushes.
//
// A side-channel is a whole `smolvm machine exec` (tens to hundreds of milliseconds), while
// a window drag produces dozens of SIGWINCH per second. The coalescer keeps at most one
// push in flight and remembers only the newest size seen meanwhile, so a storm costs at
// most two pushes and the guest always ends at the final size.
//
// Usage (the caller owns the processes; the coalescer only decides):
//
//   ResizeCoalescer coalescer;
//   if (auto size = coalescer.on_size_observed(current)) start_push(*size);
//   ...when that push's process ends:
//   if (auto size = coalescer.on_push_finished(succeeded)) start_push(*size);

#include <optional>

#include "window_size.hpp"

namespace pty_resize {

class ResizeCoalescer {
 public:
  /// Records a newly observed host size (start-up or SIGWINCH). Returns the size to push
  /// now, or std::nullopt if nothing should start: a push is already in flight (the size
  /// is kept as pending, replacing any older pending size), or the size equals the last
  /// one pushed successfully. Sizes must be usable (see WindowSize::usable()).
  [[nodiscard]] std::optional<WindowSize> on_size_observed(WindowSize size);

  /// Records that the in-flight push ended. A failed push forgets the last-pushed size,
  /// so the same size is tried again on the next event (it is not retried on its own,
  /// to avoid a loop of failing execs). Returns the pending size to push next, unless it
  /// is already what the guest has. Calling it with nothing in flight is a no-op.
  [[nodiscard]] std::optional<WindowSize> on_push_finished(bool succeeded);

  /// Like on_size_observed, but pushes even when `size` equals the last successful
  /// push. Used for the settle pushes shortly after start-up: the guest PTY may not
  /// exist yet when the first push runs, and that push then "succeeds" without
  /// reaching it.
  [[nodiscard]] std::optional<WindowSize> on_repush_requested(WindowSize size);

  /// The size currently being pushed, if any.
  [[nodiscard]] std::optional<WindowSize> in_flight() const { return m_in_flight; }

  /// The size most recently pushed successfully, if any.
  [[nodiscard]] std::optional<WindowSize> last_pushed() const { return m_last_pushed; }

 private:
  std::optional<WindowSize> m_in_flight;
  std::optional<WindowSize> m_pending;
  std::optional<WindowSize> m_last_pushed;
  bool m_pending_forced = false;
};

/// When to re-push the unchanged size after start-up (offsets from the start). Real
/// smolvm creates the guest PTY only once the exec session is connected, which can be
/// after the first push ran; these few extra pushes make the initial size land.
inline constexpr int k_settle_push_offsets_ms[] = {300, 1000, 2500};

}  // namespace pty_resize
