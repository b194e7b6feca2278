#pragma once
// UTF-8 decoding for the places that must treat bytes as text the way Python does
// (the egress addon's semantics): strict, no overlong forms, no surrogates.

#include <optional>
#include <string_view>
#include <vector>

namespace bottle {

/// The code points of `text`; nullopt when it is not valid UTF-8.
std::optional<std::vector<char32_t>> decode_utf8(std::string_view text);

}  // namespace bottle
