#include "resize_coalescer.hpp"

namespace pty_resize {

std::optional<WindowSize> ResizeCoalescer::on_size_observed(WindowSize size) {
  if (m_in_flight) {
    // Only the newest size matters; intermediate sizes of a drag are never pushed.
    // A newer size keeps a pending forced push forced: it must still be sent.
    m_pending = size;
    return std::nullopt;
  }
  if (m_last_pushed == size) { return std::nullopt; }
  m_in_flight = size;
  return size;
}

std::optional<WindowSize> ResizeCoalescer::on_repush_requested(WindowSize size) {
  if (m_in_flight) {
    m_pending = size;
    m_pending_forced = true;
    return std::nullopt;
  }
  m_in_flight = size;
  return size;
}

std::optional<WindowSize> ResizeCoalescer::on_push_finished(bool succeeded) {
  if (!m_in_flight) { return std::nullopt; }
  // After a failure the guest's size is unknown, so nothing counts as already pushed.
  m_last_pushed = succeeded ? m_in_flight : std::nullopt;
  m_in_flight.reset();

  const std::optional<WindowSize> next = m_pending;
  const bool forced = m_pending_forced;
  m_pending.reset();
  m_pending_forced = false;
  if (!next || (next == m_last_pushed && !forced)) {
    // The storm ended where the finished push left the guest (e.g. shrink then grow back).
    return std::nullopt;
  }
  m_in_flight = next;
  return next;
}

}  // namespace pty_resize
