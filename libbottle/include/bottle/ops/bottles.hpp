#pragma once
// Bottles: the operations bottle-cli and bottle-dashboard share. It joins the stored
// specs (SpecStore) with the engines (Backend) and keeps the two consistent: a
// bottle that fails to come up leaves neither a spec nor an engine object behind.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/host.hpp"
#include "bottle/core/state.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/ops/canaries.hpp"
#include "bottle/ops/clone_summary.hpp"
#include "bottle/workspace/workspace_manifest.hpp"

namespace bottle {

/// One bottle as `ls` and the dashboard show it.
/// A bottle's egress as `ls` reports it.
enum class EgressState {
  unknown,  ///< not known (a bottle with no stored spec)
  off,      ///< the spec turns egress off: no network
  on,       ///< its egress proxy runs
  down,     ///< its egress proxy does not run
  missing,  ///< egress is on, but the engine has no such bottle
  none,     ///< this backend cannot run egress here, so the bottle has no network
};
/// "", "off", "on", "down", "missing", "none".
std::string_view to_string(EgressState state);

struct BottleRow {
  std::string name;
  BackendKind backend = BackendKind::docker;
  AgentKind agent = AgentKind::claude;
  EngineState state = EngineState::missing;  ///< missing when the engine lost it
  std::string other_state;                   ///< the engine's word when state is other (BottleInfo::other_state)
  std::string workspace;                     ///< first workspace's host path, or ""
  std::int64_t created_unix = 0;
  EgressState egress = EgressState::unknown;
  bool managed = true;  ///< false: an engine object with no stored spec
  /// Protected workspace paths changed since the bottle started (the dashboard
  /// counts them; `ls` does not look, and leaves it unset).
  std::optional<std::size_t> workspace_changes;
  /// Egress requests in the last minute and how many were blocked (the dashboard
  /// reads the audit log; `ls` does not, and leaves it unset).
  std::optional<EgressActivity> egress_activity;
  /// Running, and started with --no-check: its network canaries did not run (start_check.hpp).
  bool unchecked = false;
  /// Clone mode: the branch, and (read inside the running bottle) commits ahead,
  /// uncommitted work and unfetched commits. The dashboard fills it; `ls` does not
  /// look, and leaves it unset, as for a bottle that is not in clone mode.
  std::optional<CloneSummary> clone;
  /// What to show for the state: other_state for other, else to_string(state).
  std::string state_text() const;
};

/// Builds the backend for a kind. The default factory (default_backends) uses the
/// real docker/smolvm CLIs; tests pass their own.
using BackendFactory = std::function<std::unique_ptr<Backend>(BackendKind, Runner&)>;

/// The real backends: docker from PATH ($BOTTLE_DOCKER overrides), smolvm from
/// PATH ($BOTTLE_SMOLVM overrides; grammar from `smolvm --version`, run the first
/// time an operation needs it, never here), pty-resize from locate_pty_resize(),
/// all from `host`'s environment. Engine calls are limited by $BOTTLE_ENGINE_TIMEOUT
/// (engine_timeouts_from). The kubernetes backend reads its egress's inputs from
/// `dirs` (kube_egress_inputs).
std::unique_ptr<Backend> make_default_backend(BackendKind kind, Runner& runner, const Host& host,
                                              const StateDirs& dirs);
/// make_default_backend with `host` and `dirs`, as a BackendFactory.
BackendFactory default_backends(Host host, StateDirs dirs);

/// How long start waits for a bottle's pipelock to pass its health check, and for
/// its egress to accept connections, polling every egress_poll_interval. Past it
/// the start fails (Error(isolation)) and what it started is stopped again.
inline constexpr std::chrono::milliseconds egress_ready_timeout{30'000};
inline constexpr std::chrono::milliseconds egress_poll_interval{100};

/// A step run after a bottle starts (prompt file, credentials, ...). Steps are
/// registered by the features that need them.
using ProvisionStep = std::function<void(Backend&, const BottleSpec&, const StateDirs&)>;

/// How create/start hand a bottle over.
struct StartOptions {
  /// Run the network canaries before handing the bottle over (start_check.hpp); a
  /// bottle that fails them is stopped again with Error(isolation). false: skip
  /// them and mark the bottle unchecked until its next checked start.
  bool check = true;
};

class Bottles {
 public:
  /// `host` is where every environment variable, wait and port probe comes from;
  /// an empty `factory` means default_backends(host, dirs).
  Bottles(const Host& host, Runner& runner, StateDirs dirs, BackendFactory factory = {});

  /// Create and (unless `start` is false) start and provision a bottle. Throws
  /// Error(conflict) if the name is taken. On any failure, whatever was made is
  /// removed again and no spec is stored.
  void create(const BottleSpec& spec, bool start = true, const StartOptions& options = {});
  void start(const std::string& name, const StartOptions& options = {});
  void stop(const std::string& name);
  /// Remove a bottle. A running bottle needs `force`. A stopped clone-mode bottle
  /// with uncommitted or unfetched work is refused (Error(conflict), saying what
  /// would be lost) unless `force`. The clone volume goes with the bottle.
  void remove(const std::string& name, bool force);
  /// Every stored bottle with its engine state (one engine query per backend in
  /// use), plus engine objects bottle owns that have no spec (managed=false).
  std::vector<BottleRow> list();
  BottleSpec spec(const std::string& name) const { return store_.load(name); }
  /// What egress swaps for this bottle: the spec's routes plus forwarding's.
  std::vector<EgressRoute> egress_routes(const BottleSpec& spec) const;
  /// The placeholders forwarding put in the bottle (its token brokers accept only
  /// these as refresh tokens); empty without forwarding.
  std::vector<std::string> bottle_dummies(const BottleSpec& spec) const;
  Backend& backend(BackendKind kind);
  /// For a bottle whose egress runs in a cluster with forwarded logins: refresh each
  /// host login (the host is their only refresher) and push the copies to egress
  /// (EgressCommands::login_push). Returns false, doing nothing, for any other
  /// bottle. Throws Error(invalid_input) when the host must sign in again,
  /// Error(backend) when the push fails.
  bool push_logins(const std::string& name);
  /// For a bottle whose egress keeps its audit log where the host cannot read it (a
  /// cluster's egress pod, EgressCommands::audit_drain_argv): append the records it
  /// logged since the last drain to the bottle's log on the host, so `logs` and the
  /// dashboard read them there. Returns how many; 0, doing nothing, for any other
  /// bottle and when its egress pod is gone. Throws Error(backend) when the drain
  /// fails.
  std::size_t drain_egress_audit(const std::string& name);
  /// The engine's state of this bottle (one list query); missing when the engine has none.
  EngineState engine_state(const BottleSpec& spec);
  /// What changed in the bottle's protected workspace paths since it last started
  /// (workspace_manifest.hpp); empty when nothing did or no baseline was taken.
  std::vector<WorkspaceChange> workspace_changes(const std::string& name) const;
  /// Guest paths that should be protected in the running bottle and are not (a host
  /// program replaced a protected file, which detaches its mount; or the path
  /// appeared after a container's mounts were fixed). Empty when it is not running.
  std::vector<std::string> unprotected_paths(const std::string& name);
  /// Run the bottle's workspace sentinel in this process until `stop` is set or the
  /// bottle is removed (what `bottle-cli guard NAME` does under start-stop-daemon).
  /// Calls `ready` once every workspace is watched.
  void run_sentinel(const std::string& name, const std::atomic<bool>& stop, const std::function<void()>& ready);

  void add_provision_step(ProvisionStep step) { provision_steps_.push_back(std::move(step)); }
  /// Where warnings go (something went wrong that the operation works around, e.g.
  /// a host login that could not be refreshed before minting). Dropped by default.
  void on_warning(std::function<void(const std::string&)> sink) { warn_ = std::move(sink); }
  const SpecStore& store() const { return store_; }

 private:
  void provision(Backend& backend, const BottleSpec& spec);
  /// Once the engine started the bottle's egress: start the bottle, protect its
  /// workspace, provision it, and (options.check) judge the start probe that ran
  /// meanwhile. Returns the canary that failed, if one did; records the unchecked
  /// marker otherwise.
  std::optional<CanaryResult> bring_up(Backend& backend, const BottleSpec& spec, const StartOptions& options);
  // ---- egress (bottles_egress.cpp) ----
  /// Host-side preparation (CA, forwarded credentials, egress files, pipelock
  /// config), then the bottle and its egress in the engine. Records the subnet of a
  /// network the engine chose in spec.egress.subnet (Backend::prepare_network).
  void create_with_egress(Backend& backend, BottleSpec& spec, const std::vector<GuardMount>& guard);
  /// Start the bottle's pipelock (if bottle runs one) and egress, and wait until
  /// they serve; Error(isolation) otherwise, so the bottle never starts without them.
  void start_egress(Backend& backend, const BottleSpec& spec);
  void start_pipelock(const BottleSpec& spec);
  /// Stop the bottle's egress and its pipelock; Error(backend) naming what failed.
  void stop_egress(Backend& backend, const BottleSpec& spec);
  /// Best effort, for clean-up paths: stop what runs on the host (a host-side
  /// egress, pipelock). A container egress goes with the bottle's engine objects.
  void stop_host_processes(Backend& backend, const BottleSpec& spec) noexcept;
  /// Best effort: stop the bottle's egress (wherever it runs) and its pipelock.
  void stop_egress_quietly(Backend& backend, const BottleSpec& spec) noexcept;
  std::vector<std::pair<Argv, std::string>> egress_stop_argvs(const Backend& backend, const BottleSpec& spec,
                                                              bool host_processes_only) const;
  EgressFiles egress_files(const Backend& backend, const BottleSpec& spec) const;
  /// Egress's parent proxy: the bottle's pipelock, else BOTTLE_EGRESS_UPSTREAM.
  EgressUpstream egress_upstream(const BottleSpec& spec) const;
  /// Before minting a bottle's dummies from a host login that is about to expire:
  /// refresh it with bottle-egress ensure-fresh through `upstream`. A dead host
  /// session is Error(invalid_input) (sign in again on the host); anything else that
  /// fails is a warning on stderr, and egress's broker refreshes on the agent's first
  /// request.
  void refresh_host_login(AgentKind agent, const std::filesystem::path& host_file, const EgressUpstream& upstream);
  /// refresh_host_login() of each login the bottle forwards.
  void refresh_forwarded_logins(const BottleSpec& spec);
  /// Install the agent CA bundle (system roots + the egress CA) in the bottle.
  void provision_egress_trust(Backend& backend, const BottleSpec& spec);
  /// Whether this bottle has an egress proxy (enabled, and the backend runs one).
  static bool egress_runs(const Backend& backend, const BottleSpec& spec);
  /// drain_egress_audit(), a failure a warning (stop and rm go on either way).
  void drain_egress_audit_quietly(const BottleSpec& spec) noexcept;

  void install_forwarded_files(Backend& backend, const BottleSpec& spec);
  // ---- sessions (bottles_sessions.cpp) ----
  /// Put the saved sessions of spec.name into the bottle: once (its first start), or at
  /// every start when its engine does not keep the home across a stop.
  void restore_sessions_once(Backend& backend, const BottleSpec& spec);
  /// Copy a running bottle's sessions into the store; failures are warnings (the
  /// bottle stops or goes either way).
  void save_sessions_quietly(Backend& backend, const BottleSpec& spec) noexcept;
  /// Right after the engine starts the bottle, before anything runs in it: apply
  /// the workspace protection in the guest where the backend does it there, warn
  /// about protected paths that appeared after a container's mounts were fixed,
  /// and take the baseline that workspace_changes() compares with. Error(isolation)
  /// when protection cannot be applied.
  void protect_workspace(Backend& backend, const BottleSpec& spec);
  void stop_sentinel(const BottleSpec& spec) noexcept;
  /// Error(conflict) when removing the stopped clone-mode bottle would lose work.
  void refuse_losing_clone_work(Backend& backend, const BottleSpec& spec);
  /// " (--force would lose: ...)" for a running clone-mode bottle with such work; else "".
  std::string running_clone_work_note(Backend& backend, const BottleSpec& spec);

  Host host_;
  Runner& runner_;
  SpecStore store_;
  BackendFactory factory_;
  std::map<BackendKind, std::unique_ptr<Backend>> backends_;
  std::vector<ProvisionStep> provision_steps_;
  std::function<void(const std::string&)> warn_ = [](const std::string&) {};
};

/// Provisioning that every bottle gets: the prompt file at guest_prompt_path, read
/// at every start with read_prompt_file(), on engines whose prompt_delivery() is
/// root_exec.
void install_prompt_file(Backend& backend, const BottleSpec& spec, const StateDirs& dirs);

}  // namespace bottle
