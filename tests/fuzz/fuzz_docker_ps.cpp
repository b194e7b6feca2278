// Fuzz DockerBackend::parse_list (the `docker ps --format` output parser).
// Only bottle::Error may escape it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bottle/backends/docker_backend.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/subprocess.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  bottle::RecordingRunner runner;
  const bottle::DockerBackend docker(runner);
  try {
    const auto rows = docker.parse_list(input);
    for (const auto& row : rows) {
      if (row.backend != bottle::BackendKind::docker) __builtin_trap();
    }
  } catch (const bottle::Error&) {}
  // parse_list never runs a command.
  if (!runner.commands().empty()) __builtin_trap();
  return 0;
}
