// Fuzz the token broker's request reading (egress/broker_request): arbitrary bodies,
// content types and paths never crash it, and a refresh verdict always carries a
// non-empty UTF-8 placeholder from the bottle's list.
// Input: [flags] content-type '\n' path '\n' body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bottle/egress/broker_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t first = input.find('\n');
  const std::string_view content_type = input.substr(0, first);
  input = first == std::string_view::npos ? std::string_view() : input.substr(first + 1);
  const std::size_t second = input.find('\n');
  const std::string_view path = input.substr(0, second);
  const std::string_view body = second == std::string_view::npos ? std::string_view() : input.substr(second + 1);

  bottle::EgressBroker broker = (data[0] & 1) ? bottle::codex_egress_broker() : bottle::claude_egress_broker();
  if (data[0] & 2) broker.dummy_refresh_tokens = {"rt_bottle_placeholder", "placeholder-2"};
  (void)bottle::broker_handles(broker, "auth.openai.com", path);
  (void)bottle::parse_token_body(body, content_type);
  const auto verdict =
      bottle::classify_broker_request(broker, (data[0] & 4) ? "POST" : "GET", path, body, content_type);
  if (verdict.kind == bottle::BrokerVerdict::Kind::refresh) {
    if (verdict.refresh_token.empty()) __builtin_trap();
    if (!broker.dummy_refresh_tokens.empty() &&
        std::find(broker.dummy_refresh_tokens.begin(), broker.dummy_refresh_tokens.end(), verdict.refresh_token) ==
            broker.dummy_refresh_tokens.end())
      __builtin_trap();
  } else if (verdict.body_json.empty()) {
    __builtin_trap();
  }
  return 0;
}
