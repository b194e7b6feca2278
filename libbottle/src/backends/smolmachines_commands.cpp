#include "bottle/backends/smolmachines_commands.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>

#include "bottle/core/error.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/spec/agent.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

void append_env(Argv& argv, const std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) {
    argv.emplace_back("-e");
    argv.push_back(key + "=" + value);
  }
}

// smolvm has no --user on exec; the agent user is reached with runuser, which
// sits in the exec framing so that resume wrapping keeps it.
Argv user_switch(const std::string& user) {
  if (user.empty() || user == "root") return {};
  return {"runuser", "-u", user, "--"};
}

}  // namespace

bool SmolvmVersion::at_least(int ma, int mi, int pa) const {
  if (major != ma) return major > ma;
  if (minor != mi) return minor > mi;
  return patch >= pa;
}

std::string SmolvmVersion::text() const { return fmt::format("{}.{}.{}", major, minor, patch); }

SmolvmVersion parse_smolvm_version(std::string_view output) {
  // "smolvm 0.8.0" (possibly with a trailing newline or suffix like "-dev").
  constexpr std::string_view prefix = "smolvm ";
  const auto malformed = [] {
    return Error(ErrorKind::backend, "smolvm --version: unexpected output (expected \"smolvm X.Y.Z\")");
  };
  if (output.substr(0, prefix.size()) != prefix) throw malformed();
  std::string_view version = output.substr(prefix.size());
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    std::size_t digits = 0;
    while (digits < version.size() && version[digits] >= '0' && version[digits] <= '9') ++digits;
    if (digits == 0 || digits > 6) throw malformed();
    parts[i] = std::stoi(std::string(version.substr(0, digits)));
    version.remove_prefix(digits);
    if (i < 2) {
      if (version.empty() || version.front() != '.') throw malformed();
      version.remove_prefix(1);
    }
  }
  return {parts[0], parts[1], parts[2]};
}

SmolvmGrammar smolvm_grammar(const SmolvmVersion& version) {
  return version.at_least(1, 0, 2) ? SmolvmGrammar::flag_names : SmolvmGrammar::positional_names;
}

SmolvmGrammar smolvm_grammar_for_version(std::string_view output) {
  return smolvm_grammar(parse_smolvm_version(output));
}

SmolmachinesCommands::SmolmachinesCommands(SmolmachinesOptions options) : options_(std::move(options)) {}

SmolvmVersion SmolmachinesCommands::version() const {
  if (!options_.probe_version) return options_.version;
  // A backend may be shared by threads (the dashboard's worker and UI): one probe.
  std::lock_guard lock(version_mutex_);
  if (!probed_version_) probed_version_ = options_.probe_version();
  return *probed_version_;
}

std::vector<Argv> SmolmachinesCommands::create_argvs(const BottleSpec& spec, const std::vector<GuardMount>&) const {
  Argv argv{options_.smolvm, "machine", "create"};
  if (grammar() == SmolvmGrammar::flag_names) argv.insert(argv.end(), {"--name", object_name(spec.name)});
  else argv.push_back(object_name(spec.name));
  argv.insert(argv.end(), {"--image", spec.image});
  if (spec.resources.cpus > 0) argv.insert(argv.end(), {"--cpus", std::to_string(spec.resources.cpus)});
  argv.insert(argv.end(), {"--mem", std::to_string(spec.resources.memory_mib > 0 ? spec.resources.memory_mib
                                                                                 : default_memory_mib)});
  for (const auto& m : spec.workspaces) {
    argv.emplace_back("-v");
    argv.push_back(m.host + ":" + m.guest + (m.read_only ? ":ro" : ""));
  }
  // Without --net the VM has no network at all. With egress its one way out is the
  // gateway, which smolvm relays to the host's loopback, where egress listens.
  if (guest_egress(spec).enabled)
    argv.insert(argv.end(),
                {"--net", "--net-backend", "virtio-net", "--allow-cidr", std::string(smolvm_gateway) + "/32"});
  return {argv};
}

Argv SmolmachinesCommands::start_argv(const BottleSpec& spec) const {
  return {options_.smolvm, "machine", "start", "--name", object_name(spec.name)};
}

Argv SmolmachinesCommands::stop_argv(const BottleSpec& spec) const {
  return {options_.smolvm, "machine", "stop", "--name", object_name(spec.name)};
}

std::vector<Argv> SmolmachinesCommands::remove_argvs(const BottleSpec& spec) const {
  Argv argv{options_.smolvm, "machine", "delete"};
  if (grammar() == SmolvmGrammar::flag_names) argv.insert(argv.end(), {"--name", object_name(spec.name)});
  else argv.push_back(object_name(spec.name));
  argv.emplace_back("-f");
  return {argv};
}

Argv SmolmachinesCommands::list_argv() const { return {options_.smolvm, "machine", "ls", "--json"}; }

Argv SmolmachinesCommands::exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const {
  Argv argv{options_.smolvm, "machine", "exec", "--name", object_name(spec.name)};
  if (options.forward_stdin || options.tty) argv.emplace_back("-i");
  if (options.tty) argv.emplace_back("-t");
  if (!options.workdir.empty()) argv.insert(argv.end(), {"-w", options.workdir});
  append_env(argv, options.env);
  argv.emplace_back("--");
  const Argv su = user_switch(options.user);
  argv.insert(argv.end(), su.begin(), su.end());
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

AgentArgv SmolmachinesCommands::agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const {
  AgentArgv result;
  if (tty) {
    if (options_.pty_resize.empty())
      throw Error(ErrorKind::not_found,
                  "pty-resize wrapper not found: TTY sessions in smolmachines bottles need it "
                  "(set BOTTLE_PTY_RESIZE or reinstall bottle)");
    result.prefix = {options_.pty_resize, object_name(spec.name), "--"};
  }
  result.prefix.insert(result.prefix.end(), {options_.smolvm, "machine", "exec", "--name", object_name(spec.name)});
  if (tty) result.prefix.emplace_back("-t");
  result.prefix.insert(result.prefix.end(), {"-w", spec.guest_workdir()});
  append_env(result.prefix, guest_env(spec));
  result.prefix.emplace_back("--");
  const Argv su = user_switch(spec.user);
  result.prefix.insert(result.prefix.end(), su.begin(), su.end());
  result.tail = agent_command(spec, agent_args);
  return result;
}

namespace {

// smolvm's machine states: created, running, stopped.
EngineState state_from_smolvm(std::string_view state) {
  if (state == "running") return EngineState::running;
  if (state == "stopped") return EngineState::stopped;
  if (state == "created") return EngineState::created;
  return EngineState::other;
}

}  // namespace

// What smolvm prints when `machine delete` names a machine that does not exist
// differs between versions ("Error: vm not found: NAME", "machine 'NAME' not
// found"); both say "not found", and a delete fails that way for no other reason.
bool SmolmachinesCommands::is_gone(const ProcessResult& result) const {
  return result.err.find("not found") != std::string::npos;
}

std::vector<BottleInfo> SmolmachinesCommands::parse_list(const std::string& output) const {
  boost::system::error_code ec;
  const json::value doc = json::parse(output, ec);
  if (ec || !doc.is_array()) throw Error(ErrorKind::backend, "smolvm machine ls --json: output is not a JSON array");
  std::vector<BottleInfo> rows;
  for (const auto& entry : doc.get_array()) {
    const auto* obj = entry.if_object();
    const auto* name = obj ? obj->if_contains("name") : nullptr;
    const auto* state = obj ? obj->if_contains("state") : nullptr;
    if (name == nullptr || !name->is_string() || state == nullptr || !state->is_string())
      throw Error(ErrorKind::backend, "smolvm machine ls --json: an entry lacks a string name or state");
    const std::string machine(name->get_string());
    if (machine.rfind(object_prefix, 0) != 0) continue;  // not one of bottle's machines
    // bottle names its machines bottle-NAME with a valid NAME; any other machine
    // that merely starts with the prefix is not bottle's, and its name never
    // reaches a table, a terminal or an argv.
    const std::string bottle_name = machine.substr(object_prefix.size());
    if (bottle_name_problem(bottle_name)) continue;
    const std::string machine_state(state->get_string());
    if (machine_state.empty() || machine_state.size() > 32 ||
        !std::all_of(machine_state.begin(), machine_state.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      throw Error(ErrorKind::backend,
                  fmt::format("smolvm machine ls --json: machine {}: the state is not a machine state "
                              "(lowercase letters)",
                              machine));
    BottleInfo info;
    info.name = bottle_name;
    info.backend = BackendKind::smolmachines;
    info.state = state_from_smolvm(machine_state);
    if (info.state == EngineState::other) info.other_state = machine_state;
    if (const auto* created = obj->if_contains("created_at"); created && created->is_int64())
      info.created_unix = created->get_int64();
    rows.push_back(std::move(info));
  }
  return rows;
}

std::string SmolmachinesCommands::egress_unavailable_reason() const {
  const SmolvmVersion installed = version();
  if (!installed.at_least(smolvm_egress_minimum.major, smolvm_egress_minimum.minor, smolvm_egress_minimum.patch))
    return fmt::format(
        "smolvm {} cannot confine a VM's network to egress (needs smolvm {} or later: "
        "an enforced allow-list and the gateway to the host)",
        installed.text(), smolvm_egress_minimum.text());
  if (options_.egress_program.empty())
    return "egress needs bottle-egress on the host, and it was not found beside bottle-cli (set BOTTLE_EGRESS)";
  return "";
}

const EgressCommands* SmolmachinesCommands::egress() const {
  return egress_unavailable_reason().empty() ? this : nullptr;
}

GuestEgress SmolmachinesCommands::guest_egress(const BottleSpec& spec) const {
  if (!spec.egress.enabled || !egress_unavailable_reason().empty()) return {};
  return {.enabled = true,
          .proxy_url = fmt::format("http://{}:{}", smolvm_gateway, spec.egress.port),
          .ca_bundle_path = std::string(default_guest_ca_bundle_path)};
}

std::vector<Argv> SmolmachinesCommands::egress_create_argvs(const BottleSpec&, const EgressFiles&,
                                                            const EgressUpstream&) const {
  return {};
}

HostDaemon SmolmachinesCommands::egress_daemon(const BottleSpec& spec, const EgressFiles& files,
                                               const EgressUpstream& upstream) const {
  if (spec.egress.port <= 0 || spec.egress.port > 65535)
    throw Error(ErrorKind::internal, fmt::format("bottle {} has no egress port", spec.name));
  EgressLaunch launch{.program = options_.egress_program,
                      .listen_host = "127.0.0.1",
                      .listen_port = static_cast<std::uint16_t>(spec.egress.port),
                      .ca_file = (files.conf_dir / "mitmproxy-ca.pem").string(),
                      .confdir = files.conf_dir.string(),
                      .routes_path = (files.routes_dir / "routes.json").string()};
  if (!upstream.proxy.empty()) launch.upstream_proxy = upstream.proxy;
  if (!upstream.trusted_ca_file.empty()) launch.upstream_trusted_ca = upstream.trusted_ca_file;
  Argv args = bottle_egress_argv(launch);
  args.erase(args.begin());
  // Readiness: bottle-egress sends READY=1 once it listens, so start returns only
  // then, and fails if it cannot listen.
  return HostDaemon{.program = options_.egress_program,
                    .args = std::move(args),
                    .pid_file = files.run_dir / "bottle-egress.pid",
                    .log_file = files.run_dir / "bottle-egress.log",
                    .process_name = "bottle-egress"};
}

Argv SmolmachinesCommands::egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                                             const EgressUpstream& upstream) const {
  return daemon_start_argv(egress_daemon(spec, files, upstream));
}

Argv SmolmachinesCommands::egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const {
  return daemon_status_argv(egress_daemon(spec, files, {}));
}

Argv SmolmachinesCommands::egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const {
  return daemon_stop_argv(egress_daemon(spec, files, {}));
}

std::optional<EngineState> SmolmachinesCommands::host_egress_state(const BottleSpec& spec,
                                                                   const EgressFiles& files) const {
  return daemon_running(egress_daemon(spec, files, {})) ? EngineState::running : EngineState::stopped;
}

}  // namespace bottle
