// Builds a Docker agent argv through the installed libbottle and prints it.
#include <iostream>

#include <bottle/backends/docker_commands.hpp>

int main() {
  const bottle::DockerCommands docker;
  bottle::BottleSpec spec;
  spec.name = "consumer";
  spec.agent = bottle::AgentKind::codex;
  spec.egress.enabled = false;  // no proxy variables: the argv stays short
  for (const auto& word : docker.agent_argv(spec, {"--version"}, false).argv()) std::cout << word << ' ';
  std::cout << '\n';
}
