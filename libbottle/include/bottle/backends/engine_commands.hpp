#pragma once
// What an engine is asked to do, as argvs: one implementation per sandbox engine
// (Docker, smolmachines). Nothing here runs anything: every builder is a const
// function of its arguments and the engine's options, tested by exact equality.
// Backend (backend.hpp) runs these argvs through the one Runner seam.
//
// Running the agent is exactly running agent_argv(): the CLI, the dashboard's
// foreground path and its tmux path all use it, on every engine.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/spec/spec.hpp"
#include "bottle/workspace/workspace_guard.hpp"

namespace bottle {

using Argv = std::vector<std::string>;

class EgressCommands;

/// The agent's argv split in two: the backend's exec framing (`docker exec … C`,
/// or `pty-resize … smolvm machine exec … -- runuser -u node --`) and the agent's
/// own command. argv() is prefix followed by tail. Resume wraps only the tail, so the
/// framing (and the user switch inside it) is always kept.
struct AgentArgv {
  Argv prefix;
  Argv tail;
  Argv argv() const;
  bool operator==(const AgentArgv&) const = default;
};

/// How to exec a command in a bottle.
struct ExecOptions {
  bool tty = false;            ///< allocate a terminal (interactive use)
  bool forward_stdin = false;  ///< pass the caller's stdin (e.g. file content) through
  std::string user;            ///< empty: root (provisioning)
  std::string workdir;         ///< empty: the backend's default
  std::map<std::string, std::string> env;
};

/// A bottle's (or its egress container's) state. Each engine parses its own words
/// into it once (parse_list); everything else compares the enum.
enum class EngineState {
  running,
  stopped,  ///< docker "exited"/"dead", smolvm "stopped"
  created,  ///< made, never started
  missing,  ///< bottle has a spec, the engine has no such object
  other,    ///< any other engine word ("paused", "restarting"): BottleInfo keeps it
};
/// "running", "stopped", "created", "missing", "other".
std::string_view to_string(EngineState state);

/// One bottle as its engine lists it.
struct BottleInfo {
  std::string name;  ///< the bottle's name (not the engine's object name)
  BackendKind backend = BackendKind::docker;
  EngineState state = EngineState::other;
  std::int64_t created_unix = 0;
  /// The state of its egress container; nullopt when it has none.
  std::optional<EngineState> egress_state;
  /// The engine's own word when state is other (lowercase letters only); else "".
  std::string other_state;
  /// What to show: other_state for other, else to_string(state).
  std::string state_text() const;
  bool operator==(const BottleInfo&) const = default;
};

/// How an engine puts the prompt file into its bottles.
enum class PromptDelivery {
  root_exec,  ///< installed by a root exec at every start (Docker, smolmachines)
  /// A read-only bind (one of create's `guard` binds) of bottle's copy in the
  /// bottle's state directory, rewritten before create and every start: nothing in
  /// the bottle runs as root (Podman).
  bind_copy,
  /// Carried by the engine's own objects, which it builds from the file at create
  /// and every start (a Kubernetes ConfigMap).
  engine_objects,
};

/// Labels (Docker) and name prefixes that mark what bottle owns.
inline constexpr std::string_view object_prefix = "bottle-";

class EngineCommands {
 public:
  EngineCommands() = default;
  virtual ~EngineCommands() = default;
  EngineCommands(const EngineCommands&) = delete;
  EngineCommands& operator=(const EngineCommands&) = delete;

  virtual BackendKind kind() const = 0;
  /// The engine's name for a bottle (container / machine name): "bottle-NAME".
  std::string object_name(std::string_view bottle_name) const;
  /// The environment the agent (and user commands) get inside the bottle: the spec's
  /// `env` with the agent's defaults and, when egress() is there, the proxy and CA
  /// variables (guest_environment()). Never a real secret.
  std::map<std::string, std::string> guest_env(const BottleSpec& spec) const;

  /// The commands that create (but do not start) the bottle, in order. `guard` is
  /// the read-only binds of host paths the bottle gets at create: the workspace
  /// protection (guard_mounts()) and, where prompt_delivery() is bind_copy, the
  /// prompt file. An engine that protects inside the guest instead
  /// (protects_in_guest()) takes the protection at every start.
  virtual std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const = 0;
  /// True when workspace protection is applied inside the running guest, by
  /// guest_protection_script() run as root at every start, rather than at create.
  virtual bool protects_in_guest() const { return false; }
  /// How the prompt file (spec.prompt_file, read with read_prompt_file()) reaches
  /// guest_prompt_path in the bottle.
  virtual PromptDelivery prompt_delivery() const { return PromptDelivery::root_exec; }
  /// Whether the agent's home outlives a stop (a container's layer, a VM's disk, a
  /// Podman volume). False where a stop deletes it with the pod (a cluster's
  /// emptyDir): files bottle installs there are installed again at every start.
  virtual bool keeps_home_across_stop() const { return true; }
  virtual Argv start_argv(const BottleSpec& spec) const = 0;
  virtual Argv stop_argv(const BottleSpec& spec) const = 0;
  /// The commands that remove the bottle and everything bottle made for it.
  virtual std::vector<Argv> remove_argvs(const BottleSpec& spec) const = 0;
  /// One engine query listing every bottle this engine owns.
  virtual Argv list_argv() const = 0;
  /// The queries that list the bottles of `specs` (all of this engine). An engine
  /// whose bottles live in different places (Kubernetes contexts and namespaces)
  /// asks each place once; the default is {list_argv()}.
  virtual std::vector<Argv> list_argvs(const std::vector<BottleSpec>& specs) const;
  /// What create_argvs()[step] reads on its stdin (`kubectl apply -f -` reads the
  /// objects), with create_argvs()'s `guard`; nullopt: nothing. Never a real secret
  /// in an argv: it goes here.
  virtual std::optional<std::string> create_stdin(const BottleSpec& /*spec*/, const std::vector<GuardMount>& /*guard*/,
                                                  std::size_t /*step*/) const {
    return std::nullopt;
  }
  /// What start_argv() reads on its stdin; nullopt: nothing.
  virtual std::optional<std::string> start_stdin(const BottleSpec& /*spec*/) const { return std::nullopt; }
  /// A command run after start_argv() that returns once the bottle can run
  /// commands (a pod is scheduled and its container runs); nullopt: start_argv()
  /// already waits.
  virtual std::optional<Argv> start_wait_argv(const BottleSpec& /*spec*/) const { return std::nullopt; }
  /// A command run after stop_argv() that returns once nothing of the stop still runs
  /// in the background (its status is not checked); nullopt: stop_argv() is the end.
  virtual std::optional<Argv> stop_settle_argv(const BottleSpec& /*spec*/) const { return std::nullopt; }
  virtual Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const = 0;
  /// The agent's argv, as the agent user in the spec's workdir, with the spec's env.
  /// `tty` selects interactive mode.
  virtual AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const = 0;

  /// Parse list_argv()'s output. Throws Error(backend) on malformed output.
  virtual std::vector<BottleInfo> parse_list(const std::string& output) const = 0;
  /// Whether a failed remove_argvs() command failed only because its object (container,
  /// network, machine) is already gone, judged from the engine's own message.
  virtual bool is_gone(const ProcessResult& result) const = 0;
  /// What to do about a failed engine call whose own message does not say it (a
  /// sentence, added to the error); empty: nothing to add.
  virtual std::string failure_hint(const ProcessResult& /*result*/) const { return {}; }

  /// The egress capability: how this engine runs a bottle's egress proxy, its only
  /// way out. nullptr exactly when egress_unavailable_reason() is not empty; a bottle
  /// that needs egress is then refused (Error(isolation)) before anything is made.
  virtual const EgressCommands* egress() const = 0;
  /// Why this engine cannot give bottles egress here; empty when it can.
  virtual std::string egress_unavailable_reason() const = 0;
};

}  // namespace bottle
