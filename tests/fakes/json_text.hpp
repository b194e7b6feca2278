// Minimal JSON text helpers shared by the fakes. They write JSON Lines logs whose
// values come straight from argv and the environment, so escaping must be exact.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace fake_json {

// Escapes like serde_json: quote, backslash and control characters; bytes >= 0x80 pass
// through untouched so UTF-8 stays readable.
inline std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(byte));
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

inline std::string string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) { out.push_back(','); }
    out += quote(items[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace fake_json
