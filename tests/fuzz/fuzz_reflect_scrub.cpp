// Fuzz the reverse swap (egress/reflect_scrub): needles from arbitrary real/dummy
// bytes, and a body scrubbed as a stream at arbitrary split points must come out
// exactly as the same body scrubbed whole, and the whole as the definition says
// (position by position, the longest needle at each). A stream that depended on
// where the upstream's chunks happened to end, or a prefilter that ruled out a
// position it should not, could let a real value through.
// Input: [real len][dummy len][split seed] real dummy body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../unit/reflect_by_definition.hpp"
#include "bottle/egress/reflect_scrub.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t real_len = data[0] % 48, dummy_len = data[1] % 48;
  std::uint32_t seed = data[2];
  std::string_view rest = input.substr(3);
  if (rest.size() < real_len + dummy_len) return 0;
  const std::string_view real = rest.substr(0, real_len), dummy = rest.substr(real_len, dummy_len);
  const std::string_view body = rest.substr(real_len + dummy_len);

  const auto needles = bottle::reflect_needles(real, dummy);
  for (const auto& n : needles)
    if (n.find.size() < bottle::min_reflect_needle || n.find == n.replace) __builtin_trap();
  const bottle::ReflectScrubber scrubber(needles);
  const auto whole = scrubber.replace(body);
  if (whole.stop != body.size()) __builtin_trap();
  if (whole.out != replaced_by_definition(scrubber.needles(), body)) __builtin_trap();

  bottle::ReflectStream stream(scrubber);
  std::vector<std::size_t> hits;
  std::string streamed;
  for (std::size_t at = 0; at < body.size();) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t step = 1 + (seed >> 16) % 17;
    streamed += stream.feed(body.substr(at, step), hits);
    at += step;
  }
  streamed += stream.finish(hits);
  if (streamed != whole.out || hits != whole.hits) __builtin_trap();
  return 0;
}
