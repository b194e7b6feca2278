#pragma once
// The dashboard's part in taking a cluster egress's audit log to the host
// (Bottles::drain_egress_audit): the EGRESS column counts records from the host's
// log, which a kubernetes bottle's egress does not write itself. Each drain is a
// `kubectl exec`, so a bottle is drained at most once per interval.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "bottle/ops/bottles.hpp"

namespace bottle {

inline constexpr std::chrono::seconds egress_drain_interval{10};

/// Per bottle, when its egress log was last drained. Used by one thread (the worker's).
class EgressDrains {
 public:
  using Clock = std::chrono::steady_clock;
  explicit EgressDrains(std::chrono::milliseconds interval = egress_drain_interval) : interval_(interval) {}

  /// Drains every managed, running row with egress on whose last drain is at least
  /// `interval` older than `now` (never drained: at once). Bottles whose egress
  /// writes the host's log drain nothing and run nothing. A failed drain is tried
  /// again at the next interval; it never throws.
  void drain(Bottles& bottles, const std::vector<BottleRow>& rows, Clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::map<std::string, Clock::time_point> drained_;
};

}  // namespace bottle
