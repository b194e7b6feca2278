#pragma once
// Strict decoding of a parsed YAML document against the schema table, the way
// yaml.v3 with KnownFields(true) decodes into config.Config, plus the small YAML
// helpers the cross-field checks read values with.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace fake_pipelock {

/// yaml.v3-style error lines ("line 4: field foo not found in type config.DLP",
/// "line 2: cannot unmarshal !!str `x` into int", duplicate keys); empty when the
/// document decodes.
std::vector<std::string> decode_errors(const YAML::Node& document);

/// The node at `path` under `root`, or an undefined node when any step is missing.
YAML::Node lookup(const YAML::Node& root, std::initializer_list<const char*> path);
/// Scalar readers for nodes decode_errors accepted; absent or null gives `fallback`.
bool bool_or(const YAML::Node& node, bool fallback);
long long int_or(const YAML::Node& node, long long fallback);
std::string string_or(const YAML::Node& node, const std::string& fallback);
/// A []string field; absent or null gives an empty list.
std::vector<std::string> strings_of(const YAML::Node& node);

/// `text` as Go's %q would print it (quoted, escaped), shortened when very long.
std::string go_quote(const std::string& text);

}  // namespace fake_pipelock
