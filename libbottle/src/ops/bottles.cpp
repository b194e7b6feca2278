#include "bottle/ops/bottles.hpp"

#include <fmt/format.h>
#include <algorithm>

#include <boost/json.hpp>
#include <filesystem>
#include <set>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/backends/podman_commands.hpp"
#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/host_daemon.hpp"
#include "bottle/core/locate.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "bottle/ops/clone_ops.hpp"
#include "bottle/ops/kube_egress.hpp"
#include "bottle/ops/object_cache.hpp"
#include "bottle/ops/start_check.hpp"
#include "bottle/spec/agent.hpp"
#include "bottle/spec/prompt_file.hpp"
#include "bottle/workspace/workspace_guard.hpp"
#include "bottle/workspace/workspace_sentinel.hpp"

namespace bottle {

namespace {

// The protection applied to a bottle, one line per mount ("ro|at GUEST"): a
// container's at create (paths that appear later are not in it, and start says
// so), a guest's at its last start.
std::filesystem::path guard_plan_path(const StateDirs& dirs, const std::string& name) {
  return dirs.bottle_state_dir(name) / "workspace-guard.txt";
}
std::string guard_plan_line(const GuardMount& mount) {
  return fmt::format("{} {}\n", mount.read_only ? "ro" : "at", mount.guest);
}
std::string guard_plan_text(const std::vector<GuardMount>& guard) {
  std::string text;
  for (const auto& mount : guard) text += guard_plan_line(mount);
  return text;
}

// An engine that binds the prompt file (PromptDelivery::bind_copy) binds bottle's own copy,
// rewritten before create and every start: an engine follows links when it binds,
// and the file the user named may be in the agent's workspace (prompt_file.hpp).
std::filesystem::path prompt_copy_path(const StateDirs& dirs, const std::string& name) {
  return dirs.bottle_state_dir(name) / "prompt.md";
}
bool binds_prompt(const Backend& b, const BottleSpec& spec) {
  return !spec.prompt_file.empty() && b.commands().prompt_delivery() == PromptDelivery::bind_copy;
}
void copy_prompt_file(const Backend& b, const BottleSpec& spec, const StateDirs& dirs) {
  if (!binds_prompt(b, spec)) return;
  // 0644: the bottle's user reads it through the bind; it is the user's prompt, no secret.
  write_file_atomic(prompt_copy_path(dirs, spec.name), read_prompt_file(spec.prompt_file, "prompt_file"), 0644);
}
// What create binds read-only into the bottle: the workspace protection, and the
// prompt file's copy where the engine binds it.
std::vector<GuardMount> create_binds(const Backend& b, const BottleSpec& spec, const StateDirs& dirs,
                                     std::vector<GuardMount> guard) {
  if (binds_prompt(b, spec))
    guard.push_back(GuardMount{.host = prompt_copy_path(dirs, spec.name).string(),
                               .guest = std::string(guest_prompt_path),
                               .read_only = true});
  return guard;
}

// The sentinel is bottle-cli itself (`guard NAME`), run from where this program is:
// bottle-cli, or a sibling of it (the dashboard, tests).
std::string sentinel_program() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(ErrorKind::isolation, "workspace sentinel: cannot find this program (/proc/self/exe)");
  const std::filesystem::path cli = self.filename() == "bottle-cli" ? self : self.parent_path() / "bottle-cli";
  if (!std::filesystem::exists(cli, ec))
    throw Error(ErrorKind::isolation, fmt::format("workspace sentinel: {} not found (install bottle-cli next to {})",
                                                  cli.string(), self.filename().string()));
  return cli.string();
}

HostDaemon sentinel_daemon(const StateDirs& dirs, const std::string& name, std::string program = {}) {
  const std::filesystem::path state = dirs.bottle_state_dir(name);
  return HostDaemon{.program = std::move(program),
                    .args = {"guard", name},
                    .pid_file = state / "sentinel.pid",
                    .log_file = state / "sentinel.log",
                    .process_name = "bottle-cli",
                    .notifies_ready = true,
                    .ready_timeout_seconds = 60};
}

bool has_writable_workspace(const BottleSpec& spec) {
  return std::any_of(spec.workspaces.begin(), spec.workspaces.end(), [](const Mount& m) { return !m.read_only; });
}

std::filesystem::path placeholders_path(const StateDirs& dirs, const std::string& name) {
  return dirs.bottle_state_dir(name) / "workspace-placeholders.json";
}

std::vector<std::string> load_placeholders(const StateDirs& dirs, const std::string& name) {
  const std::filesystem::path file = placeholders_path(dirs, name);
  if (!std::filesystem::exists(file)) return {};
  std::vector<std::string> paths;
  const boost::json::value list = boost::json::parse(read_file(file));
  for (const auto& item : list.as_array()) paths.emplace_back(item.as_string());
  return paths;
}

// Placeholders stay for the bottle's life (a container's mounts need them at every
// start) and go with it at rm.
void record_placeholders(const StateDirs& dirs, const std::string& name, const std::vector<std::string>& made) {
  if (made.empty()) return;
  std::vector<std::string> all = load_placeholders(dirs, name);
  all.insert(all.end(), made.begin(), made.end());
  write_file_atomic(placeholders_path(dirs, name), boost::json::serialize(boost::json::array(all.begin(), all.end())),
                    0600);
}

std::string last_lines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.size() > 400 ? "..." + text.substr(text.size() - 400) : text;
}

}  // namespace

std::unique_ptr<Backend> make_default_backend(BackendKind kind, Runner& runner, const Host& host,
                                              const StateDirs& dirs) {
  const EngineTimeouts timeouts = engine_timeouts_from(host.env_or(Var::bottle_engine_timeout, ""));
  if (kind == BackendKind::docker) {
    DockerOptions options{.docker = host.env_or(Var::bottle_docker, "docker"),
                          .egress_image = host.env_or(Var::bottle_egress_image, "bottle-egress:latest")};
    auto docker = std::make_unique<Backend>(runner, std::make_unique<DockerCommands>(options));
    docker->set_engine_timeouts(timeouts);
    return docker;
  }
  if (kind == BackendKind::kubernetes) {
    KubernetesOptions options{.kubectl = host.env_or(Var::bottle_kubectl, "kubectl"), .objects = {}};
    options.objects.egress_image = host.env_or(Var::bottle_egress_image, "bottle-egress:latest");
    options.egress_inputs = [host, dirs](const BottleSpec& spec) { return kube_egress_inputs(host, dirs, spec); };
    auto kubernetes = std::make_unique<Backend>(runner, std::make_unique<KubernetesCommands>(std::move(options)));
    kubernetes->set_engine_timeouts(timeouts);
    return kubernetes;
  }
  if (kind == BackendKind::podman) {
    PodmanOptions options{.podman = host.env_or(Var::bottle_podman, "podman"), .objects = {}};
    options.objects.egress_image = host.env_or(Var::bottle_egress_image, "bottle-egress:latest");
    auto podman = std::make_unique<Backend>(runner, std::make_unique<PodmanCommands>(options));
    podman->set_engine_timeouts(timeouts);
    return podman;
  }

  SmolmachinesOptions options;
  options.smolvm = host.env_or(Var::bottle_smolvm, "smolvm");
  // Asked when an operation first needs it, not here: building a backend (e.g. on
  // the dashboard's UI thread) must not wait for smolvm.
  options.probe_version = [&runner, smolvm = options.smolvm, limit = timeouts.query] {
    const Argv version_argv{smolvm, "--version"};
    const ProcessResult version = runner.run(Command{.argv = version_argv, .timeout = limit});
    if (version.timed_out())
      throw Error(ErrorKind::backend, "smolmachines: " + engine_timeout_message(version_argv, limit));
    if (!version.started())
      throw Error(ErrorKind::program_missing,
                  fmt::format("smolmachines: could not run {}: {}", smolvm, version.start_error));
    if (!version.ok())
      throw Error(ErrorKind::backend,
                  fmt::format("smolmachines: {} --version failed (status {})", smolvm, version.shell_status()));
    return parse_smolvm_version(version.out);
  };
  try {
    options.egress_program = locate_bottle_egress(host).string();
  } catch (const Error& e) {
    // Only bottles with egress need it; egress_unavailable_reason() says so.
    if (e.kind() != ErrorKind::not_found) throw;
  }
  try {
    options.pty_resize = locate_pty_resize(host).string();
  } catch (const Error& e) {
    // Only TTY sessions need the wrapper; agent_argv reports its absence then.
    if (e.kind() != ErrorKind::not_found) throw;
  }
  auto smolmachines = std::make_unique<Backend>(runner, std::make_unique<SmolmachinesCommands>(options));
  smolmachines->set_engine_timeouts(timeouts);
  return smolmachines;
}

BackendFactory default_backends(Host host, StateDirs dirs) {
  return [host = std::move(host), dirs = std::move(dirs)](BackendKind kind, Runner& runner) {
    return make_default_backend(kind, runner, host, dirs);
  };
}

Bottles::Bottles(const Host& host, Runner& runner, StateDirs dirs, BackendFactory factory)
    : host_(host),
      runner_(runner),
      store_(std::move(dirs)),
      factory_(factory ? std::move(factory) : default_backends(host, store_.dirs())) {
  provision_steps_.push_back(install_prompt_file);
  provision_steps_.push_back(
      [this](Backend& b, const BottleSpec& spec, const StateDirs& state) { populate_clone(runner_, b, spec, state); });
  provision_steps_.push_back(
      [this](Backend& b, const BottleSpec& spec, const StateDirs&) { provision_egress_trust(b, spec); });
  provision_steps_.push_back(
      [this](Backend& b, const BottleSpec& spec, const StateDirs&) { restore_sessions_once(b, spec); });
}

Backend& Bottles::backend(BackendKind kind) {
  auto it = backends_.find(kind);
  if (it == backends_.end()) it = backends_.emplace(kind, factory_(kind, runner_)).first;
  return *it->second;
}

void Bottles::provision(Backend& b, const BottleSpec& spec) {
  for (const auto& step : provision_steps_) step(b, spec, store_.dirs());
}

void Bottles::create(const BottleSpec& requested, bool start_it, const StartOptions& options) {
  validate_spec(requested);
  if (requested.forward_host_credentials && !requested.egress.enabled)
    throw Error(ErrorKind::invalid_input,
                "spec: $.forward_host_credentials: needs egress (it is what injects the real credentials)");
  Backend& b = backend(requested.backend);
  const bool needs_egress = requested.forward_host_credentials || !requested.egress.routes.empty();
  if (needs_egress && !b.commands().egress_unavailable_reason().empty())
    throw Error(ErrorKind::isolation,
                fmt::format("{}, so this bottle cannot get forwarded credentials or egress routes (it would "
                            "have no network at all)",
                            b.commands().egress_unavailable_reason()));
  if (store_.exists(requested.name))
    throw Error(ErrorKind::conflict, fmt::format("a bottle named \"{}\" already exists", requested.name));
  const auto existing = b.list({requested});
  if (std::any_of(existing.begin(), existing.end(), [&](const BottleInfo& i) { return i.name == requested.name; }))
    throw Error(ErrorKind::conflict,
                fmt::format("the {} engine already has a bottle named \"{}\" (remove it with `bottle-cli rm {}`)",
                            to_string(requested.backend), requested.name, requested.name));
  BottleSpec spec = requested;
  // Clone mode: the host repo is checked and the base fixed before anything exists.
  if (spec.repo) spec.repo = resolve_clone_repo(runner_, spec, warn_);
  // Its shared object cache is filled before the bottle exists: a fill that fails
  // leaves no bottle behind.
  fill_object_cache(runner_, b, spec, store_.dirs());
  // A host-side egress keeps one port for the bottle's life: the guest's proxy
  // address is built from it.
  if (egress_runs(b, spec) && b.require_egress().egress_placement() == EgressPlacement::host && spec.egress.port == 0)
    spec.egress.port = host_.ports().pick_free_port("127.0.0.1");
  std::vector<std::string> made_placeholders;
  try {
    // A workspace path that cannot be protected stops the bottle here, before
    // anything exists (Error(isolation), exit 6).
    made_placeholders = make_placeholders(spec);
    const std::vector<GuardMount> guard = guard_mounts(spec);
    copy_prompt_file(b, spec, store_.dirs());
    const std::vector<GuardMount> binds = create_binds(b, spec, store_.dirs(), guard);
    if (egress_runs(b, spec)) create_with_egress(b, spec, binds);
    else b.create(spec, binds);
    // Recorded once the engine has the bottle: a create that fails before leaves
    // no state behind.
    record_placeholders(store_.dirs(), spec.name, made_placeholders);
    write_file_atomic(guard_plan_path(store_.dirs(), spec.name), guard_plan_text(guard), 0600);
    if (start_it) {
      start_egress(b, spec);
      // A bottle that fails its check goes like any failed create: entirely.
      if (const auto failed = bring_up(b, spec, options))
        throw Error(ErrorKind::isolation, start_refused_message(spec.name, *failed, /*removed=*/true));
    }
    store_.save(spec);
  } catch (...) {
    // Undo whatever part exists; the original error is what the user needs to see.
    stop_host_processes(b, spec);
    stop_sentinel(spec);
    for (const auto& argv : b.commands().remove_argvs(spec)) runner_.run(b.engine_command(argv));
    remove_placeholders(made_placeholders);
    std::error_code ec;
    std::filesystem::remove_all(store_.dirs().bottle_state_dir(spec.name), ec);
    throw;
  }
}

// The dummy credential files go in once, at the first start: afterwards the agent
// owns them (it rewrites them when it refreshes), and a restart must not undo that.
void Bottles::install_forwarded_files(Backend& b, const BottleSpec& spec) {
  const std::filesystem::path marker = store_.dirs().bottle_state_dir(spec.name) / "credentials-installed";
  if (b.commands().keeps_home_across_stop() && std::filesystem::exists(marker)) return;
  const auto forwarded = load_forwarded_state(store_.dirs(), spec.name);
  if (!forwarded || forwarded->files.empty()) return;
  install_guest_files(b, spec, forwarded->files);
  write_file_atomic(marker, "", 0600);
}

void Bottles::start(const std::string& name, const StartOptions& options) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  // A container's protection mounts need their placeholders to exist again.
  record_placeholders(store_.dirs(), name, make_placeholders(spec));
  start_egress(b, spec);
  std::optional<CanaryResult> failed;
  try {
    failed = bring_up(b, spec, options);
    if (failed) throw Error(ErrorKind::isolation, start_refused_message(name, *failed));
  } catch (...) {
    // A bottle that could not be started or provisioned (e.g. its isolation) must
    // not run, nor leave its host processes behind.
    runner_.run(b.engine_command(b.commands().stop_argv(spec)));
    // One that failed its check is stopped as `stop` would: its egress too.
    if (failed && egress_runs(b, spec)) stop_egress_quietly(b, spec);
    else stop_host_processes(b, spec);
    stop_sentinel(spec);
    throw;
  }
}

std::optional<CanaryResult> Bottles::bring_up(Backend& b, const BottleSpec& spec, const StartOptions& options) {
  copy_prompt_file(b, spec, store_.dirs());
  b.start(spec);
  // The probe only opens connections (as root, touching no file of the bottle), so
  // it runs alongside provisioning: the check costs the wait for the slower of the two.
  std::optional<StartProbe> probe;
  if (options.check) probe.emplace(runner_, b, spec);
  protect_workspace(b, spec);
  provision(b, spec);
  install_forwarded_files(b, spec);
  if (probe)
    if (auto failed = first_failed_canary(probe->results())) return failed;
  set_unchecked_marker(store_.dirs(), spec.name, !options.check);
  return std::nullopt;
}

void Bottles::protect_workspace(Backend& b, const BottleSpec& spec) {
  const std::vector<GuardMount> guard = guard_mounts(spec);
  if (b.commands().protects_in_guest()) {
    if (!guard.empty()) {
      const ProcessResult r = b.exec(spec, {"sh", "-c", guest_protection_script(guard)}, ExecOptions{.user = "root"});
      if (!r.ok())
        throw Error(ErrorKind::isolation,
                    fmt::format("workspace protection could not be applied in bottle {} (status {}): {}", spec.name,
                                r.shell_status(), last_lines(r.err.empty() ? r.out : r.err)));
    }
    write_file_atomic(guard_plan_path(store_.dirs(), spec.name), guard_plan_text(guard), 0600);
  } else {
    // A container's mounts were fixed at create: what appeared since is unprotected.
    const std::filesystem::path plan_file = guard_plan_path(store_.dirs(), spec.name);
    const std::string fixed = std::filesystem::exists(plan_file) ? read_file(plan_file) : std::string();
    for (const auto& mount : guard)
      if (fixed.find(guard_plan_line(mount)) == std::string::npos)
        warn_(
            fmt::format("workspace: {} is not protected in this bottle (it appeared after the bottle was "
                        "created; recreate the bottle to protect it)",
                        mount.host));
  }
  write_file_atomic(store_.dirs().bottle_state_dir(spec.name) / "workspace-manifest.json",
                    manifest_to_json(take_manifest(spec)), 0600);
  if (!has_writable_workspace(spec)) return;
  // What the sentinel watches, fixed now: the stored spec may not exist yet (create).
  const ProtectionPolicy policy = protection_policy(spec);
  boost::json::array roots, allowed;
  for (const auto& workspace : spec.workspaces) {
    if (workspace.read_only) continue;
    roots.emplace_back(workspace.host);
    const WorkspaceScan scan = scan_workspace(workspace.host, policy);
    for (const auto& [relative, kind] : scan.entries)
      if (kind != EntryKind::missing && std::filesystem::path(relative).filename() == ".git")
        allowed.emplace_back((std::filesystem::path(workspace.host) / relative).string());
    for (const auto& git_dir : scan.git_dirs)
      allowed.emplace_back((std::filesystem::path(workspace.host) / git_dir).string());
  }
  // A new baseline, so the last run's quarantines (reported at its stop) are done.
  std::error_code ec;
  std::filesystem::remove(store_.dirs().bottle_state_dir(spec.name) / std::string(sentinel_events_file), ec);
  std::filesystem::remove(store_.dirs().bottle_state_dir(spec.name) / "sentinel-unwatched", ec);
  write_file_atomic(store_.dirs().bottle_state_dir(spec.name) / "sentinel.json",
                    boost::json::serialize(boost::json::object{{"roots", roots}, {"allowed", allowed}}), 0600);
  // The sentinel is up, watching, before anything runs in the bottle.
  const HostDaemon sentinel = sentinel_daemon(store_.dirs(), spec.name, sentinel_program());
  const ProcessResult r = runner_.run(Command{.argv = daemon_start_argv(sentinel)});
  if (!r.ok())
    throw Error(ErrorKind::isolation, fmt::format("the workspace sentinel of {} did not start (status {}); see {}",
                                                  spec.name, r.shell_status(), sentinel.log_file.string()));
}

void Bottles::stop_sentinel(const BottleSpec& spec) noexcept {
  if (!has_writable_workspace(spec)) return;  // it has none
  try {
    runner_.run(Command{.argv = daemon_stop_argv(sentinel_daemon(store_.dirs(), spec.name))});
  } catch (const std::exception&) {
    // Best effort: it also exits by itself once the bottle's state is gone.
  }
}

void Bottles::run_sentinel(const std::string& name, const std::atomic<bool>& stop, const std::function<void()>& ready) {
  const std::filesystem::path state = store_.dirs().bottle_state_dir(name);
  std::vector<std::filesystem::path> roots;
  std::set<std::string> allowed;
  try {
    const boost::json::object plan = boost::json::parse(read_file(state / "sentinel.json")).as_object();
    for (const auto& root : plan.at("roots").as_array()) roots.emplace_back(std::string(root.as_string()));
    for (const auto& path : plan.at("allowed").as_array()) allowed.emplace(path.as_string());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::io, fmt::format("workspace sentinel of {}: cannot read its plan: {}", name, e.what()));
  }
  const std::filesystem::path events = state / std::string(sentinel_events_file);
  WorkspaceSentinel sentinel(roots, allowed, [&](const SentinelEvent& event) { append_sentinel_event(events, event); });
  if (const std::size_t unwatched = sentinel.arm(); unwatched > 0)
    write_file_atomic(state / "sentinel-unwatched", std::to_string(unwatched), 0600);
  ready();
  sentinel.run(stop, [&] { return std::filesystem::exists(state); });
}

std::vector<WorkspaceChange> Bottles::workspace_changes(const std::string& name) const {
  const BottleSpec spec = store_.load(name);
  const std::filesystem::path state = store_.dirs().bottle_state_dir(name);
  const std::filesystem::path baseline = state / "workspace-manifest.json";
  std::vector<WorkspaceChange> changes;
  if (std::filesystem::exists(baseline))
    changes = compare_manifests(manifest_from_json(read_file(baseline)), take_manifest(spec));
  for (const auto& event : read_sentinel_events(state / std::string(sentinel_events_file)))
    changes.push_back({event.path, event.quarantined.empty() ? std::string("new repository, could not be quarantined")
                                                             : "new repository, quarantined as " + event.quarantined});
  if (const auto unwatched = state / "sentinel-unwatched"; std::filesystem::exists(unwatched))
    changes.push_back({"(sentinel)", fmt::format("{} directories could not be watched (raise "
                                                 "fs.inotify.max_user_watches); new repositories there are only "
                                                 "reported",
                                                 read_file(unwatched))});
  return changes;
}

std::vector<std::string> Bottles::unprotected_paths(const std::string& name) {
  const BottleSpec spec = store_.load(name);
  if (engine_state(spec) != EngineState::running) return {};
  Backend& b = backend(spec.backend);
  const ProcessResult r = b.exec(spec, {"cat", "/proc/self/mountinfo"}, ExecOptions{.user = "root"});
  if (!r.ok())
    throw Error(ErrorKind::backend,
                fmt::format("check {}: cannot read the bottle's mount table (status {})", name, r.shell_status()));
  const std::set<std::string> points = mount_points(r.out);
  const std::filesystem::path plan_file = guard_plan_path(store_.dirs(), name);
  const std::string plan = std::filesystem::exists(plan_file) ? read_file(plan_file) : std::string();
  std::vector<std::string> missing;
  std::size_t start = 0;
  while (start < plan.size()) {
    const auto end = plan.find('\n', start);
    const std::string line = plan.substr(start, end - start);
    start = end == std::string::npos ? plan.size() : end + 1;
    if (line.size() > 3 && points.count(line.substr(3)) == 0) missing.push_back(line.substr(3));
  }
  return missing;
}

void Bottles::stop(const std::string& name) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  // Saving the sessions needs a running bottle. An engine that cannot say so is left
  // for b.stop to report: stop fails with its own error, not the save's.
  bool running = false;
  try {
    running = engine_state(spec) == EngineState::running;
  } catch (const Error& e) {
    warn_(fmt::format("sessions: the agent's sessions of {} were not saved: {}", name, e.what()));
  }
  if (running) save_sessions_quietly(b, spec);
  b.stop(spec);
  stop_sentinel(spec);
  drain_egress_audit_quietly(spec);  // the egress pod's log goes with the pod
  stop_egress(b, spec);
  // Reported, not fatal: the bottle is stopped either way.
  try {
    for (const auto& change : workspace_changes(name)) warn_(format_change(change));
  } catch (const Error& e) {
    warn_(fmt::format("workspace: could not compare the protected paths with their state at start: {}", e.what()));
  }
}

EngineState Bottles::engine_state(const BottleSpec& spec) {
  for (const auto& info : backend(spec.backend).list({spec}))
    if (info.name == spec.name) return info.state;
  return EngineState::missing;
}

void Bottles::remove(const std::string& name, bool force) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  const EngineState state = engine_state(spec);
  if (state == EngineState::running && !force)
    throw Error(ErrorKind::conflict, fmt::format("bottle \"{}\" is running; stop it first or use --force{}", name,
                                                 spec.repo ? running_clone_work_note(b, spec) : std::string()));
  if (spec.repo && !force && state == EngineState::stopped) refuse_losing_clone_work(b, spec);
  if (state == EngineState::running) save_sessions_quietly(b, spec);  // the store outlives the bottle
  if (state == EngineState::running) drain_egress_audit_quietly(spec);
  if (state != EngineState::missing) b.remove(spec);  // a container egress goes with it
  stop_host_processes(b, spec);
  stop_sentinel(spec);
  try {
    remove_placeholders(load_placeholders(store_.dirs(), name));
  } catch (const std::exception& e) {
    warn_(fmt::format("workspace: could not remove the empty placeholders bottle made: {}", e.what()));
  }
  store_.remove(name);
}

// What --force would also lose, said while the user can still fetch it; a clone
// that cannot be read just says nothing here.
std::string Bottles::running_clone_work_note(Backend& b, const BottleSpec& spec) {
  try {
    const std::string lost = clone_unfetched_work(runner_, b, spec);
    return lost.empty() ? std::string() : fmt::format(" (--force would lose: {})", lost);
  } catch (const Error&) { return {}; }
}

// The clone lives in the bottle: to see what rm would lose, the stopped bottle runs
// again (it has no egress, so no network) just long enough to be asked.
void Bottles::refuse_losing_clone_work(Backend& b, const BottleSpec& spec) {
  const auto stop_again = [&] {
    try {
      b.stop(spec);
    } catch (const Error&) {
      // Best effort: the question's answer (or its error) is what the caller gets.
    }
    // A cluster bottle's start applies its egress pod along with the agent's.
    if (egress_runs(b, spec) && b.require_egress().egress_placement() == EgressPlacement::cluster)
      stop_egress_quietly(b, spec);
  };
  b.start(spec);
  std::string lost;
  try {
    lost = clone_unfetched_work(runner_, b, spec);
  } catch (...) {
    stop_again();
    throw;
  }
  stop_again();
  if (!lost.empty())
    throw Error(ErrorKind::conflict,
                fmt::format("bottle \"{}\" holds work that removing it would lose: {} (fetch it with `bottle-cli "
                            "fetch {}`, or remove anyway with --force)",
                            spec.name, lost, spec.name));
}

std::vector<BottleRow> Bottles::list() {
  const std::vector<BottleSpec> specs = store_.load_all();
  std::vector<BottleRow> rows;
  std::map<BackendKind, std::vector<BottleInfo>> engine;
  std::map<BackendKind, std::vector<BottleSpec>> by_backend;
  for (const auto& spec : specs) by_backend[spec.backend].push_back(spec);
  for (const auto& [kind, of_kind] : by_backend) engine[kind] = backend(kind).list(of_kind);

  for (const auto& spec : specs) {
    BottleRow row{.name = spec.name,
                  .backend = spec.backend,
                  .agent = spec.agent,
                  .state = EngineState::missing,
                  .workspace = spec.workspaces.empty() ? "" : spec.workspaces.front().host,
                  .egress = spec.egress.enabled ? EgressState::missing : EgressState::off};
    for (const auto& info : engine[spec.backend]) {
      if (info.name != spec.name) continue;
      row.state = info.state;
      row.other_state = info.other_state;
      row.created_unix = info.created_unix;
      const Backend& b = backend(spec.backend);
      std::optional<EngineState> egress_state = info.egress_state;
      if (spec.egress.enabled && !egress_runs(b, spec)) row.egress = EgressState::none;  // and so no network
      else if (!egress_state && egress_runs(b, spec))
        egress_state = b.require_egress().host_egress_state(spec, egress_files(b, spec));
      if (spec.egress.enabled && egress_state)
        row.egress = *egress_state == EngineState::running ? EgressState::on : EgressState::down;
      row.unchecked = info.state == EngineState::running && has_unchecked_marker(store_.dirs(), spec.name);
    }
    rows.push_back(std::move(row));
  }
  for (const auto& [kind, infos] : engine) {
    for (const auto& info : infos) {
      // kind is captured by name: clang 14 cannot capture a structured binding.
      const bool known = std::any_of(specs.begin(), specs.end(), [&, kind = kind](const BottleSpec& s) {
        return s.name == info.name && s.backend == kind;
      });
      if (!known)
        rows.push_back(BottleRow{.name = info.name,
                                 .backend = kind,
                                 .state = info.state,
                                 .other_state = info.other_state,
                                 .created_unix = info.created_unix,
                                 .managed = false});
    }
  }
  return rows;
}

void install_prompt_file(Backend& b, const BottleSpec& spec, const StateDirs&) {
  if (spec.prompt_file.empty() || b.commands().prompt_delivery() != PromptDelivery::root_exec) return;
  b.install_file(spec, std::string(guest_prompt_path), read_prompt_file(spec.prompt_file, "prompt_file"), "root:root",
                 0644);
}

}  // namespace bottle
