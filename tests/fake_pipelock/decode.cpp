#include "decode.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <regex>
#include <string_view>

#include "schema.hpp"

namespace fake_pipelock {
namespace {

constexpr std::string_view core_prefix = "tag:yaml.org,2002:";

bool is_null(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }
int line_of(const YAML::Node& node) { return node.Mark().line + 1; }

bool matches(const std::string& text, const char* pattern) { return std::regex_match(text, std::regex(pattern)); }

// yaml.v3 accepts these words when the target is a Go bool (YAML 1.1 compatibility).
bool bool_word(const std::string& text, bool& value) {
  static const std::map<std::string, bool> words = {
      {"true", true}, {"True", true}, {"TRUE", true}, {"false", false}, {"False", false}, {"FALSE", false},
      {"yes", true},  {"Yes", true},  {"YES", true},  {"no", false},    {"No", false},    {"NO", false},
      {"on", true},   {"On", true},   {"ON", true},   {"off", false},   {"Off", false},   {"OFF", false}};
  const auto it = words.find(text);
  if (it == words.end()) return false;
  value = it->second;
  return true;
}

bool int_text(const std::string& t) {
  return matches(t, "[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|0[0-7_]+)");
}
bool float_text(const std::string& t) {
  return matches(t, "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?") ||
         matches(t, "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
}

// The short tag yaml.v3 would resolve a scalar to: "!!str" for quoted scalars,
// otherwise by the YAML 1.2 core schema for plain ones; explicit tags as written.
std::string scalar_tag(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "!") return "!!str";
  if (tag == "?" || tag.empty()) {
    const std::string& t = node.Scalar();
    bool b = false;
    if ((t == "true" || t == "false" || t == "True" || t == "False" || t == "TRUE" || t == "FALSE") && bool_word(t, b))
      return "!!bool";
    if (int_text(t)) return "!!int";
    if (float_text(t)) return "!!float";
    return "!!str";
  }
  if (tag.rfind(core_prefix, 0) == 0) return "!!" + tag.substr(core_prefix.size());
  return tag;
}

std::string node_tag(const YAML::Node& node) {
  if (node.IsMap()) return "!!map";
  if (node.IsSequence()) return "!!seq";
  return scalar_tag(node);
}

class Decoder {
 public:
  std::vector<std::string> errors;

  void object(const YAML::Node& node, const Type& type) {
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        fail(key, "cannot unmarshal " + node_tag(key) + " into string (mapping key)");
        continue;
      }
      const std::string& name = key.Scalar();
      if (const auto [prev, fresh] = seen.emplace(name, line_of(key)); !fresh) {
        fail(key, "mapping key " + go_quote(name) + " already defined at line " + std::to_string(prev->second));
        continue;
      }
      const auto field =
          std::find_if(type.fields.begin(), type.fields.end(), [&](const Field& f) { return f.key == name; });
      if (field == type.fields.end()) {
        fail(key, "field " + name + " not found in type config." + std::string(type.go_name));
        continue;
      }
      decode(value, *field);
    }
  }

 private:
  void fail(const YAML::Node& at, const std::string& message) {
    errors.push_back("line " + std::to_string(line_of(at)) + ": " + message);
  }
  void mismatch(const YAML::Node& value, const std::string& target) {
    std::string shown = node_tag(value);
    if (value.IsScalar()) {
      std::string text = value.Scalar();
      if (text.size() > 40) text = text.substr(0, 37) + "...";
      shown += " `" + text + "`";
    }
    fail(value, "cannot unmarshal " + shown + " into " + target);
  }
  // Tags yaml.v3 knows; anything else (e.g. "!!python/object") is refused here.
  bool known_tag(const YAML::Node& value) {
    const std::string tag = scalar_tag(value);
    static const char* const known[] = {"!!str", "!!int", "!!float", "!!bool", "!!null", "!!binary", "!!timestamp"};
    if (std::find(std::begin(known), std::end(known), tag) != std::end(known)) return true;
    fail(value, "cannot decode " + tag + " `" + value.Scalar().substr(0, 40) + "`: unknown tag");
    return false;
  }

  void scalar(const YAML::Node& value, Kind kind, const std::string& target) {
    if (!value.IsScalar()) return mismatch(value, target);
    if (!known_tag(value)) return;
    const std::string tag = scalar_tag(value);
    bool b = false;
    switch (kind) {
      case Kind::integer:
        if (tag != "!!int") mismatch(value, target);
        break;
      case Kind::number:
        if (tag != "!!int" && tag != "!!float") mismatch(value, target);
        break;
      case Kind::boolean:
        if (!(tag == "!!bool" || (tag == "!!str" && value.Tag() != "!" && bool_word(value.Scalar(), b))))
          mismatch(value, target);
        break;
      default: break;  // yaml.v3 sets a Go string from any scalar
    }
  }

  void decode(const YAML::Node& value, const Field& field) {
    if (is_null(value)) return;  // null leaves the Go zero value (or the security default)
    const std::string target = go_type_name(field);
    switch (field.kind) {
      case Kind::integer:
      case Kind::number:
      case Kind::boolean:
      case Kind::string: return scalar(value, field.kind, target);
      case Kind::strings:
        if (!value.IsSequence()) return mismatch(value, target);
        for (const auto& item : value)
          if (!is_null(item)) scalar(item, Kind::string, "string");
        return;
      case Kind::object:
        if (!value.IsMap()) return mismatch(value, target);
        return object(value, *field.type);
      case Kind::objects:
        if (!value.IsSequence()) return mismatch(value, target);
        for (const auto& item : value) {
          if (is_null(item)) continue;
          if (!item.IsMap()) mismatch(item, "config." + std::string(field.type->go_name));
          else object(item, *field.type);
        }
        return;
      case Kind::named:
        if (!value.IsMap()) return mismatch(value, target);
        for (auto it = value.begin(); it != value.end(); ++it) {
          if (is_null(it->second)) continue;
          if (!it->second.IsMap()) mismatch(it->second, "config." + std::string(field.type->go_name));
          else object(it->second, *field.type);
        }
        return;
    }
  }
};

}  // namespace

std::vector<std::string> decode_errors(const YAML::Node& document) {
  Decoder decoder;
  if (is_null(document)) return {};
  if (!document.IsMap()) {
    std::string tag = node_tag(document);
    return {"line " + std::to_string(line_of(document)) + ": cannot unmarshal " + tag + " into config.Config"};
  }
  decoder.object(document, config_type());
  return decoder.errors;
}

// Recursion instead of reassigning one Node: yaml-cpp's Node::operator= overwrites
// the referenced node's contents rather than rebinding the handle.
YAML::Node lookup_from(const YAML::Node& node, const char* const* first, const char* const* last) {
  if (first == last) return node;
  if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node child = node[*first];  // const operator[] never inserts
  if (!child.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
  return lookup_from(child, first + 1, last);
}

YAML::Node lookup(const YAML::Node& root, std::initializer_list<const char*> path) {
  return lookup_from(root, path.begin(), path.end());
}

bool bool_or(const YAML::Node& node, bool fallback) {
  if (is_null(node) || !node.IsScalar()) return fallback;
  bool value = fallback;
  return bool_word(node.Scalar(), value) ? value : fallback;
}

long long int_or(const YAML::Node& node, long long fallback) {
  if (is_null(node) || !node.IsScalar()) return fallback;
  std::string text = node.Scalar();
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  try {
    return std::stoll(text, nullptr, 0);
  } catch (const std::exception&) { return fallback; }
}

std::string string_or(const YAML::Node& node, const std::string& fallback) {
  if (is_null(node) || !node.IsScalar()) return fallback;
  return node.Scalar();
}

std::vector<std::string> strings_of(const YAML::Node& node) {
  std::vector<std::string> out;
  if (is_null(node) || !node.IsSequence()) return out;
  for (const auto& item : node) out.push_back(is_null(item) ? std::string() : item.Scalar());
  return out;
}

std::string go_quote(const std::string& text) {
  std::string out = "\"";
  for (const char ch : text.size() > 200 ? text.substr(0, 200) : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') out += '\\', out += ch;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out += ch;
  }
  out += text.size() > 200 ? "\"..." : "\"";
  return out;
}

}  // namespace fake_pipelock
