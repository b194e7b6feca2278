#include "bottle/egress/websocket_frames.hpp"

namespace bottle {

namespace {

bool is_control(std::uint8_t opcode) { return opcode >= 8; }
bool is_known(std::uint8_t opcode) { return opcode <= 2 || (opcode >= 8 && opcode <= 10); }

// One frame parsed from the front of `data`; size 0: incomplete.
struct Frame {
  std::size_t size = 0;
  bool fin = false;
  std::uint8_t opcode = 0;
  std::string payload;
};

struct Parsed {
  Frame frame;
  std::optional<std::string> error;
};

Parsed parse_frame(std::string_view data, bool masked_expected, std::size_t max_payload) {
  Parsed out;
  if (data.size() < 2) return out;
  const auto b0 = static_cast<std::uint8_t>(data[0]);
  const auto b1 = static_cast<std::uint8_t>(data[1]);
  if (b0 & 0x70) return {{}, "reserved bits set (no extension is negotiated)"};
  const std::uint8_t opcode = b0 & 0x0f;
  if (!is_known(opcode)) return {{}, "unknown opcode"};
  const bool fin = (b0 & 0x80) != 0;
  const bool masked = (b1 & 0x80) != 0;
  if (masked != masked_expected) return {{}, masked_expected ? "client frame not masked" : "server frame masked"};
  std::uint64_t length = b1 & 0x7f;
  std::size_t at = 2;
  if (length == 126) {
    if (data.size() < 4) return out;
    length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(data[2])) << 8) | static_cast<std::uint8_t>(data[3]);
    if (length < 126) return {{}, "length not in its shortest form"};
    at = 4;
  } else if (length == 127) {
    if (data.size() < 10) return out;
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(data[i]);
    if (length >> 63) return {{}, "64-bit length with its top bit set"};
    if (length <= 0xffff) return {{}, "length not in its shortest form"};
    at = 10;
  }
  if (is_control(opcode) && (!fin || length > 125)) return {{}, "control frame fragmented or over 125 bytes"};
  if (length > max_payload) return {{}, "message too large"};
  std::array<std::uint8_t, 4> mask{};
  if (masked) {
    if (data.size() < at + 4) return out;
    for (std::size_t i = 0; i < 4; ++i) mask[i] = static_cast<std::uint8_t>(data[at + i]);
    at += 4;
  }
  if (data.size() - at < length) return out;
  out.frame.payload.assign(data.substr(at, static_cast<std::size_t>(length)));
  if (masked)
    for (std::size_t i = 0; i < out.frame.payload.size(); ++i)
      out.frame.payload[i] = static_cast<char>(static_cast<std::uint8_t>(out.frame.payload[i]) ^ mask[i % 4]);
  out.frame.size = at + static_cast<std::size_t>(length);
  out.frame.fin = fin;
  out.frame.opcode = opcode;
  return out;
}

}  // namespace

WsReader::Step WsReader::feed(std::string_view bytes) {
  Step step;
  const auto fail = [&](std::string error) {
    failed_ = true;
    step.error = std::move(error);
    return step;
  };
  if (failed_) return fail("connection already failed");
  buffer_.append(bytes);
  std::size_t offset = 0;
  while (true) {
    const std::size_t held = fragmented_ ? fragmented_->payload.size() : 0;
    Parsed parsed = parse_frame(std::string_view(buffer_).substr(offset), sender_ == Sender::client,
                                max_message_ - std::min(held, max_message_));
    if (parsed.error) return fail(*parsed.error);
    Frame& frame = parsed.frame;
    if (frame.size == 0) break;
    const std::string_view raw = std::string_view(buffer_).substr(offset, frame.size);
    offset += frame.size;

    if (is_control(frame.opcode)) {
      step.messages.push_back({static_cast<WsOpcode>(frame.opcode), std::move(frame.payload), std::string(raw)});
      continue;
    }
    if (frame.opcode == 0) {
      if (!fragmented_) return fail("continuation frame without a message");
      fragmented_->payload += frame.payload;
      fragmented_->raw += raw;
    } else {
      if (fragmented_) return fail("new message inside a fragmented one");
      fragmented_ = WsMessage{static_cast<WsOpcode>(frame.opcode), std::move(frame.payload), std::string(raw)};
    }
    if (frame.fin) {
      step.messages.push_back(std::move(*fragmented_));
      fragmented_.reset();
    }
  }
  buffer_.erase(0, offset);
  return step;
}

std::string ws_encode(WsOpcode opcode, std::string_view payload, std::optional<std::array<std::uint8_t, 4>> mask) {
  std::string out;
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  const std::uint8_t mask_bit = mask ? 0x80 : 0;
  const std::uint64_t length = payload.size();
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    for (int shift : {8, 0}) out.push_back(static_cast<char>((length >> shift) & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  if (!mask) return out.append(payload);
  for (std::uint8_t byte : *mask) out.push_back(static_cast<char>(byte));
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ (*mask)[i % 4]));
  return out;
}

}  // namespace bottle
