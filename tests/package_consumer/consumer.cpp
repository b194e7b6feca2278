// Builds a Docker agent argv through the installed libbottle and prints it.
#include <iostream>

#include <bottle/backends/docker_backend.hpp>

int main() {
  bottle::RecordingRunner runner;
  bottle::DockerBackend docker(runner);
  bottle::BottleSpec spec;
  spec.name = "consumer";
  spec.agent = bottle::AgentKind::codex;
  for (const auto& word : docker.agent_argv(spec, {"--version"}, false).argv()) std::cout << word << ' ';
  std::cout << '\n';
}
