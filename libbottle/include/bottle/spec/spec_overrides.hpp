#pragma once
// Command-line flags that set or override spec fields, shared by `create` and
// `config show`. Parsing is separate from applying, so both are testable.

#include <optional>
#include <string>
#include <vector>

#include "bottle/spec/spec.hpp"

namespace bottle {

struct SpecOverrides {
  std::optional<std::string> spec_file;
  std::optional<std::string> name;
  std::optional<std::string> backend;
  std::optional<std::string> agent;
  std::optional<std::string> image;
  std::optional<std::string> user;
  std::vector<std::string> workspaces;  ///< "HOST[:GUEST[:ro]]" as given
  std::vector<std::string> env;         ///< "KEY=VALUE" as given
  std::vector<std::string> allow;       ///< hostnames
  std::optional<bool> forward_host_credentials;
  std::optional<bool> egress;
  std::optional<std::string> prompt_file;
  std::optional<int> cpus;
  std::optional<int> memory_mib;
  std::vector<std::string> protect;           ///< --protect PATH
  std::vector<std::string> unsafe_unprotect;  ///< --unsafe-unprotect NAME
  std::optional<std::string> repo;            ///< --repo PATH: clone mode
  std::optional<std::string> branch;          ///< --branch NAME (needs clone mode)
  std::optional<std::string> base;            ///< --base REV (needs clone mode)
  std::optional<std::string> context;         ///< --context C (backend kubernetes)
  std::optional<std::string> namespace_name;  ///< --namespace N (backend kubernetes)
  bool agent_sandbox = false;                 ///< --agent-sandbox (backend kubernetes)

  /// Try to consume the flag at args[i] (and its value); returns false when the
  /// flag is not a spec flag. Throws Error(usage) naming the flag when its value is
  /// missing or malformed.
  bool consume(const std::vector<std::string>& args, std::size_t& i);
};

/// Help text lines for the spec flags.
const char* spec_flags_help();

/// Apply overrides on top of `base` (a loaded spec file, or defaults). Relative
/// paths are resolved against `cwd`. The result is validated; errors name the flag
/// ("--workspace: ...") or the spec field.
BottleSpec apply_overrides(BottleSpec base, const SpecOverrides& overrides, const std::string& cwd);

/// A default bottle name from the first workspace and the agent:
/// "<dir basename>-<agent>", lowercased, unsafe characters replaced by '-'.
std::string default_bottle_name(const BottleSpec& spec);

}  // namespace bottle
