#pragma once
// SmolmachinesBackend: bottles as smolmachines microVMs driven through the smolvm CLI.
//
// A bottle NAME is the machine "bottle-NAME". smolvm has no --user on exec, so
// commands for the agent user are framed as `runuser -u USER -- CMD`. In TTY mode
// the agent argv is prefixed by the pty-resize wrapper (by absolute path), because
// smolvm does not forward terminal resizes into the guest.

#include "bottle/backend.hpp"

namespace bottle {

/// Which argv grammar the installed smolvm speaks (see reference: smolvm ≤1.0.1 takes
/// positional names on create/delete, ≥1.0.2 takes --name).
enum class SmolvmGrammar { positional_names, flag_names };

/// Parse `smolvm --version` output ("smolvm 0.8.0") into a grammar. Throws
/// Error(backend) when the output is not a version line.
SmolvmGrammar smolvm_grammar_for_version(std::string_view version_output);

struct SmolmachinesOptions {
  std::string smolvm = "smolvm";          ///< the smolvm CLI
  SmolvmGrammar grammar = SmolvmGrammar::positional_names;
  /// Absolute path of the pty-resize wrapper put in front of TTY-mode agent argv.
  /// Empty: TTY-mode agent_argv throws Error(not_found) (never a silent fallback).
  std::string pty_resize;
};

class SmolmachinesBackend final : public Backend {
 public:
  SmolmachinesBackend(Runner& runner, SmolmachinesOptions options);
  BackendKind kind() const override { return BackendKind::smolmachines; }

  std::vector<Argv> create_argvs(const BottleSpec& spec) const override;
  Argv start_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  Argv list_argv() const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command,
                 const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;
  std::vector<BottleInfo> parse_list(const std::string& output) const override;

  const SmolmachinesOptions& options() const { return options_; }

 private:
  SmolmachinesOptions options_;
};

}  // namespace bottle
