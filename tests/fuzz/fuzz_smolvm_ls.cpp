// Fuzz SmolmachinesCommands::parse_list (`smolvm machine ls --json` output) and
// smolvm_grammar_for_version (`smolvm --version` output). Only bottle::Error may
// escape them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  try {
    (void)bottle::smolvm_grammar_for_version(input);
  } catch (const bottle::Error&) {}

  const bottle::SmolmachinesCommands smol(bottle::SmolmachinesOptions{});
  try {
    const auto rows = smol.parse_list(input);
    for (const auto& row : rows) {
      if (row.backend != bottle::BackendKind::smolmachines) __builtin_trap();
    }
  } catch (const bottle::Error&) {}
  return 0;
}
