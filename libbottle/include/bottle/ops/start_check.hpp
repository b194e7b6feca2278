#pragma once
// Fail-closed start: before create/start/up (and the dashboard's launch) hand a
// bottle over, its network canaries ("public-network", "host", "egress-ports")
// run inside it. All their targets go in ONE exec, each tried for at most
// start_probe_timeout, and that exec runs while the bottle is provisioned, so the
// check adds little to start. A bottle that fails one, or whose probe could not be
// judged ("could not check"), is stopped again: Error(isolation), exit 6.
//
// `--no-check` skips the probe; the bottle then carries an "unchecked" marker in
// its state dir until the next checked start clears it (ls and the dashboard show it).

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/ops/canaries.hpp"
#include "bottle/spec/guest_env.hpp"

namespace bottle {

/// How long each target of the start probe may take to answer. Every target is
/// tried at once, so this (plus the exec itself) bounds the probe. Why it is safe
/// (a timeout is the pass direction): SECURITY.md, "Fail-closed start".
inline constexpr std::chrono::milliseconds start_probe_timeout{300};

/// What the start probe tries, in this order in `targets`: canary_public_targets(),
/// then canary_host_targets(host addresses), then canary_egress_targets(proxy).
struct StartProbePlan {
  std::vector<TcpTarget> targets;
  std::size_t public_count = 0;
  std::size_t host_count = 0;
  std::optional<TcpTarget> proxy;            ///< egress's proxy; nullopt when egress-ports is decided without a probe
  std::optional<CanaryResult> egress_ports;  ///< that decision: skipped (no egress) or could not check (bad URL)
  bool operator==(const StartProbePlan&) const = default;
};

/// The plan for a bottle whose host has `host_addresses` and whose guest egress is `egress`.
StartProbePlan start_probe_plan(const std::vector<std::string>& host_addresses, const GuestEgress& egress);

/// backend.guest_egress(spec), with a proxy address only the guest knows
/// (GuestEgress::address_in_guest, a cluster's Service) read from the guest's
/// HTTPS_PROXY by one exec, as root with canary_probe_path, like the probes. Left
/// unresolved when that read fails or gives no http://HOST:PORT: the probes then
/// say the proxy could not be checked, which fails a start (fail closed).
GuestEgress resolved_guest_egress(Runner& runner, const Backend& backend, const BottleSpec& spec);
/// The guest command (tcp_probe_argv over every target of the plan).
Argv start_probe_argv(const StartProbePlan& plan, std::chrono::milliseconds timeout = start_probe_timeout);
/// "public-network", "host" and "egress-ports" judged from the probe's result; each
/// is "could not check" when the probe did not run or answered malformed.
std::vector<CanaryResult> judge_start_probe(const StartProbePlan& plan, const ProcessResult& result);
/// The first result that is a fail or "could not check"; nullopt when all pass.
std::optional<CanaryResult> first_failed_canary(const std::vector<CanaryResult>& results);
/// "bottle NAME did not pass its network check, so it was stopped: canary public-network
/// failed: REASON (...)"; `removed`: a create, which takes the bottle away entirely.
std::string start_refused_message(const std::string& name, const CanaryResult& failed, bool removed = false);

/// The start probe of one bottle, running: begun right after the engine starts the
/// bottle (as root, with canary_probe_path), judged once provisioning is done.
class StartProbe {
 public:
  /// Starts the probe through runner.start(); never throws for a probe that cannot
  /// run (that is judged "could not check").
  StartProbe(Runner& runner, const Backend& backend, const BottleSpec& spec);
  /// Wait for the probe (at most its timeout plus the engine's overhead) and judge it.
  std::vector<CanaryResult> results();

 private:
  StartProbePlan plan_;
  std::unique_ptr<RunningProcess> child_;
  std::optional<ProcessResult> failed_to_start_;
};

/// The marker of a bottle started with --no-check: STATE_DIR/unchecked.
std::filesystem::path unchecked_marker_path(const StateDirs& dirs, const std::string& name);
/// Write the marker (atomically, 0600) or remove it.
void set_unchecked_marker(const StateDirs& dirs, const std::string& name, bool unchecked);
bool has_unchecked_marker(const StateDirs& dirs, const std::string& name);

}  // namespace bottle
