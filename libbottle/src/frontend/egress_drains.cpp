#include "bottle/frontend/egress_drains.hpp"

namespace bottle {

void EgressDrains::drain(Bottles& bottles, const std::vector<BottleRow>& rows, Clock::time_point now) {
  for (const auto& row : rows) {
    if (!row.managed || row.state != EngineState::running || row.egress != EgressState::on) continue;
    const auto last = drained_.find(row.name);
    if (last != drained_.end() && now - last->second < interval_) continue;
    drained_[row.name] = now;
    try {
      bottles.drain_egress_audit(row.name);
    } catch (const std::exception&) {
      // Shown as the records drained so far; the next interval tries again.
    }
  }
}

}  // namespace bottle
