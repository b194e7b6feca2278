#pragma once
// Small byte-level text helpers. The egress code's follow Python's semantics for each
// (str.replace, str.lower on ASCII, urllib's unquote).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

/// Every non-overlapping occurrence of `from`, left to right, replaced by `to`.
/// Builds a new string rather than editing in place.
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

/// The items of a `separator`-separated list, empty ones included ("a::b" is a, "", b;
/// "" is one empty item). The views point into `text`.
inline std::vector<std::string_view> split_list(std::string_view text, char separator) {
  std::vector<std::string_view> items;
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find(separator, start);
    items.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return items;
    start = end + 1;
  }
}

/// A-Z lowered; every other byte as it is.
inline std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// A decimal of 1-19 digits (fits in 63 bits); nullopt otherwise (a sign, a space,
/// anything but digits).
inline std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

/// 0-15 for a hex digit, -1 otherwise.
inline int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// %XX decoded to its byte; a '%' without two hex digits after it stays as written.
/// With `plus_is_space`, '+' is a space (form encoding, unquote_plus).
inline std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit_value(text[i + 1]) >= 0 &&
               hex_digit_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit_value(text[i + 1]) * 16 + hex_digit_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace bottle
