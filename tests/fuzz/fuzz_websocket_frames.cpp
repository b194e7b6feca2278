// Fuzz the WebSocket reader egress runs after a 101: arbitrary bytes never crash it,
// reading whole or a byte at a time gives the same messages (or the same failure), and
// every message re-encoded reads back as itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/websocket_frames.hpp"

namespace {

struct Outcome {
  std::vector<bottle::WsMessage> messages;
  bool failed = false;
};

Outcome read(bottle::WsReader::Sender sender, std::string_view bytes, std::size_t step) {
  bottle::WsReader reader(sender, 4096);
  Outcome out;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    auto result = reader.feed(bytes.substr(at, step));
    for (auto& m : result.messages) out.messages.push_back(std::move(m));
    if (result.error) {
      out.failed = true;
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto sender = (data[0] & 1) ? bottle::WsReader::Sender::client : bottle::WsReader::Sender::server;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = read(sender, bytes, bytes.size() + 1);
  const Outcome bytewise = read(sender, bytes, 1);
  if (whole.failed != bytewise.failed) __builtin_trap();
  // Messages completed before a failure may differ in count only if the failure came
  // inside the same read; without a failure they must be identical.
  if (!whole.failed && !(whole.messages == bytewise.messages)) __builtin_trap();
  for (const bottle::WsMessage& m : bytewise.messages) {
    const std::optional<std::array<std::uint8_t, 4>> mask = sender == bottle::WsReader::Sender::client
                                                                ? std::optional(std::array<std::uint8_t, 4>{1, 2, 3, 4})
                                                                : std::nullopt;
    const std::string encoded = bottle::ws_encode(m.opcode, m.payload, mask);
    const Outcome again = read(sender, encoded, encoded.size());
    if (again.failed || again.messages.size() != 1 || again.messages[0].payload != m.payload ||
        again.messages[0].opcode != m.opcode)
      __builtin_trap();
  }
  return 0;
}
