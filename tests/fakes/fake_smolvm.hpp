// Shared context and entry points of the fake `smolvm` (spec: reference/smolvm-cli.md §10).
// Every subcommand returns the process exit status instead of calling exit(), so RAII
// guards (raw terminal mode, session files) are always unwound.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fake_smolvm_state.hpp"

namespace fake_smolvm {

// FAKE_SMOLVM_VERSION, parsed once; it selects grammar, wording and TTY profile.
struct Version {
  int major = 0;
  int minor = 8;
  int patch = 0;
  std::string text = "0.8.0";

  [[nodiscard]] bool at_least(int want_major, int want_minor, int want_patch) const {
    if (major != want_major) { return major > want_major; }
    if (minor != want_minor) { return minor > want_minor; }
    return patch >= want_patch;
  }
};

Version parse_version(const std::string& text);

// Everything the control environment variables (§10.1) decide, read once at startup.
struct Context {
  Version version;
  std::filesystem::path state_dir;
  std::vector<std::string> argv;
  bool strict_pts = true;
  bool notrunning_is_error = true;
  bool run_init = false;
  std::optional<std::string> tty_profile;
  std::string fail_spec;
};

Context load_context(int argc, char** argv);

// Prints `Error: MESSAGE` on stderr, the single runtime-error form of the real CLI.
int runtime_error(const std::string& message);

// Wordings shared by several subcommands.
std::string not_found_message(const std::string& name);
std::string not_running_message(const std::string& name);

// FAKE_SMOLVM_FAIL=sub:what[,sub:what]: returns the exit status of an injected failure for
// this subcommand (after printing its error line), or nothing when none is configured.
std::optional<int> injected_failure(const Context& context, const std::string& subcommand, const std::string& machine);

// How a command on one existing machine begins: an injected failure for
// `subcommand`, else the machine's record from `store`. Without a record, the error
// has been printed and `exit_status` holds the status to exit with.
std::optional<MachineRecord> load_machine(const Context& context, const StateStore& store,
                                          const std::string& subcommand, const std::string& name, int& exit_status);

// `-e KEY=VALUE` as the real CLI resolves it: empty keys dropped; key-only `-e KEY` takes
// the host value from 0.8.1 and is dropped silently in 0.8.0.
std::optional<std::string> resolve_env_spec(const Context& context, const std::string& spec);

// Subcommands; `args` are the words after `machine <sub>`.
int command_create(const Context& context, const std::vector<std::string>& args);
int command_start(const Context& context, const std::vector<std::string>& args);
int command_stop(const Context& context, const std::vector<std::string>& args);
int command_delete(const Context& context, const std::vector<std::string>& args);
int command_status(const Context& context, const std::vector<std::string>& args);
int command_list(const Context& context, const std::vector<std::string>& args);
int command_exec(const Context& context, const std::vector<std::string>& args);
int command_shell(const Context& context, const std::vector<std::string>& args);
int command_cp(const Context& context, const std::vector<std::string>& args);

}  // namespace fake_smolvm
