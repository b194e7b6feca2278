#include "bottle/egress/reflect_scrub.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <set>

#include "core/ascii_text.hpp"
#include "core/utf8.hpp"

namespace bottle {

namespace {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// The inside of Python's json.dumps(value, ensure_ascii=...).
std::string json_escape(const std::vector<char32_t>& text, bool ensure_ascii) {
  std::string out;
  for (char32_t cp : text) {
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && (cp < 0x80 || !ensure_ascii)) {
      append_utf8(out, cp);
    } else if (cp < 0x10000) {  // a control character, or non-ASCII with ensure_ascii
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    } else {
      const char32_t v = cp - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", static_cast<unsigned>(0xd800 | (v >> 10)),
                         static_cast<unsigned>(0xdc00 | (v & 0x3ff)));
    }
  }
  return out;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// re.sub(r"\\u([0-9a-f]{4})", upper) and re.sub(r"%[0-9A-F]{2}", lower): a left-to-right
// scan for `lead` followed by `count` digits of `digit`, rewritten by `rewrite`.
template <typename Digit, typename Rewrite>
std::string rewrite_escapes(std::string_view text, std::string_view lead, std::size_t count, Digit digit,
                            Rewrite rewrite) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.substr(i, lead.size()) == lead && i + lead.size() + count <= text.size() &&
        std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i + lead.size()),
                    text.begin() + static_cast<std::ptrdiff_t>(i + lead.size() + count), digit)) {
      out.append(lead);
      for (std::size_t k = 0; k < count; ++k) out.push_back(rewrite(text[i + lead.size() + k]));
      i += lead.size() + count;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::vector<std::string> json_forms(const std::vector<char32_t>& text) {
  std::vector<std::string> forms;
  for (bool ensure_ascii : {true, false}) {
    const std::string escaped = json_escape(text, ensure_ascii);
    for (bool slash : {false, true}) {
      const std::string s = slash ? replace_all(escaped, "/", "\\/") : escaped;
      for (bool html : {false, true}) {
        const std::string h =
            html ? replace_all(replace_all(replace_all(s, "<", "\\u003c"), ">", "\\u003e"), "&", "\\u0026") : s;
        forms.push_back(h);
        forms.push_back(rewrite_escapes(h, "\\u", 4, is_lower_hex, to_upper));
      }
    }
  }
  return forms;
}

// Python's urllib.parse.quote on the UTF-8 bytes: unreserved characters and `safe`
// stay, everything else is %XX (upper case).
std::string url_quote(std::string_view bytes, std::string_view safe) {
  std::string out;
  for (char c : bytes) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                            c == '.' || c == '-' || c == '~';
    if (unreserved || safe.find(c) != std::string_view::npos) out.push_back(c);
    else out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

std::vector<std::string> url_forms(std::string_view bytes) {
  std::string plus = url_quote(bytes, " ");
  std::replace(plus.begin(), plus.end(), ' ', '+');
  std::vector<std::string> forms = {url_quote(bytes, ""), url_quote(bytes, "/"), plus};
  for (std::size_t i = 0; i < 3; ++i) forms.push_back(rewrite_escapes(forms[i], "%", 2, is_upper_hex, to_lower));
  return forms;
}

std::string base64_encode(std::string_view bytes, bool urlsafe) {
  const std::string_view alphabet = urlsafe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    for (int shift : {18, 12, 6, 0}) out.push_back(alphabet[(v >> shift) & 0x3f]);
  }
  return out;
}

// The 4-character groups encoding only the value's bytes when it starts `offset`
// bytes (mod 3) into the encoded data.
std::string base64_groups(std::string_view value, int offset, bool urlsafe) {
  const int skip = (3 - offset) % 3;
  const int size = static_cast<int>(value.size());
  if (size - skip < 3) return "";
  const int whole = (size - skip) / 3 * 3;
  return base64_encode(value.substr(static_cast<std::size_t>(skip), static_cast<std::size_t>(whole)), urlsafe);
}

}  // namespace

std::vector<ReflectNeedle> reflect_needles(std::string_view real, std::string_view dummy) {
  std::vector<ReflectNeedle> all = {{std::string(real), std::string(dummy), "raw", {}}};
  const auto add_pairs = [&](const std::vector<std::string>& reals, const std::vector<std::string>& dummies,
                             std::string_view encoding) {
    for (std::size_t i = 0; i < std::min(reals.size(), dummies.size()); ++i)
      all.push_back({reals[i], dummies[i], std::string(encoding), {}});
  };
  const auto real_text = decode_utf8(real);
  const auto dummy_text = decode_utf8(dummy);
  if (real_text && dummy_text) add_pairs(json_forms(*real_text), json_forms(*dummy_text), "json");
  add_pairs(url_forms(real), url_forms(dummy), "url");
  for (bool urlsafe : {false, true})
    for (int offset = 0; offset < 3; ++offset) {
      std::string find = base64_groups(real, offset, urlsafe);
      std::string replace = base64_groups(dummy, offset, urlsafe);
      if (!find.empty() && !replace.empty())
        all.push_back({std::move(find), std::move(replace), urlsafe ? "base64url" : "base64", {}});
    }

  std::stable_sort(all.begin(), all.end(),
                   [](const ReflectNeedle& a, const ReflectNeedle& b) { return a.find.size() > b.find.size(); });
  std::set<std::string> seen;
  std::vector<ReflectNeedle> out;
  for (ReflectNeedle& needle : all) {
    if (seen.contains(needle.find) || needle.find.size() < min_reflect_needle || needle.find == needle.replace)
      continue;
    seen.insert(needle.find);
    out.push_back(std::move(needle));
  }
  return out;
}

namespace {

void add_pair(std::array<std::uint64_t, 65536 / 64>& set, unsigned char first, unsigned char second) {
  const unsigned pair = (unsigned{first} << 8) | second;
  set[pair / 64] |= std::uint64_t{1} << (pair % 64);
}

bool has_pair(const std::array<std::uint64_t, 65536 / 64>& set, unsigned char first, unsigned char second) {
  const unsigned pair = (unsigned{first} << 8) | second;
  return ((set[pair / 64] >> (pair % 64)) & 1U) != 0;
}

}  // namespace

ReflectScrubber::ReflectScrubber(std::vector<ReflectNeedle> needles)
    : needles_(std::move(needles)), by_first_byte_(256) {
  std::stable_sort(needles_.begin(), needles_.end(),
                   [](const ReflectNeedle& a, const ReflectNeedle& b) { return a.find.size() > b.find.size(); });
  std::erase_if(needles_, [](const ReflectNeedle& needle) { return needle.find.empty(); });
  min_len_ = needles_.empty() ? 0 : needles_.back().find.size();
  for (std::size_t i = 0; i < needles_.size(); ++i) {
    const std::string& find = needles_[i].find;
    by_first_byte_[static_cast<unsigned char>(find.front())].push_back(i);
    max_len_ = std::max(max_len_, find.size());
    if (find.size() >= 2) add_pair(starts_, static_cast<unsigned char>(find[0]), static_cast<unsigned char>(find[1]));
    for (std::size_t j = 0; j + 1 < min_len_; ++j)
      add_pair(windows_, static_cast<unsigned char>(find[j]), static_cast<unsigned char>(find[j + 1]));
  }
}

// Most of egress's time on a download is spent here, so positions are ruled out
// cheaply. A needle starting at s covers s .. s+min_len_-1; with stride = min_len_-1,
// the pair at (i+stride-1, i+stride) lies inside every needle starting in
// i .. i+stride-1, so a pair that is in no needle's first min_len_ bytes skips all
// of those starts at once. A remaining position must still show a needle's first
// two bytes.
std::size_t ReflectScrubber::next_candidate(std::string_view data, std::size_t i, std::size_t last) const {
  if (min_len_ < 2) return i;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t stride = min_len_ - 1;
  while (i < last) {
    if (stride >= 2 && i + stride < data.size() && !has_pair(windows_, bytes[i + stride - 1], bytes[i + stride])) {
      i = std::min(i + stride, last);
      continue;
    }
    if (has_pair(starts_, bytes[i], bytes[i + 1])) return i;
    ++i;
  }
  return i;  // last, or past it after a match that ran beyond
}

ReflectScrubber::Result ReflectScrubber::replace(std::string_view data, std::size_t end) const {
  Result result;
  result.out.reserve(data.size());
  std::size_t i = 0;
  std::size_t copied = 0;  // data[copied, i) is still to be appended
  // No needle fits at or past `last`.
  const std::size_t fits = needles_.empty() || data.size() < min_len_ ? 0 : data.size() - min_len_ + 1;
  const std::size_t last = std::min(end, fits);
  while ((i = next_candidate(data, i, last)) < last) {
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(data[i])];
    const auto hit = std::find_if(candidates.begin(), candidates.end(),
                                  [&](std::size_t n) { return data.substr(i).starts_with(needles_[n].find); });
    if (hit == candidates.end()) {
      ++i;
      continue;
    }
    result.out.append(data.substr(copied, i - copied)).append(needles_[*hit].replace);
    result.hits.push_back(*hit);
    i += needles_[*hit].find.size();
    copied = i;
  }
  result.stop = std::max(i, std::min(end, data.size()));
  if (result.stop > copied) result.out.append(data.substr(copied, result.stop - copied));
  return result;
}

std::size_t ReflectScrubber::partial_start(std::string_view data) const {
  const std::size_t from = data.size() + 1 > max_len_ ? data.size() + 1 - max_len_ : 0;
  for (std::size_t j = from; j < data.size(); ++j) {
    const std::string_view tail = data.substr(j);
    for (std::size_t n : by_first_byte_[static_cast<unsigned char>(data[j])])
      if (needles_[n].find.size() > tail.size() && std::string_view(needles_[n].find).starts_with(tail)) return j;
  }
  return data.size();
}

std::string ReflectStream::feed(std::string_view chunk, std::vector<std::size_t>& hits) {
  if (carry_.empty()) {  // the usual case: scan the chunk where it is, keep only its tail
    const std::size_t hold = scrubber_.partial_start(chunk);
    ReflectScrubber::Result result = scrubber_.replace(chunk, hold);
    hits.insert(hits.end(), result.hits.begin(), result.hits.end());
    carry_.assign(chunk.substr(result.stop));
    return std::move(result.out);
  }
  carry_.append(chunk);
  const std::size_t hold = scrubber_.partial_start(carry_);
  ReflectScrubber::Result result = scrubber_.replace(carry_, hold);
  hits.insert(hits.end(), result.hits.begin(), result.hits.end());
  carry_.erase(0, result.stop);
  return std::move(result.out);
}

std::string ReflectStream::finish(std::vector<std::size_t>& hits) {
  ReflectScrubber::Result result = scrubber_.replace(carry_);
  hits.insert(hits.end(), result.hits.begin(), result.hits.end());
  carry_.clear();
  return std::move(result.out);
}

}  // namespace bottle
