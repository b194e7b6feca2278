// Bottles' egress lifecycle: what runs between a bottle and the internet.
//   bottle -> egress (container or host process) -> pipelock (host process, when
//   bottle runs one) or BOTTLE_EGRESS_UPSTREAM -> internet
// Everything here fails closed: an egress or pipelock that does not come up is an
// Error(isolation), and the bottle does not start.
#include <fmt/format.h>

#include "bottle/core/error.hpp"
#include "bottle/core/locate.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/credentials/host_refresh.hpp"
#include "bottle/egress/audit_writer.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "bottle/ops/bottles.hpp"
#include "core/file_lock.hpp"

namespace bottle {

namespace {

std::string trimmed_detail(const ProcessResult& r) {
  if (r.timed_out()) return "timed out (the engine did not answer; is it hung? BOTTLE_ENGINE_TIMEOUT sets the limit)";
  std::string detail = r.started() ? r.err : r.start_error;
  while (!detail.empty() && detail.back() == '\n') detail.pop_back();
  return detail;
}

// "host:port" -> (host, port); the listen file is bottle's own, so a bad one is corrupt state.
std::pair<std::string, std::uint16_t> split_listen(const std::string& listen, const std::string& bottle) {
  const auto colon = listen.rfind(':');
  int port = 0;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) { port = 0; }
  }
  if (colon == std::string::npos || port <= 0 || port > 65535)
    throw Error(ErrorKind::io, fmt::format("bottle {}: corrupt pipelock listen address '{}'", bottle, listen));
  return {listen.substr(0, colon), static_cast<std::uint16_t>(port)};
}

// Ask `ready` every egress_poll_interval until it says yes (true) or
// egress_ready_timeout has passed (false); it is asked once more at the deadline.
template <typename Ready>
bool wait_until_ready(Clock& clock, Ready&& ready) {
  const auto deadline = clock.now() + egress_ready_timeout;
  for (;;) {
    if (ready()) return true;
    if (clock.now() >= deadline) return false;
    clock.sleep_for(egress_poll_interval);
  }
}

}  // namespace

bool Bottles::egress_runs(const Backend& b, const BottleSpec& spec) {
  return spec.egress.enabled && b.egress() != nullptr;
}

std::vector<std::string> Bottles::bottle_dummies(const BottleSpec& spec) const {
  const auto forwarded = load_forwarded_state(store_.dirs(), spec.name);
  return forwarded ? forwarded->dummies : std::vector<std::string>{};
}

std::vector<EgressRoute> Bottles::egress_routes(const BottleSpec& spec) const {
  std::vector<EgressRoute> routes = spec.egress.routes;
  if (const auto forwarded = load_forwarded_state(store_.dirs(), spec.name))
    routes.insert(routes.end(), forwarded->routes.begin(), forwarded->routes.end());
  return routes;
}

EgressFiles Bottles::egress_files(const Backend& b, const BottleSpec& spec) const {
  return egress_files_of(store_.dirs(), spec, egress_routes(spec), b.require_egress().egress_placement());
}

EgressUpstream Bottles::egress_upstream(const BottleSpec& spec) const {
  EgressUpstream upstream = EgressUpstream::from_environment(host_);
  if (const auto pipelock = managed_pipelock_of(host_, store_.dirs(), spec)) upstream.proxy = pipelock->proxy_url();
  return upstream;
}

void Bottles::create_with_egress(Backend& b, BottleSpec& spec, const std::vector<GuardMount>& guard) {
  // Host-side preparation first, cheapest checks first: a bad environment or host
  // login stops here, before any file or engine object exists.
  EgressUpstream upstream = EgressUpstream::from_environment(host_);
  const ForwardedCredentials forwarded = prepare_forwarded_credentials(
      host_, spec, system_random_bytes,
      [&](AgentKind agent, const std::filesystem::path& file) { refresh_host_login(agent, file, upstream); });
  const EgressCa ca = ensure_egress_ca(runner_, store_.dirs());
  save_forwarded_state(store_.dirs(), spec.name, forwarded);
  const EgressFiles files = write_egress_files(store_.dirs(), spec, ca, egress_routes(spec),
                                               b.require_egress().egress_placement(), forwarded.dummies);
  // pipelock in front of egress, unless the user already runs a parent proxy. A
  // cluster's egress cannot reach a pipelock on this host.
  if (upstream.proxy.empty() && b.require_egress().egress_placement() != EgressPlacement::cluster) {
    if (const auto program = locate_pipelock(host_); !program.empty()) {
      const std::string host = b.egress_parent_host();
      // A port free on every address: the engine's gateway may not be on this host
      // yet (Podman's bridge comes up with the first container that joins it).
      const std::string listen = fmt::format("{}:{}", host, host_.ports().pick_free_port("0.0.0.0"));
      upstream.proxy = write_managed_pipelock(store_.dirs(), spec, program.string(), listen).proxy_url();
    }
  }
  const EgressCommands& egress = b.require_egress();
  b.prepare_network(spec);
  if (egress.agent_ca_from_host())
    write_agent_ca_dir(files, build_agent_ca_bundle(read_system_ca_bundle(), ca.cert_pem));
  b.create(spec, guard);
  const std::vector<Argv> argvs = egress.egress_create_argvs(spec, files, upstream);
  for (std::size_t step = 0; step < argvs.size(); ++step) {
    Command command = b.engine_command(argvs[step]);
    command.stdin_data = egress.egress_create_stdin(spec, files, guard, step);
    const ProcessResult r = runner_.run(command);
    if (!r.ok())
      throw Error(ErrorKind::isolation, fmt::format("create egress for {}: {} failed: {}", spec.name,
                                                    argvs[step].front(), trimmed_detail(r)));
  }
}

void Bottles::refresh_host_login(AgentKind agent, const std::filesystem::path& host_file,
                                 const EgressUpstream& upstream) {
  const auto warn = [&](const std::string& why) {
    // Not fatal: an offline host can still create; egress's broker retries later.
    warn_(
        fmt::format("could not refresh the host's {} login ({}) before minting the bottle's tokens: {}; "
                    "egress refreshes it when the agent first asks",
                    to_string(agent), host_file.string(), why));
  };
  std::filesystem::path program;
  try {
    program = locate_bottle_egress(host_);
  } catch (const Error& e) {
    warn(e.what());
    return;
  }
  const ProcessResult r = runner_.run(Command{
      .argv = host_refresh_argv({.program = program, .agent = agent, .host_file = host_file, .upstream = upstream})});
  switch (host_refresh_outcome(r)) {
    case HostRefreshOutcome::fresh:
    case HostRefreshOutcome::refreshed: return;
    case HostRefreshOutcome::sign_in_again:
      throw Error(ErrorKind::invalid_input,
                  fmt::format("forwarding host credentials: {}: the host's {} login has expired or was revoked; "
                              "sign in again on the host ({}), then try again",
                              host_file.string(), to_string(agent),
                              agent == AgentKind::codex ? "run `codex login`" : "run `claude`, then /login"));
    case HostRefreshOutcome::unavailable: warn(trimmed_detail(r)); return;
  }
}

void Bottles::refresh_forwarded_logins(const BottleSpec& spec) {
  const auto forwarded = load_forwarded_state(store_.dirs(), spec.name);
  if (!forwarded) return;
  const EgressUpstream upstream = EgressUpstream::from_environment(host_);
  for (const auto& route : forwarded->routes)
    if (const auto broker = default_egress_broker(route))
      refresh_host_login(broker->kind == "codex" ? AgentKind::codex : AgentKind::claude, route.value_file, upstream);
}

bool Bottles::push_logins(const std::string& name) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  if (!egress_runs(b, spec) || b.require_egress().egress_placement() != EgressPlacement::cluster ||
      !load_forwarded_state(store_.dirs(), spec.name))
    return false;
  refresh_forwarded_logins(spec);
  // Built after the refresh: the copy is of the login as it is now.
  const auto push = b.require_egress().login_push(spec);
  if (!push) return false;
  Command command = b.engine_command(push->argv);
  command.stdin_data = push->stdin_data;
  const ProcessResult r = runner_.run(command);
  if (!r.ok())
    throw Error(ErrorKind::backend, fmt::format("push the host's logins to {}'s egress: {} failed: {}", name,
                                                push->argv.front(), trimmed_detail(r)));
  return true;
}

std::size_t Bottles::drain_egress_audit(const std::string& name) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  if (!egress_runs(b, spec)) return 0;
  const auto argv = b.require_egress().audit_drain_argv(spec);
  if (!argv) return 0;
  // Drains of one bottle take turns (logs, broker run, stop): the pod's record of what
  // was drained and the host's log move together.
  const FileLock lock(store_.dirs().bottle_state_dir(spec.name) / "audit-drain.lock");
  const ProcessResult r = runner_.run(b.engine_command(*argv, EngineCall::query));
  if (!r.ok()) {
    if (b.commands().is_gone(r)) return 0;  // stopped: the last drain was at its stop
    throw Error(ErrorKind::backend,
                fmt::format("read {}'s egress audit log: {} failed: {}", name, argv->front(), trimmed_detail(r)));
  }
  std::filesystem::create_directories(egress_audit_dir(store_.dirs(), spec.name));
  // The bottle field is this bottle's whatever the pod wrote; a line that is not a
  // record is skipped, never copied.
  AuditWriter writer(
      egress_audit_log(store_.dirs(), spec.name), spec.name, egress_audit_max_bytes(host_),
      [&](const std::string& reason) { warn_(fmt::format("egress audit log of {}: {}", name, reason)); });
  AuditLines lines = parse_audit_lines(r.out, "egress");
  for (auto& record : lines.records) writer.write(std::move(record));
  const std::size_t skipped = lines.warnings.size();
  if (skipped > 0)
    warn_(fmt::format("egress audit log of {}: skipped {} from egress ({})", name,
                      skipped == 1 ? std::string("1 line") : fmt::format("{} lines", skipped),
                      skipped == 1 ? "not an audit record" : "not audit records"));
  return lines.records.size();
}

void Bottles::drain_egress_audit_quietly(const BottleSpec& spec) noexcept {
  try {
    drain_egress_audit(spec.name);
  } catch (const std::exception& e) {
    warn_(fmt::format("egress audit log of {}: the last records were not kept: {}", spec.name, e.what()));
  }
}

void Bottles::start_pipelock(const BottleSpec& spec) {
  const auto pipelock = managed_pipelock_of(host_, store_.dirs(), spec);
  if (!pipelock) return;
  const HostDaemon daemon = pipelock->daemon();
  if (!daemon_running(daemon)) {
    const auto [host, port] = split_listen(pipelock->listen, spec.name);
    if (!host_.ports().port_free(host, port))
      throw Error(ErrorKind::isolation,
                  fmt::format("pipelock for {}: {} is in use by another process", spec.name, pipelock->listen));
    const ProcessResult started = runner_.run(Command{.argv = daemon_start_argv(daemon)});
    if (!started.ok())
      throw Error(ErrorKind::isolation,
                  fmt::format("pipelock for {} did not start: {}", spec.name, trimmed_detail(started)));
  }
  // pipelock does not report readiness itself: poll its health check.
  if (wait_until_ready(host_.clock(), [&] { return runner_.run(Command{.argv = pipelock->health_argv()}).ok(); }))
    return;
  runner_.run(Command{.argv = daemon_stop_argv(daemon)});
  throw Error(ErrorKind::isolation,
              fmt::format("pipelock for {} did not become healthy (its log: {})", spec.name, daemon.log_file.string()));
}

void Bottles::start_egress(Backend& b, const BottleSpec& spec) {
  if (!egress_runs(b, spec)) return;
  // Egress reads its audit log settings when it starts (egress_audit.hpp).
  write_egress_audit_config(store_.dirs(), spec.name, egress_audit_max_bytes(host_));
  try {
    const EgressCommands& egress = b.require_egress();
    const EgressFiles files = egress_files(b, spec);
    if (egress.egress_placement() == EgressPlacement::host) {
      if (runner_.run(b.engine_command(egress.egress_probe_argv(spec, files), EngineCall::query)).ok()) {
        start_pipelock(spec);
        return;  // egress already up
      }
      // Someone else's listener there would receive the bottle's traffic.
      if (!host_.ports().port_free("127.0.0.1", static_cast<std::uint16_t>(spec.egress.port)))
        throw Error(ErrorKind::isolation,
                    fmt::format("egress for {}: 127.0.0.1:{} (its egress.port) is in use by another process", spec.name,
                                spec.egress.port));
    }
    // A cluster's egress gets the host logins as copies, so the host refreshes them
    // first: it is their only refresher (kube_egress.hpp).
    if (egress.egress_placement() == EgressPlacement::cluster) refresh_forwarded_logins(spec);
    Command start = b.engine_command(egress.egress_start_argv(spec, files, egress_upstream(spec)));
    start.stdin_data = egress.egress_start_stdin(spec);
    const ProcessResult started = runner_.run(start);
    if (!started.ok())
      throw Error(ErrorKind::isolation,
                  fmt::format("egress for {} did not start: {}", spec.name, trimmed_detail(started)));
    // pipelock after egress: the engine's network, on whose gateway pipelock listens,
    // may come up only with egress (Podman's bridge). egress connects to its parent
    // only when a request comes, and the bottle starts only once both serve.
    start_pipelock(spec);
    // A container's egress takes a moment to listen; the bottle must not run before it does.
    if (!wait_until_ready(host_.clock(), [&] {
          return runner_.run(b.engine_command(egress.egress_probe_argv(spec, files), EngineCall::query)).ok();
        }))
      throw Error(ErrorKind::isolation, fmt::format("egress for {} is not accepting connections", spec.name));
  } catch (const Error& e) {
    // Nothing of a half-started egress may keep running (nor hold its ports).
    stop_egress_quietly(b, spec);
    if (e.kind() == ErrorKind::isolation) throw;
    throw Error(ErrorKind::isolation, fmt::format("egress for {}: {}", spec.name, e.what()));
  }
}

std::vector<std::pair<Argv, std::string>> Bottles::egress_stop_argvs(const Backend& b, const BottleSpec& spec,
                                                                     bool host_processes_only) const {
  std::vector<std::pair<Argv, std::string>> stops;
  const EgressCommands& egress = b.require_egress();
  if (!host_processes_only || egress.egress_placement() == EgressPlacement::host)
    stops.emplace_back(egress.egress_stop_argv(spec, egress_files(b, spec)), "egress");
  if (const auto pipelock = managed_pipelock_of(host_, store_.dirs(), spec))
    stops.emplace_back(daemon_stop_argv(pipelock->daemon()), "pipelock");
  return stops;
}

void Bottles::stop_egress(Backend& b, const BottleSpec& spec) {
  if (!egress_runs(b, spec)) return;
  std::string failures;
  // Each one even when another failed: nothing may be left running.
  for (const auto& [argv, what] : egress_stop_argvs(b, spec, false)) {
    const ProcessResult r = runner_.run(Command{.argv = argv});
    if (!r.ok())
      failures +=
          fmt::format("{}stop {}: {} failed: {}", failures.empty() ? "" : "; ", what, argv.front(), trimmed_detail(r));
  }
  if (!failures.empty()) throw Error(ErrorKind::backend, fmt::format("bottle {}: {}", spec.name, failures));
}

void Bottles::stop_egress_quietly(Backend& b, const BottleSpec& spec) noexcept {
  try {
    for (const auto& [argv, what] : egress_stop_argvs(b, spec, false)) runner_.run(Command{.argv = argv});
  } catch (...) {
    // Best effort: this runs while another error is being reported.
  }
}

void Bottles::stop_host_processes(Backend& b, const BottleSpec& spec) noexcept {
  try {
    if (!egress_runs(b, spec)) return;
    for (const auto& [argv, what] : egress_stop_argvs(b, spec, true)) runner_.run(Command{.argv = argv});
  } catch (...) {
    // Best effort: this runs while another error is being reported.
  }
}

void Bottles::provision_egress_trust(Backend& b, const BottleSpec& spec) {
  // A cluster's agent reads the bundle from its ConfigMap, made with the egress objects.
  if (!egress_runs(b, spec) || b.require_egress().egress_placement() == EgressPlacement::cluster) return;
  const EgressCa ca = ensure_egress_ca(runner_, store_.dirs());
  const std::string bundle = build_agent_ca_bundle(read_system_ca_bundle(), ca.cert_pem);
  if (b.require_egress().agent_ca_from_host()) write_agent_ca_dir(egress_files(b, spec), bundle);
  else b.install_file(spec, std::string(default_guest_ca_bundle_path), bundle, "root:root", 0644);
}

}  // namespace bottle
