#include "bottle/core/base64url.hpp"

#include <array>
#include <cstdint>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "bottle/core/error.hpp"

namespace bottle {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int invalid = -1;

constexpr std::array<int, 256> make_decode_table() {
  std::array<int, 256> table{};
  for (auto& v : table) v = invalid;
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  return table;
}

constexpr std::array<int, 256> decode_table = make_decode_table();

// Only characters outside the alphabet are ever described, so no letter or digit
// of a token can end up in a message; control bytes are shown as hex so the
// message stays on one line.
std::string describe(unsigned char c) {
  if (c > 0x20 && c < 0x7f) {
    std::string text = fmt::format("'{}'", static_cast<char>(c));
    if (c == '+' || c == '/') text += " (standard base64, not base64url)";
    return text;
  }
  return fmt::format("byte 0x{:02x}", static_cast<unsigned>(c));
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = at(i) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
  }
  return out;
}

std::string base64url_decode(std::string_view text, std::string_view what) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '=')
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: '=' padding at position {} (base64url here must be unpadded)", what, i));
    if (decode_table[c] == invalid)
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: invalid base64url character {} at position {}", what, describe(c), i));
  }
  if (text.size() % 4 == 1)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: impossible base64url length {} (4n+1 characters)", what, text.size()));

  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    acc = (acc << 6) | static_cast<std::uint32_t>(decode_table[static_cast<unsigned char>(ch)]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero: otherwise two different strings decode to the same
  // bytes, and Codex's decoder would refuse the token anyway.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: non-canonical base64url (stray bits in the last character)", what));
  return out;
}

std::string system_random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (urandom && urandom.read(out.data(), static_cast<std::streamsize>(n))) return out;
  // /dev/urandom can be missing in odd chroots; random_device is the portable
  // fallback (on glibc it is getrandom()-backed).
  try {
    std::random_device device;
    for (auto& c : out) c = static_cast<char>(device() & 0xff);
    return out;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::io, fmt::format("cannot get random bytes: /dev/urandom unreadable and "
                                           "std::random_device failed: {}",
                                           e.what()));
  }
}

namespace {

std::string take_random(std::size_t n, const RandomSource& random) {
  std::string bytes = random(n);
  if (bytes.size() != n)
    throw Error(ErrorKind::internal,
                fmt::format("random source returned {} bytes, {} were asked for", bytes.size(), n));
  return bytes;
}

}  // namespace

std::string random_base64url(std::size_t n, const RandomSource& random) {
  return base64url_encode(take_random(n, random));
}

std::string random_hex(std::size_t n, const RandomSource& random) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (char c : take_random(n, random)) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

}  // namespace bottle
