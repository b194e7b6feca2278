#pragma once
// The pipelock v2.3.0 config schema as one table (reference/pipelock-config.md §2-§5;
// the Go type is `Config` in internal/config/schema.go). Each struct lists its keys;
// a key not listed is "not found in type config.<Type>", as yaml.v3 KnownFields(true)
// reports it. Where the reference names only some keys of a feature this fake does
// not need, only those keys are listed: the fake then errs towards FAILED, never OK.

#include <span>
#include <string>
#include <string_view>

namespace fake_pipelock {

enum class Kind {
  integer,  ///< Go int / int64: plain integer scalar
  number,   ///< Go float64
  boolean,  ///< Go bool / *bool: plain true/false (yes/no/on/off too); null allowed
  string,   ///< Go string: any scalar; null leaves ""
  strings,  ///< Go []string: sequence of scalars
  object,   ///< Go struct: mapping with the keys of `type`
  objects,  ///< Go []struct: sequence of mappings of `type`
  named,    ///< Go map[string]struct: mapping name -> mapping of `type`
};

struct Type;

struct Field {
  std::string_view key;
  Kind kind;
  const Type* type = nullptr;  ///< for object / objects / named
};

struct Type {
  std::string_view go_name;  ///< "Config", "TLSInterception", ... (errors say config.<name>)
  std::span<const Field> fields;
};

/// The root type, `config.Config`.
const Type& config_type();

/// "int", "bool", "[]string", "config.X" — as yaml.v3 names the target in errors.
std::string go_type_name(const Field& field);

}  // namespace fake_pipelock
