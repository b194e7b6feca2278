#pragma once
// Internal: typed, path-tracking access to parsed JSON, so every validation error
// names the field ("$.workspaces[0].host") and what is wrong.

#include <boost/json.hpp>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/error.hpp"

namespace bottle::detail {

/// Parse JSON text allowing comments and trailing commas. `what` prefixes errors
/// ("spec", "auth.json"), which say where the text stops being JSON ("spec: not
/// valid JSON at line 3, column 7: syntax error") or at which byte it stops being
/// UTF-8, and never quote the text. A key repeated within one object is an error
/// too ("spec: $.egress.enabled: duplicate key ..."): the text must have one
/// meaning. Throws Error(invalid_input).
boost::json::value parse_json_text(std::string_view text, std::string_view what);

/// The offset of the first byte that does not belong to a well-formed UTF-8
/// sequence (overlong forms, surrogates and code points above U+10FFFF are not
/// well-formed); nullopt when all of `text` is UTF-8.
std::optional<std::size_t> invalid_utf8_at(std::string_view text);

/// `text` made safe to quote in a one-line message: printable ASCII is kept, every
/// other byte becomes \xNN, and anything past `max` bytes becomes "...".
std::string printable(std::string_view text, std::size_t max = 64);

/// The reference tokens of an RFC 6901 pointer, unescaped ("/a/b~1c" -> {"a",
/// "b/c"}; "~1" is '/', "~0" is '~'); nullopt unless it starts with '/'.
std::optional<std::vector<std::string>> json_pointer_tokens(std::string_view pointer);

/// ".key" for plain keys, otherwise ["escaped key"], so hostile keys stay on one line.
std::string member_path(std::string_view key);

/// JSON text with 2-space indentation and a trailing newline.
std::string pretty_json(const boost::json::value& value);

[[noreturn]] void throw_field_error(std::string_view what, std::string_view path, std::string_view problem);

/// A view of one JSON value with its path.
class JsonField {
 public:
  JsonField(const boost::json::value& value, std::string path, std::string_view what)
      : value_(value), path_(std::move(path)), what_(what) {}

  const std::string& path() const { return path_; }
  const boost::json::value& value() const { return value_; }
  /// What the document is called in errors ("spec", a file name).
  std::string_view what() const { return what_; }
  [[noreturn]] void fail(std::string_view problem) const { throw_field_error(what_, path_, problem); }

  const boost::json::object& object() const;
  const boost::json::array& array() const;
  /// A string without NUL bytes.
  std::string string() const;
  bool boolean() const;
  /// An integer in [min, max].
  long long integer(long long min, long long max) const;

  /// Reject keys outside `allowed`.
  void only_keys(std::initializer_list<std::string_view> allowed) const;
  /// Call `fn` with the member `key` if present.
  bool with(std::string_view key, const std::function<void(const JsonField&)>& fn) const;
  /// Call `fn` for each array element.
  void each(const std::function<void(const JsonField&)>& fn) const;
  /// Call `fn(key, field)` for each object member.
  void each_member(const std::function<void(const std::string&, const JsonField&)>& fn) const;

 private:
  const boost::json::value& value_;
  std::string path_;
  std::string_view what_;
};

}  // namespace bottle::detail
