#pragma once
// replace_all: every non-overlapping occurrence of `from`, left to right, replaced by
// `to` (Python's str.replace, which the egress semantics follow). Builds a new string
// rather than editing in place.

#include <string>
#include <string_view>

namespace bottle {

inline std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  std::size_t pos = 0;
  for (std::size_t at = text.find(from); at != std::string_view::npos; at = text.find(from, pos)) {
    out.append(text.substr(pos, at - pos)).append(to);
    pos = at + from.size();
  }
  return out.append(text.substr(pos));
}

}  // namespace bottle
