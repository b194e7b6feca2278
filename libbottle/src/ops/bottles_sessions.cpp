#include <fmt/format.h>
#include <filesystem>

#include "bottle/ops/bottles.hpp"
#include "bottle/ops/canaries.hpp"
#include "bottle/ops/sessions.hpp"

namespace bottle {

// Once per bottle: a restart must not put back conversations the agent has since
// moved on from (or deleted).
void Bottles::restore_sessions_once(Backend& b, const BottleSpec& spec) {
  const std::filesystem::path marker = store_.dirs().bottle_state_dir(spec.name) / "sessions-restored";
  // A home that does not outlive a stop (a cluster's pod) gets them back at every
  // start, from what the last stop saved.
  if (b.commands().keeps_home_across_stop() && std::filesystem::exists(marker)) return;
  restore_sessions(runner_, b, spec, store_.dirs());
  write_file_atomic(marker, "", 0600);
}

void Bottles::save_sessions_quietly(Backend& b, const BottleSpec& spec) noexcept {
  try {
    std::vector<SecretNeedle> needles = host_real_tokens(host_);
    for (const auto& dummy : bottle_dummies(spec)) needles.push_back({"a dummy credential of this bottle", dummy});
    for (const auto& route : egress_routes(spec))
      needles.push_back({fmt::format("the dummy of egress route {}", route.name), route.dummy});
    for (const auto& found : save_sessions(runner_, b, spec, store_.dirs(), needles))
      warn_(fmt::format("sessions: removed {} from saved session file {}", found.label, found.path));
  } catch (const std::exception& e) {
    warn_(fmt::format("sessions: the agent's sessions of {} were not saved: {}", spec.name, e.what()));
  }
}

}  // namespace bottle
