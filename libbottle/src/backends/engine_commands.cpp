#include "bottle/backends/engine_commands.hpp"

#include "bottle/backends/egress_commands.hpp"
#include "bottle/spec/guest_env.hpp"

namespace bottle {

Argv AgentArgv::argv() const {
  Argv all = prefix;
  all.insert(all.end(), tail.begin(), tail.end());
  return all;
}

std::string EngineCommands::object_name(std::string_view bottle_name) const {
  return std::string(object_prefix) + std::string(bottle_name);
}

std::vector<Argv> EngineCommands::list_argvs(const std::vector<BottleSpec>& /*specs*/) const { return {list_argv()}; }

std::map<std::string, std::string> EngineCommands::guest_env(const BottleSpec& spec) const {
  const EgressCommands* e = egress();
  return guest_environment(spec, e ? e->guest_egress(spec) : GuestEgress{});
}

std::string_view to_string(EngineState state) {
  switch (state) {
    case EngineState::running: return "running";
    case EngineState::stopped: return "stopped";
    case EngineState::created: return "created";
    case EngineState::missing: return "missing";
    case EngineState::other: break;
  }
  return "other";
}

std::string BottleInfo::state_text() const {
  return state == EngineState::other ? other_state : std::string(to_string(state));
}

}  // namespace bottle
