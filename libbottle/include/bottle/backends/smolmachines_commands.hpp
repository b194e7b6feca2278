#pragma once
// SmolmachinesCommands: bottles as smolmachines microVMs, as smolvm CLI argvs.
//
// A bottle NAME is the machine "bottle-NAME". smolvm has no --user on exec, so
// commands for the agent user are framed as `runuser -u USER -- CMD`. In TTY mode
// the agent argv is prefixed by the pty-resize wrapper (by absolute path), because
// smolvm does not forward terminal resizes into the guest.
//
// Egress runs on the host: one bottle-egress per bottle on 127.0.0.1:PORT (the spec's
// egress.port), supervised by start-stop-daemon. The VM gets virtio-net with an
// allow-list of exactly the gateway 100.96.0.1/32, which smolvm relays to the host's
// loopback; everything else is denied by smolvm host-side. That needs smolvm >=
// 1.7.2: through 1.1.2 an allow-list ran on TSI and was not enforced, and before
// 1.7.2 the gateway did not reach the host's loopback. Older versions get no egress
// (and so no network at all).

#include <functional>
#include <mutex>
#include <optional>

#include "bottle/backends/egress_commands.hpp"
#include "bottle/backends/engine_commands.hpp"
#include "bottle/core/host_daemon.hpp"

namespace bottle {

/// Which argv grammar the installed smolvm speaks (see reference: smolvm ≤1.0.1 takes
/// positional names on create/delete, ≥1.0.2 takes --name).
enum class SmolvmGrammar { positional_names, flag_names };

struct SmolvmVersion {
  int major = 0, minor = 0, patch = 0;
  bool at_least(int ma, int mi, int pa) const;
  std::string text() const;
  bool operator==(const SmolvmVersion&) const = default;
};

/// Parse `smolvm --version` output ("smolvm 0.8.0", maybe with a suffix). Throws
/// Error(backend) when the output is not a version line.
SmolvmVersion parse_smolvm_version(std::string_view version_output);
SmolvmGrammar smolvm_grammar(const SmolvmVersion& version);
/// parse_smolvm_version() then smolvm_grammar().
SmolvmGrammar smolvm_grammar_for_version(std::string_view version_output);

/// The first smolvm whose VMs can be confined to a host-side egress.
inline constexpr SmolvmVersion smolvm_egress_minimum{1, 7, 2};
/// The guest's gateway, relayed by smolvm to the host's 127.0.0.1.
inline constexpr std::string_view smolvm_gateway = "100.96.0.1";

struct SmolmachinesOptions {
  std::string smolvm = "smolvm";  ///< the smolvm CLI
  SmolvmGrammar grammar = SmolvmGrammar::positional_names;
  /// Absolute path of the pty-resize wrapper put in front of TTY-mode agent argv.
  /// Empty: TTY-mode agent_argv throws Error(not_found) (never a silent fallback).
  std::string pty_resize;
  /// The installed smolvm's version (egress needs smolvm_egress_minimum).
  SmolvmVersion version;
  /// Absolute path of bottle-egress; empty: not found, so no egress.
  std::string egress_program;
  /// When set, `version` and `grammar` above are not used: this is asked once, the
  /// first time an operation needs them (create/remove argvs, egress checks), and
  /// its answer decides both. Constructing the backend runs nothing. If it throws,
  /// that operation fails and the next one asks again.
  std::function<SmolvmVersion()> probe_version;
};

/// The egress capability is this object when egress_unavailable_reason() is empty.
class SmolmachinesCommands final : public EngineCommands, public EgressCommands {
 public:
  explicit SmolmachinesCommands(SmolmachinesOptions options);
  BackendKind kind() const override { return BackendKind::smolmachines; }

  /// virtiofs volumes are directories only: workspace protection is applied by
  /// bind mounts inside the guest at every start instead (protects_in_guest()).
  std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const override;
  bool protects_in_guest() const override { return true; }
  Argv start_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  Argv list_argv() const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;
  std::vector<BottleInfo> parse_list(const std::string& output) const override;
  bool is_gone(const ProcessResult& result) const override;

  const EgressCommands* egress() const override;
  std::string egress_unavailable_reason() const override;

  EgressPlacement egress_placement() const override { return EgressPlacement::host; }
  /// http://100.96.0.1:PORT (the spec's egress.port, which must be set by now);
  /// disabled when egress is unavailable here.
  GuestEgress guest_egress(const BottleSpec& spec) const override;
  /// Nothing to create: the host-side proxy is a process, started by egress_start_argv.
  std::vector<Argv> egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                        const EgressUpstream& upstream) const override;
  Argv egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                         const EgressUpstream& upstream) const override;
  Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  std::optional<EngineState> host_egress_state(const BottleSpec& spec, const EgressFiles& files) const override;
  /// The supervised bottle-egress of one bottle.
  HostDaemon egress_daemon(const BottleSpec& spec, const EgressFiles& files, const EgressUpstream& upstream) const;

  /// As constructed: with probe_version set, version and grammar are not resolved here.
  const SmolmachinesOptions& options() const { return options_; }

 private:
  /// The installed smolvm's version, probed on first use when probe_version is set.
  SmolvmVersion version() const;
  SmolvmGrammar grammar() const { return options_.probe_version ? smolvm_grammar(version()) : options_.grammar; }

  SmolmachinesOptions options_;
  mutable std::mutex version_mutex_;
  mutable std::optional<SmolvmVersion> probed_version_;
};

}  // namespace bottle
