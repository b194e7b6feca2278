// Fuzz parse_spec; every accepted spec must survive spec_to_json -> parse_spec
// unchanged. Only bottle::Error may escape parse_spec.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bottle/core/error.hpp"
#include "bottle/spec/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  bottle::BottleSpec spec;
  try {
    spec = bottle::parse_spec(input);
  } catch (const bottle::Error&) { return 0; }
  // An accepted spec must be printable, re-parse without error, and compare equal.
  const std::string json = bottle::spec_to_json(spec);
  bottle::BottleSpec again;
  try {
    again = bottle::parse_spec(json);
  } catch (const bottle::Error&) { __builtin_trap(); }
  if (!(again == spec)) __builtin_trap();
  if (bottle::spec_to_json(again) != json) __builtin_trap();
  return 0;
}
