#include "bottle/kube/kube_yaml.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "bottle/core/error.hpp"
#include "core/yaml_text.hpp"

namespace bottle {
namespace {

namespace json = boost::json;

// Plain keys must not change meaning under any YAML version: YAML 1.1 reads these
// words (any case) as booleans or null.
bool plain_key(std::string_view key) {
  if (key.empty() || std::isalpha(static_cast<unsigned char>(key.front())) == 0) return false;
  const bool simple = std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '/' || c == '-';
  });
  if (!simple) return false;
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  constexpr std::array<std::string_view, 10> words{"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nil"};
  return std::find(words.begin(), words.end(), lower) == words.end();
}

// yaml_quoted's own message names the pipelock config; say which object field it is.
std::string quoted(std::string_view text, const std::string& path) {
  try {
    return detail::yaml_quoted(text, path);
  } catch (const Error&) { throw Error(ErrorKind::invalid_input, path, "is not valid UTF-8", "kubernetes object"); }
}

std::string key_text(std::string_view key, const std::string& path) {
  return plain_key(key) ? std::string(key) : quoted(key, path);
}

bool is_nested(const json::value& v) {
  return (v.is_object() && !v.get_object().empty()) || (v.is_array() && !v.get_array().empty());
}

std::string scalar_text(const json::value& v, const std::string& path) {
  switch (v.kind()) {
    case json::kind::string: return quoted(std::string_view(v.get_string()), path);
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::null: return "null";
    case json::kind::object: return "{}";
    case json::kind::array: return "[]";
    case json::kind::double_: break;
  }
  throw Error(ErrorKind::invalid_input, path, "is not an integer", "kubernetes object");
}

void emit(const json::value& v, std::size_t indent, const std::string& path, std::string& out);

// A sequence item: its content rendered one level deeper, with the first line's
// indentation replaced by "- ".
void emit_item(const json::value& item, std::size_t indent, const std::string& path, std::string& out) {
  if (!is_nested(item)) {
    out += fmt::format("{:{}}- {}\n", "", indent, scalar_text(item, path));
    return;
  }
  std::string inner;
  emit(item, indent + 2, path, inner);
  inner.replace(indent, 2, "- ");
  out += inner;
}

void emit(const json::value& v, std::size_t indent, const std::string& path, std::string& out) {
  if (v.is_array()) {
    std::size_t i = 0;
    for (const auto& item : v.get_array()) emit_item(item, indent, fmt::format("{}[{}]", path, i++), out);
    return;
  }
  for (const auto& entry : v.get_object()) {
    const std::string key(entry.key());
    const std::string child = path.empty() ? key : path + "." + key;
    const json::value& value = entry.value();
    out += fmt::format("{:{}}{}:", "", indent, key_text(key, child));
    if (!is_nested(value)) {
      out += " " + scalar_text(value, child) + "\n";
    } else {
      out += "\n";
      // Sequences sit at their key's indentation, mappings one level deeper.
      emit(value, value.is_array() ? indent : indent + 2, child, out);
    }
  }
}

}  // namespace

std::string kube_yaml_document(const boost::json::object& object) {
  std::string out;
  emit(json::value(object), 0, "", out);
  if (out.empty()) out = "{}\n";
  return out;
}

std::string kube_yaml_stream(const std::vector<boost::json::object>& objects) {
  std::string out;
  for (const auto& object : objects) out += "---\n" + kube_yaml_document(object);
  return out;
}

}  // namespace bottle
