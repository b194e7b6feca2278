// Fuzz the decode of compressed answers (egress/content_decoder): arbitrary bytes as
// a gzip or deflate body, fed whole and at arbitrary split points, must decode to the
// same bytes with the same verdict. A decode that depended on where the upstream's
// chunks ended could pass a body the scan saw differently.
// Input: [coding][split seed] body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bottle/egress/content_decoder.hpp"

namespace {

struct Decoded {
  std::string out;
  bool ok = true;
  bool finished = false;
};

Decoded decode(std::string_view coding, std::string_view body, std::uint32_t seed) {
  auto decoder = bottle::ContentDecoder::for_encoding(coding);
  if (!decoder) __builtin_trap();
  Decoded d;
  for (std::size_t at = 0; at < body.size() && d.ok;) {
    std::size_t step = body.size();
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      step = 1 + (seed >> 16) % 23;
    }
    d.ok = decoder->feed(body.substr(at, step), d.out);
    at += step;
  }
  d.finished = decoder->finished();
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view coding = data[0] % 2 == 0 ? "gzip" : "deflate";
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  const Decoded whole = decode(coding, body, 0);
  const Decoded split = decode(coding, body, data[1] | 1u);
  if (whole.ok != split.ok || whole.finished != split.finished) __builtin_trap();
  if (whole.ok && whole.out != split.out) __builtin_trap();
  if (whole.finished && !whole.ok) __builtin_trap();
  return 0;
}
