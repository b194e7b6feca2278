#pragma once
// WebSocket frames (RFC 6455 §5) for bottle-egress: after a 101, egress reads both
// directions as whole messages, so a client message can be scanned for dummies (one
// split across frames included) before any of it goes upstream, and a server message
// can be reverse-swapped before the bottle sees it. Pure and incremental.
//
// Strict, because egress strips Sec-WebSocket-Extensions from the upgrade request (no
// compression: a deflated payload would hide a dummy): refused are RSV bits, unknown
// opcodes, an unmasked client frame or a masked server frame, a control frame over 125
// bytes or fragmented, a continuation with no message to continue, a new data frame
// inside a fragmented message, a 64-bit length with its top bit set or a length in a
// longer form than needed, and a message over max_message bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

enum class WsOpcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

struct WsMessage {
  WsOpcode opcode = WsOpcode::binary;  ///< text, binary, close, ping or pong
  std::string payload;                 ///< unmasked, all fragments joined
  std::string raw;                     ///< the frames as they came (to forward unchanged)
  bool operator==(const WsMessage&) const = default;
};

class WsReader {
 public:
  enum class Sender { client, server };  ///< client frames are masked, server frames are not
  WsReader(Sender sender, std::size_t max_message) : sender_(sender), max_message_(max_message) {}

  struct Step {
    std::vector<WsMessage> messages;   ///< completed, in order (control frames may come between fragments)
    std::optional<std::string> error;  ///< set: a protocol error; close the connection
  };
  /// Read `bytes`; everything is consumed (an incomplete frame waits inside).
  Step feed(std::string_view bytes);

 private:
  Sender sender_;
  std::size_t max_message_;
  std::string buffer_;                   ///< bytes of the current, incomplete frame
  std::optional<WsMessage> fragmented_;  ///< a data message whose final frame has not come
  bool failed_ = false;
};

/// One final frame of `opcode` holding `payload`, in the shortest length form; masked with `mask` when
/// given (a client frame must be).
std::string ws_encode(WsOpcode opcode, std::string_view payload, std::optional<std::array<std::uint8_t, 4>> mask);

}  // namespace bottle
