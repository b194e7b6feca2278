// Fuzz DockerCommands::parse_list (the `docker ps --format` output parser).
// Only bottle::Error may escape it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const bottle::DockerCommands docker;
  try {
    const auto rows = docker.parse_list(input);
    for (const auto& row : rows) {
      if (row.backend != bottle::BackendKind::docker) __builtin_trap();
    }
  } catch (const bottle::Error&) {}
  return 0;
}
