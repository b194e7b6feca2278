#pragma once
// The backend interface: one implementation per sandbox engine (Docker, smolmachines).
//
// Every backend builds its argvs with pure, const functions (tested by exact
// equality), and the shared operations in Backend run those argvs through the one
// Runner seam. Running the agent is exactly running agent_argv(): the CLI, the
// dashboard's foreground path and its tmux path all use it, on every backend.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_setup.hpp"
#include "bottle/spec/guest_env.hpp"
#include "bottle/spec/spec.hpp"
#include "bottle/workspace/workspace_guard.hpp"

namespace bottle {

using Argv = std::vector<std::string>;

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

/// A bottle's (or its egress container's) state. Each backend parses the engine's
/// words into it once (parse_list); everything else compares the enum.
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

/// How long bottle waits for an engine call before it kills the call and reports
/// that the engine did not answer. A hung dockerd or smolvm must not hang
/// bottle-cli or the dashboard forever. Interactive runs (the agent, exec) have none.
struct EngineTimeouts {
  /// Reads (list, inspect, probe, --version): a healthy engine answers in well
  /// under a second; 30 s is far beyond a loaded machine's worst case.
  std::chrono::milliseconds query = std::chrono::seconds(30);
  /// Changes (create, start, stop, remove): create may pull an image or boot a VM,
  /// and `docker stop` alone waits 10 s for the container before killing it.
  std::chrono::milliseconds change = std::chrono::seconds(300);
  bool operator==(const EngineTimeouts&) const = default;
};

/// Which EngineTimeouts limit an engine call gets.
enum class EngineCall { query, change };

/// The timeouts BOTTLE_ENGINE_TIMEOUT's `value` asks for: one limit, in whole
/// seconds (1..86400), for every engine call. Empty value: the defaults.
/// Throws Error(invalid_input) for anything else.
EngineTimeouts engine_timeouts_from(std::string_view value);

/// "docker ps timed out after 30 s (...)": the error message for an engine call
/// that timed out after `limit`.
std::string engine_timeout_message(const Argv& argv, std::chrono::milliseconds limit);

/// The environment the agent (and user commands) get inside a bottle. The default
/// is the spec's own `env`; bottle's factory installs one that adds the proxy and CA
/// variables egress needs. Must never return a real secret.
using GuestEnvProvider = std::function<std::map<std::string, std::string>(const BottleSpec&)>;

class Backend {
 public:
  explicit Backend(Runner& runner) : runner_(runner) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  virtual BackendKind kind() const = 0;
  /// The engine's name for a bottle (container / machine name).
  virtual std::string object_name(std::string_view bottle_name) const;

  void set_guest_env_provider(GuestEnvProvider provider) { guest_env_ = std::move(provider); }
  void set_engine_timeouts(EngineTimeouts timeouts) { timeouts_ = timeouts; }
  const EngineTimeouts& engine_timeouts() const { return timeouts_; }
  /// `argv` as a Command with the deadline its kind of call gets.
  Command engine_command(Argv argv, EngineCall call = EngineCall::change) const;
  std::map<std::string, std::string> guest_env(const BottleSpec& spec) const;

  // ---- Pure argv builders -------------------------------------------------------
  /// The commands that create (but do not start) the bottle, in order. `guard` is
  /// the workspace protection (guard_mounts()); a backend that protects inside the
  /// guest instead (protects_in_guest()) takes it at every start.
  virtual std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const = 0;
  /// True when workspace protection is applied inside the running guest, by
  /// guest_protection_script() run as root at every start, rather than at create.
  virtual bool protects_in_guest() const { return false; }
  virtual Argv start_argv(const BottleSpec& spec) const = 0;
  virtual Argv stop_argv(const BottleSpec& spec) const = 0;
  /// The commands that remove the bottle and everything bottle made for it.
  virtual std::vector<Argv> remove_argvs(const BottleSpec& spec) const = 0;
  /// One engine query listing every bottle this backend owns.
  virtual Argv list_argv() const = 0;
  virtual Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const = 0;
  /// The agent's argv, as the agent user in the spec's workdir, with the spec's env.
  /// `tty` selects interactive mode.
  virtual AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const = 0;
  // ---- Egress: the bottle's only way out ---------------------------------------
  // Backends that cannot run egress keep the defaults: a reason, a disabled
  // guest_egress() and egress_* builders that throw Error(isolation), so a bottle
  // that needs egress there does not start.
  /// Why this backend cannot give bottles egress here; empty when it can.
  virtual std::string egress_unavailable_reason() const;
  /// Where egress runs: a container next to the bottle, or a process on the host.
  virtual EgressPlacement egress_placement() const { return EgressPlacement::container; }
  /// The proxy address and CA bundle path the bottle's environment points at.
  virtual GuestEgress guest_egress(const BottleSpec& spec) const;
  /// Create the bottle's egress proxy (after create_argvs).
  virtual std::vector<Argv> egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                                const EgressUpstream& upstream) const;
  /// Start it; returns once it accepts connections, or fails. A host-side egress
  /// reads `files` and `upstream` here; a container got them at create.
  virtual Argv egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                                 const EgressUpstream& upstream) const;
  /// Exits 0 while the proxy runs and accepts connections.
  virtual Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const;
  virtual Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const;
  /// The host address a parent proxy running on the host (pipelock) must listen on
  /// for this backend's egress to reach it. May ask the engine.
  virtual std::string egress_parent_host() { return "127.0.0.1"; }
  /// For host placement, running or stopped without running anything (ls);
  /// container egress is reported by parse_list() instead, and this returns nullopt.
  virtual std::optional<EngineState> host_egress_state(const BottleSpec& spec, const EgressFiles& files) const;

  /// Parse list_argv()'s output. Throws Error(backend) on malformed output.
  virtual std::vector<BottleInfo> parse_list(const std::string& output) const = 0;
  /// Whether a failed remove_argvs() command failed only because its object (container,
  /// network, machine) is already gone, judged from the engine's own message.
  virtual bool is_gone(const ProcessResult& result) const = 0;

  // ---- Operations (run the argvs above through the runner) ----------------------
  virtual void create(const BottleSpec& spec, const std::vector<GuardMount>& guard);
  virtual void start(const BottleSpec& spec);
  virtual void stop(const BottleSpec& spec);
  /// Runs every remove_argvs() command; objects that are already gone are fine.
  virtual void remove(const BottleSpec& spec);
  virtual std::vector<BottleInfo> list();
  /// Run a command in the bottle. Non-tty runs capture output unless
  /// `interactive` is set on the returned command.
  ProcessResult exec(const BottleSpec& spec, const Argv& command, const ExecOptions& options,
                     std::optional<std::string> stdin_data = std::nullopt, bool interactive = false);
  /// Write `content` to `guest_path` inside the bottle, owned by `owner`, with `mode`,
  /// atomically (temp + rename in the guest). The content travels on stdin, never
  /// in an argv.
  void install_file(const BottleSpec& spec, const std::string& guest_path, const std::string& content,
                    const std::string& owner, unsigned mode);
  /// Run the agent on the caller's terminal; returns its status as a shell reports it.
  int run_agent(const BottleSpec& spec, const Argv& agent_args, bool tty);

 protected:
  /// Run with the deadline of `call` and throw Error(backend) with the engine's
  /// stderr when it fails (or says it timed out).
  ProcessResult run_checked(const Argv& argv, std::string_view what, EngineCall call = EngineCall::change);
  Runner& runner_;

 private:
  GuestEnvProvider guest_env_;
  EngineTimeouts timeouts_;
};

/// Labels (Docker) and name prefixes that mark what bottle owns.
inline constexpr std::string_view object_prefix = "bottle-";

}  // namespace bottle
