#pragma once
// Specs and backend options several unit tests start from.

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/spec/spec.hpp"

/// The smallest Docker bottle: "api", Claude, the default agent image.
inline bottle::BottleSpec minimal_docker_spec() {
  bottle::BottleSpec s;
  s.name = "api";
  s.agent = bottle::AgentKind::claude;
  s.image = "bottle-agent:latest";
  return s;
}

/// smolmachines options for a smolvm that can confine the VM (1.9.2 by default),
/// with bottle-egress installed.
inline bottle::SmolmachinesOptions smol_egress_options(bottle::SmolvmVersion version = {1, 9, 2}) {
  return {.smolvm = "smolvm",
          .grammar = bottle::smolvm_grammar(version),
          .pty_resize = "/p/pty-resize",
          .version = version,
          .egress_program = "/usr/bin/bottle-egress"};
}
