// Fuzz the egress request front end: find_head_end, parse_request_head (on the
// proxy port and in a tunnel), forwarded_fields and ChunkedDecoder. Nothing may
// throw; what is accepted must be self-consistent, and a chunked body must decode
// the same whether it arrives whole or a byte at a time (a decoder that depended on
// how bytes were split would be a smuggling vector).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "bottle/egress/http_request.hpp"

namespace {

void check_head(std::string_view input, const bottle::RequestPlace& place, const bottle::HttpLimits& limits) {
  const bottle::HeadScan scan = bottle::find_head_end(input, limits);
  if (!scan.end) return;
  if (*scan.end > input.size() || *scan.end > limits.max_head_bytes) __builtin_trap();
  const auto parsed = bottle::parse_request_head(input.substr(0, *scan.end), place, limits);
  const auto* head = std::get_if<bottle::RequestHead>(&parsed);
  if (!head) return;
  if (head->authority.port == 0 || head->authority.host.empty()) __builtin_trap();
  if (head->fields.size() > limits.max_fields) __builtin_trap();
  if (head->method == "CONNECT" && head->framing == bottle::BodyFraming::chunked) __builtin_trap();
  for (const bottle::HttpField& field : bottle::forwarded_fields(*head)) {
    if (bottle::field_name_is(field.name, "Transfer-Encoding") ||
        bottle::field_name_is(field.name, "Proxy-Authorization"))
      __builtin_trap();
    for (char c : field.value)
      if (c == '\r' || c == '\n' || c == '\0') __builtin_trap();
  }
}

struct Decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  bool refused = false;
  bool operator==(const Decoded&) const = default;
};

Decoded decode(std::string_view input, std::size_t step, const bottle::HttpLimits& limits) {
  bottle::ChunkedDecoder decoder(limits);
  Decoded out;
  for (std::size_t at = 0; at < input.size() && !decoder.done(); at += step) {
    const std::string_view piece = input.substr(at, step);
    const auto result = decoder.feed(piece, out.body);
    out.consumed += result.consumed;
    if (result.refusal) {
      out.refused = true;
      // Where a refusal happens is split-dependent by nature; only that it happens counts.
      out.consumed = 0;
      out.body.clear();
      break;
    }
    if (result.consumed < piece.size()) break;
  }
  out.done = decoder.done();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bottle::HttpLimits limits{
      .max_head_bytes = 4096, .max_line_bytes = 1024, .max_fields = 32, .max_chunk_line_bytes = 64};
  switch (data[0] % 3) {
    case 0: check_head(input, bottle::RequestPlace::proxy(), limits); break;
    case 1: check_head(input, bottle::RequestPlace::tunnel({"api.example.test", 443, false}), limits); break;
    default: {
      const Decoded whole = decode(input, input.size() + 1, limits);
      const Decoded bytewise = decode(input, 1, limits);
      if (!(whole == bytewise)) __builtin_trap();
      if (whole.body.size() > input.size()) __builtin_trap();
    }
  }
  return 0;
}
