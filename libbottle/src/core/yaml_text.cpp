#include "core/yaml_text.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

#include "bottle/core/error.hpp"

namespace bottle::detail {
namespace {

// Decode one UTF-8 sequence at `i`, advancing it. Rejects overlong forms, surrogates
// and values above U+10FFFF: YAML streams must be Unicode, so such bytes cannot be
// represented at all (\xNN in YAML names the code point U+00NN, not a byte).
std::optional<std::uint32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t lead = byte(i);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  std::size_t extra = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1Fu, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0Fu, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07u, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + extra >= s.size()) return std::nullopt;  // truncated sequence
  for (std::size_t k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += extra + 1;
  return cp;
}

}  // namespace

std::string yaml_quoted(std::string_view text, std::string_view field) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto cp = next_code_point(text, i);
    if (!cp) throw Error(ErrorKind::invalid_input, fmt::format("pipelock config: {}: is not valid UTF-8", field));
    const std::uint32_t c = *cp;
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\0': out += "\\0"; continue;
      case '\t': out += "\\t"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      default: break;
    }
    // Everything outside printable ASCII is escaped, including U+0085, U+2028 and
    // U+2029 (line breaks to YAML 1.1 parsers) and U+FEFF (a BOM mid-stream).
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else if (c < 0x100) {
      out += fmt::format("\\x{:02X}", c);
    } else if (c < 0x10000) {
      out += fmt::format("\\u{:04X}", c);
    } else {
      out += fmt::format("\\U{:08X}", c);
    }
  }
  out += '"';
  return out;
}

}  // namespace bottle::detail
