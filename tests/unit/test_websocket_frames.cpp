// WebSocket frames as egress reads them after a 101: whole messages, strictly.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bottle/egress/websocket_frames.hpp"

using bottle::WsMessage;
using bottle::WsOpcode;
using bottle::WsReader;

namespace {

constexpr std::array<std::uint8_t, 4> mask{0x12, 0x34, 0x56, 0x78};

std::string frame(bool fin, std::uint8_t opcode, std::string_view payload, bool masked = true) {
  std::string out =
      bottle::ws_encode(static_cast<WsOpcode>(opcode), payload, masked ? std::optional(mask) : std::nullopt);
  if (!fin) out[0] = static_cast<char>(out[0] & 0x7f);
  return out;
}

// Feeds `bytes` in pieces of `step`, collecting messages; "" or the error.
std::pair<std::vector<WsMessage>, std::string> read_all(WsReader reader, std::string_view bytes, std::size_t step) {
  std::vector<WsMessage> messages;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    auto result = reader.feed(bytes.substr(at, step));
    for (auto& m : result.messages) messages.push_back(std::move(m));
    if (result.error) return {messages, *result.error};
  }
  return {messages, ""};
}

}  // namespace

TEST_CASE("websocket frames: a masked client message split over frames and reads arrives whole", "[egress-ws]") {
  const std::string token = "Bearer eyJdummy.access.codex";
  const std::string bytes = frame(false, 1, token.substr(0, 10)) + frame(true, 9, "ping!") +
                            frame(false, 0, token.substr(10, 5)) + frame(true, 0, token.substr(15));
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, bytes.size()}) {
    const auto [messages, error] = read_all(WsReader(WsReader::Sender::client, 1 << 20), bytes, step);
    CHECK(error.empty());
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].opcode == WsOpcode::ping);
    CHECK(messages[0].payload == "ping!");
    CHECK(messages[1].opcode == WsOpcode::text);
    CHECK(messages[1].payload == token);
    // The raw bytes of the data message are its three frames, for forwarding unchanged.
    CHECK(messages[1].raw == frame(false, 1, token.substr(0, 10)) + frame(false, 0, token.substr(10, 5)) +
                                 frame(true, 0, token.substr(15)));
  }
}

TEST_CASE("websocket frames: encode uses the shortest length form and reads back", "[egress-ws]") {
  for (std::size_t size :
       {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535}, std::size_t{65536}}) {
    const std::string payload(size, 'x');
    const std::string server = bottle::ws_encode(WsOpcode::binary, payload, std::nullopt);
    CHECK(server.size() == payload.size() + (size < 126 ? 2 : size <= 65535 ? 4 : 10));
    const auto [messages, error] = read_all(WsReader(WsReader::Sender::server, 1 << 20), server, server.size());
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].payload == payload);
    CHECK(messages[0].raw == server);
  }
  CHECK(bottle::ws_encode(WsOpcode::text, "Hi", mask) == std::string("\x81\x82\x12\x34\x56\x78\x5a\x5d", 8));
}

TEST_CASE("websocket frames: protocol violations are refused", "[egress-ws]") {
  const auto error_of = [](WsReader::Sender sender, const std::string& bytes, std::size_t max = 1 << 20) {
    return read_all(WsReader(sender, max), bytes, 1).second;
  };
  const auto client = WsReader::Sender::client;
  std::string rsv = frame(true, 1, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);  // RSV1: permessage-deflate, never negotiated
  CHECK(error_of(client, rsv) == "reserved bits set (no extension is negotiated)");
  CHECK(error_of(client, frame(true, 3, "x")) == "unknown opcode");
  CHECK(error_of(client, frame(true, 1, "x", false)) == "client frame not masked");
  CHECK(error_of(WsReader::Sender::server, frame(true, 1, "x")) == "server frame masked");
  CHECK(error_of(client, frame(false, 9, "x")) == "control frame fragmented or over 125 bytes");
  CHECK(error_of(client, frame(true, 9, std::string(126, 'p'))) == "control frame fragmented or over 125 bytes");
  CHECK(error_of(client, frame(true, 0, "x")) == "continuation frame without a message");
  CHECK(error_of(client, frame(false, 1, "a") + frame(true, 1, "b")) == "new message inside a fragmented one");
  CHECK(error_of(client, frame(false, 1, std::string(60, 'a')) + frame(true, 0, std::string(60, 'b')), 100) ==
        "message too large");
  CHECK(error_of(WsReader::Sender::server, std::string("\x81\x7e\x00\x05hello", 9)) ==
        "length not in its shortest form");
  CHECK(error_of(WsReader::Sender::server, std::string("\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10)) ==
        "64-bit length with its top bit set");
  // After an error, the reader stays failed.
  WsReader reader(client, 1 << 20);
  CHECK(reader.feed(frame(true, 3, "x")).error);
  CHECK(reader.feed(frame(true, 1, "ok")).error);
}
