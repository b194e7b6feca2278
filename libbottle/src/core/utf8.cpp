#include "core/utf8.hpp"

#include <array>

namespace bottle {

std::optional<std::vector<char32_t>> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t cp = 0;
    if (b < 0x80) cp = b;
    else if ((b & 0xe0) == 0xc0) extra = 1, cp = b & 0x1f;
    else if ((b & 0xf0) == 0xe0) extra = 2, cp = b & 0x0f;
    else if ((b & 0xf8) == 0xf0) extra = 3, cp = b & 0x07;
    else return std::nullopt;
    if (extra > 0 && i + static_cast<std::size_t>(extra) >= text.size()) return std::nullopt;
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((c & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr std::array<char32_t, 4> min_for_length = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[static_cast<std::size_t>(extra)] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return std::nullopt;
    out.push_back(cp);
    i += 1 + static_cast<std::size_t>(extra);
  }
  return out;
}

}  // namespace bottle
