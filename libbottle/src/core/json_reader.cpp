#include "core/json_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <boost/json/basic_parser_impl.hpp>

namespace bottle::detail {

namespace json = boost::json;

namespace {

json::parse_options reader_options() {
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  options.max_depth = 64;
  return options;
}

// A basic_parser handler that only tracks where it is. The DOM parser keeps one
// of two equal keys without a word, so `{"enforce": false, ..., "enforce": true}`
// would mean whatever the last line says; a reader must see one meaning only.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  /// "$.a[2].b" of the first repeated key, once one was seen.
  const std::optional<std::string>& duplicate() const { return duplicate_; }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return open(true); }
  bool on_object_end(std::size_t, boost::system::error_code&) { return close(); }
  bool on_array_begin(boost::system::error_code&) { return open(false); }
  bool on_array_end(std::size_t, boost::system::error_code&) { return close(); }
  bool on_key_part(json::string_view part, std::size_t, boost::system::error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, boost::system::error_code& ec) {
    key_.append(part.data(), part.size());
    Frame& frame = frames_.back();
    if (!frame.keys.insert(key_).second) {
      duplicate_ = path() + member_path(key_);
      ec = json::error::syntax;  // stops the parse; duplicate_ says why
      return false;
    }
    frame.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return value(); }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return value(); }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return value(); }
  bool on_double(double, json::string_view, boost::system::error_code&) { return value(); }
  bool on_bool(bool, boost::system::error_code&) { return value(); }
  bool on_null(boost::system::error_code&) { return value(); }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  struct Frame {
    bool object = false;
    std::set<std::string> keys;
    std::string key;        // the member being read, in an object
    std::size_t index = 0;  // the element being read, in an array
  };

  bool open(bool object) {
    frames_.push_back(Frame{.object = object});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return value();
  }
  // A value is complete: an array moves on to its next element.
  bool value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }
  std::string path() const {
    std::string out = "$";
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i)
      out += frames_[i].object ? member_path(frames_[i].key) : fmt::format("[{}]", frames_[i].index);
    return out;
  }

  std::vector<Frame> frames_;
  std::string key_;
  std::optional<std::string> duplicate_;
};

// Run only on text the DOM parser accepted, so a stop here is a repeated key.
std::optional<std::string> first_duplicate_key(std::string_view text) {
  json::basic_parser<DuplicateKeyFinder> parser(reader_options());
  boost::system::error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return parser.handler().duplicate();
}

}  // namespace

json::value parse_json_text(std::string_view text, std::string_view what) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: not valid JSON: starts with a byte order mark (save it as UTF-8 without one)", what));
  if (const auto bad = invalid_utf8_at(text))
    throw Error(ErrorKind::invalid_input, fmt::format("{}: not valid JSON: not UTF-8 at byte {}", what, *bad));
  json::parser parser({}, reader_options());
  boost::system::error_code ec;
  const std::size_t used = parser.write_some(text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (ec) {
    // Line and column of where parsing stopped, so the user can find it without
    // the message ever quoting the text (it may hold a secret).
    const std::string_view before = text.substr(0, std::min(used, text.size()));
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t newline = before.rfind('\n');
    const std::size_t column = before.size() - (newline == std::string_view::npos ? 0 : newline + 1) + 1;
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: not valid JSON at line {}, column {}: {}", what, line, column, ec.message()));
  }
  if (const auto duplicate = first_duplicate_key(text))
    throw_field_error(what, *duplicate, "duplicate key (each key may appear only once in an object)");
  return parser.release();
}

std::optional<std::size_t> invalid_utf8_at(std::string_view text) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t cp = 0, min = 0;
    if ((lead & 0xE0) == 0xC0) extra = 1, cp = lead & 0x1Fu, min = 0x80;
    else if ((lead & 0xF0) == 0xE0) extra = 2, cp = lead & 0x0Fu, min = 0x800;
    else if ((lead & 0xF8) == 0xF0) extra = 3, cp = lead & 0x07u, min = 0x10000;
    else return i;
    if (i + extra >= text.size()) return i;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += extra + 1;
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> json_pointer_tokens(std::string_view pointer) {
  if (pointer.empty() || pointer.front() != '/') return std::nullopt;
  std::vector<std::string> tokens;
  std::size_t start = 1;
  while (true) {
    const std::size_t slash = pointer.find('/', start);
    const std::string_view raw = pointer.substr(start, slash == std::string_view::npos ? slash : slash - start);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1'))
        token += raw[++i] == '1' ? '/' : '~';
      else token += raw[i];
    }
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) return tokens;
    start = slash + 1;
  }
}

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
  }
  if (text.size() > max) out += "...";
  return out;
}

// Keys are user input: a hostile key must not break the error line it appears in.
std::string member_path(std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (plain) return "." + std::string(key);
  return "[" + json::serialize(json::value(json::string_view(key.data(), key.size()))) + "]";
}

namespace {

void write_pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& m : o) {
      if (!first) out += ",\n";
      first = false;
      out += inner + json::serialize(json::value(m.key())) + ": ";
      write_pretty(out, m.value(), indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (i != 0) out += ",\n";
      out += inner;
      write_pretty(out, a[i], indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string pretty_json(const json::value& value) {
  std::string out;
  write_pretty(out, value, 0);
  out += "\n";
  return out;
}

void throw_field_error(std::string_view what, std::string_view path, std::string_view problem) {
  throw Error(ErrorKind::invalid_input, std::string(path), std::string(problem), what);
}

const json::object& JsonField::object() const {
  if (!value_.is_object()) fail("must be an object");
  return value_.get_object();
}

const json::array& JsonField::array() const {
  if (!value_.is_array()) fail("must be an array");
  return value_.get_array();
}

std::string JsonField::string() const {
  if (!value_.is_string()) fail("must be a string");
  std::string s(value_.get_string());
  if (s.find('\0') != std::string::npos) fail("must not contain NUL bytes");
  return s;
}

bool JsonField::boolean() const {
  if (!value_.is_bool()) fail("must be true or false");
  return value_.get_bool();
}

long long JsonField::integer(long long min, long long max) const {
  long long n = 0;
  if (value_.is_int64()) {
    n = value_.get_int64();
  } else if (value_.is_uint64()) {
    fail(fmt::format("must be an integer from {} to {}", min, max));
  } else {
    fail("must be an integer");
  }
  if (n < min || n > max) fail(fmt::format("must be an integer from {} to {}", min, max));
  return n;
}

void JsonField::only_keys(std::initializer_list<std::string_view> allowed) const {
  for (const auto& member : object()) {
    bool known = false;
    for (auto a : allowed) known = known || member.key() == a;
    if (!known) {
      std::string names;
      for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      throw_field_error(what_, path_ + member_path(member.key()), "unknown key (known keys: " + names + ")");
    }
  }
}

bool JsonField::with(std::string_view key, const std::function<void(const JsonField&)>& fn) const {
  const auto& obj = object();
  const auto it = obj.find(key);
  if (it == obj.end()) return false;
  fn(JsonField(it->value(), path_ + member_path(key), what_));
  return true;
}

void JsonField::each(const std::function<void(const JsonField&)>& fn) const {
  const auto& arr = array();
  for (std::size_t i = 0; i < arr.size(); ++i) fn(JsonField(arr[i], fmt::format("{}[{}]", path_, i), what_));
}

void JsonField::each_member(const std::function<void(const std::string&, const JsonField&)>& fn) const {
  for (const auto& member : object()) {
    const std::string key(member.key());
    fn(key, JsonField(member.value(), path_ + member_path(key), what_));
  }
}

}  // namespace bottle::detail
