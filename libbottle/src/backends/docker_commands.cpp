#include "bottle/backends/docker_commands.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "bottle/core/error.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/spec/agent.hpp"
#include "bottle/workspace/clone_repo.hpp"
#include "bottle/workspace/object_cache.hpp"

namespace bottle {

namespace {

// The container's main process only has to stay alive and stop promptly on
// `docker stop`; everything real runs through `docker exec`. Plain sh works in
// every image, from busybox to Debian.
constexpr std::string_view idle_script = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

std::string network_name(const std::string& container) { return container + "-net"; }
std::string egress_name(const std::string& container) { return container + "-egress"; }

void append_env(Argv& argv, const std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) {
    argv.emplace_back("-e");
    argv.push_back(key + "=" + value);
  }
}

// docker's container states: created, running, paused, restarting, removing,
// exited, dead.
EngineState state_from_docker(std::string_view docker_state) {
  if (docker_state == "running") return EngineState::running;
  if (docker_state == "exited" || docker_state == "dead") return EngineState::stopped;
  if (docker_state == "created") return EngineState::created;
  return EngineState::other;
}

// docker's CreatedAt: "2026-11-26 18:50:00 +0000 UTC".
std::int64_t parse_created_at(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S");
  if (in.fail()) return 0;
  std::string offset;
  in >> offset;
  std::int64_t seconds = timegm(&tm);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (offset.size() == 5 && (offset[0] == '+' || offset[0] == '-') &&
      std::all_of(offset.begin() + 1, offset.end(), digit)) {
    const int hours = (offset[1] - '0') * 10 + (offset[2] - '0');
    const int minutes = (offset[3] - '0') * 10 + (offset[4] - '0');
    const int delta = (hours * 60 + minutes) * 60;
    seconds += offset[0] == '+' ? -delta : delta;
  }
  return seconds;
}

}  // namespace

DockerCommands::DockerCommands(DockerOptions options) : options_(std::move(options)) {}

std::vector<Argv> DockerCommands::create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const {
  const std::string container = object_name(spec.name);
  const std::string managed = fmt::format("{}=1", docker_managed_label);
  const std::string named = fmt::format("{}={}", docker_name_label, spec.name);

  // An internal network has no route out, and with no address on the host's side
  // of the bridge the bottle cannot reach host services either (a plain internal
  // network still lets it connect to the gateway, i.e. the host). Until egress
  // joins it, the bottle reaches nothing at all: fail closed.
  Argv network{options_.docker,
               "network",
               "create",
               "--internal",
               "-o",
               "com.docker.network.bridge.inhibit_ipv4=true",
               "--label",
               managed,
               "--label",
               named,
               network_name(container)};

  Argv create{options_.docker, "create",
              "--name",        container,
              "--hostname",    spec.name,
              "--label",       managed,
              "--label",       named,
              "--label",       fmt::format("{}=bottle", docker_role_label),
              "--network",     network_name(container),
              "--cap-drop",    "ALL"};
  // What provisioning (chown/chmod of installed files) and `runuser` need.
  for (const char* cap : {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"}) {
    create.emplace_back("--cap-add");
    create.emplace_back(cap);
  }
  create.insert(create.end(), {"--security-opt", "no-new-privileges", "--pids-limit", "4096"});
  if (spec.resources.cpus > 0) create.insert(create.end(), {"--cpus", std::to_string(spec.resources.cpus)});
  // Memory and swap alike, so the limit is not just moved to swap.
  const std::string memory =
      fmt::format("{}m", spec.resources.memory_mib > 0 ? spec.resources.memory_mib : default_memory_mib);
  create.insert(create.end(), {"--memory", memory, "--memory-swap", memory});
  for (const auto& m : spec.workspaces) {
    create.emplace_back("-v");
    create.push_back(m.host + ":" + m.guest + (m.read_only ? ":ro" : ""));
  }
  // Docker mounts shallowest first (moby sortMounts), so these land on top of the
  // workspace, and a protected directory's mount on top of its parent's.
  for (const auto& m : guard) {
    create.emplace_back("--mount");
    create.push_back(fmt::format("type=bind,source={},target={}{}", m.host, m.guest, m.read_only ? ",readonly" : ""));
  }
  create.insert(create.end(), {"--entrypoint", "/bin/sh", spec.image, "-c", std::string(idle_script)});
  if (!spec.repo) return {network, create};
  // Clone mode: the workspace is the bottle's own volume, never a host directory.
  const std::string volume = clone_volume_name(spec.name);
  const auto image_at = std::find(create.begin(), create.end(), "--entrypoint");
  // With it, the repository's shared object cache, read-only: no agent alters what
  // another bottle reads.
  create.insert(image_at,
                {"--mount", fmt::format("type=volume,source={},target={}", volume, clone_guest_path), "--mount",
                 fmt::format("type=volume,source={},target={},readonly", object_cache_volume_name(spec.repo->path),
                             object_cache_guest_path)});
  return {network, {options_.docker, "volume", "create", "--label", managed, "--label", named, volume}, create};
}

Argv DockerCommands::start_argv(const BottleSpec& spec) const {
  return {options_.docker, "start", object_name(spec.name)};
}

Argv DockerCommands::stop_argv(const BottleSpec& spec) const {
  return {options_.docker, "stop", object_name(spec.name)};
}

std::vector<Argv> DockerCommands::remove_argvs(const BottleSpec& spec) const {
  const std::string container = object_name(spec.name);
  std::vector<Argv> argvs{{options_.docker, "rm", "-f", container},
                          {options_.docker, "rm", "-f", egress_name(container)},
                          {options_.docker, "network", "rm", network_name(container)}};
  if (spec.repo) argvs.push_back({options_.docker, "volume", "rm", clone_volume_name(spec.name)});
  return argvs;
}

GuestEgress DockerCommands::guest_egress(const BottleSpec& spec) const {
  if (!spec.egress.enabled) return {};
  return {.enabled = true,
          .proxy_url = fmt::format("http://{}:{}", docker_egress_alias, docker_egress_port),
          .ca_bundle_path = std::string(default_guest_ca_bundle_path)};
}

std::vector<Argv> DockerCommands::egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                                      const EgressUpstream& upstream) const {
  const std::string container = object_name(spec.name);
  const Argv create = egress_container_create_argv(
      {.engine = options_.docker,
       .name = egress_name(container),
       .bottle = spec.name,
       .network = {"--network", network_name(container), "--network-alias", std::string(docker_egress_alias)},
       .image = options_.egress_image,
       .program = std::string(docker_egress_program),
       .port = static_cast<std::uint16_t>(docker_egress_port)},
      files, upstream);
  // The way out: Docker's default bridge (pipelock, or the internet).
  Argv connect{options_.docker, "network", "connect", "bridge", egress_name(container)};
  return {create, connect};
}

Argv DockerCommands::egress_start_argv(const BottleSpec& spec, const EgressFiles&, const EgressUpstream&) const {
  return {options_.docker, "start", egress_name(object_name(spec.name))};
}

Argv DockerCommands::egress_probe_argv(const BottleSpec& spec, const EgressFiles&) const {
  Argv probe{options_.docker, "exec", egress_name(object_name(spec.name))};
  const Argv check = bottle_egress_probe_argv(std::string(docker_egress_program), "127.0.0.1", docker_egress_port);
  probe.insert(probe.end(), check.begin(), check.end());
  return probe;
}

Argv DockerCommands::egress_stop_argv(const BottleSpec& spec, const EgressFiles&) const {
  return {options_.docker, "stop", egress_name(object_name(spec.name))};
}

Argv DockerCommands::bridge_inspect_argv() const {
  return {options_.docker,
          "network",
          "inspect",
          "bridge",
          "--format",
          "{{range .IPAM.Config}}{{.Gateway}},{{end}}\t{{index .Options \"com.docker.network.bridge.name\"}}"};
}

BridgeInspect parse_bridge_inspect(std::string_view output) {
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.remove_suffix(1);
  const auto tab = output.find('\t');
  if (tab == std::string_view::npos || output.find('\n') != std::string_view::npos)
    throw Error(ErrorKind::backend,
                "docker network inspect bridge: unexpected output (expected gateways, a tab, "
                "the bridge interface)");
  BridgeInspect result;
  std::string_view gateways = output.substr(0, tab);
  while (!gateways.empty() && result.gateway.empty()) {
    const auto comma = gateways.find(',');
    const std::string candidate(gateways.substr(0, comma));
    gateways = comma == std::string_view::npos ? std::string_view{} : gateways.substr(comma + 1);
    in_addr parsed{};
    // IPv6 gateways of a dual-stack bridge are skipped; only an IPv4 one is usable.
    if (::inet_pton(AF_INET, candidate.c_str(), &parsed) == 1) result.gateway = candidate;
  }
  std::string_view interface = output.substr(tab + 1);
  if (interface == "<no value>") interface = {};
  const auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  };
  if (interface.size() > 15 || !std::all_of(interface.begin(), interface.end(), name_char))
    throw Error(ErrorKind::backend,
                "docker network inspect bridge: the bridge interface name is not a Linux "
                "interface name");
  result.interface = std::string(interface);
  return result;
}

std::optional<EngineState> DockerCommands::host_egress_state(const BottleSpec&, const EgressFiles&) const {
  return std::nullopt;
}

std::string DockerCommands::parent_host_from(std::string_view bridge_inspect_output) const {
  const BridgeInspect bridge = parse_bridge_inspect(bridge_inspect_output);
  if (!bridge.gateway.empty()) return bridge.gateway;
  const std::string interface =
      bridge.interface.empty() ? std::string(docker_default_bridge_interface) : bridge.interface;
  if (auto address = options_.interface_ipv4(interface)) return *address;
  throw Error(ErrorKind::isolation,
              fmt::format("cannot find the Docker bridge's gateway: its IPAM config lists none and interface {} "
                          "has no IPv4 address (is the engine's default bridge up?)",
                          interface));
}

Argv DockerCommands::list_argv() const {
  return {options_.docker,
          "ps",
          "-a",
          "--no-trunc",
          "--filter",
          fmt::format("label={}=1", docker_managed_label),
          "--format",
          fmt::format("{{{{.Label \"{}\"}}}}\t{{{{.State}}}}\t{{{{.CreatedAt}}}}\t{{{{.Label \"{}\"}}}}",
                      docker_name_label, docker_role_label)};
}

Argv DockerCommands::exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const {
  Argv argv{options_.docker, "exec"};
  if (options.tty) argv.emplace_back("-it");
  else if (options.forward_stdin) argv.emplace_back("-i");
  if (!options.workdir.empty()) argv.insert(argv.end(), {"-w", options.workdir});
  append_env(argv, options.env);
  argv.insert(argv.end(), {"-u", options.user.empty() ? std::string("root") : options.user});
  argv.push_back(object_name(spec.name));
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

AgentArgv DockerCommands::agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const {
  AgentArgv result;
  result.prefix = {options_.docker, "exec"};
  if (tty) result.prefix.emplace_back("-it");
  result.prefix.insert(result.prefix.end(), {"-w", spec.guest_workdir()});
  append_env(result.prefix, guest_env(spec));
  result.prefix.insert(result.prefix.end(), {"-u", spec.user, object_name(spec.name)});
  result.tail = agent_command(spec, agent_args);
  return result;
}

std::vector<BottleInfo> DockerCommands::parse_list(const std::string& output) const {
  std::vector<BottleInfo> rows;
  std::map<std::string, EngineState> egress_states;
  std::istringstream lines(output);
  std::string line;
  std::size_t number = 0;
  // What docker prints is engine output, but the labels are anyone's to set: a
  // value that is not a bottle name or state never reaches a table, a terminal or
  // an argv. Messages name the line and field, never the value.
  const auto bad = [&](std::string_view problem) {
    throw Error(ErrorKind::backend, fmt::format("docker ps: line {}: {} (list bottle's containers with "
                                                "`docker ps -a --filter label={}=1`)",
                                                number, problem, docker_managed_label));
  };
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (auto tab = line.find('\t');; tab = line.find('\t', start)) {
      fields.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.size() != 4) bad("unexpected output line (expected 4 tab-separated fields)");
    if (bottle_name_problem(fields[0])) bad(fmt::format("label {} is not a valid bottle name", docker_name_label));
    const bool state_ok = !fields[1].empty() && fields[1].size() <= 32 &&
                          std::all_of(fields[1].begin(), fields[1].end(), [](char c) { return c >= 'a' && c <= 'z'; });
    if (!state_ok) bad("the state is not a docker container state (lowercase letters)");
    const std::string& role = fields[3];
    if (!role.empty() && role != "bottle" && role != "egress")
      bad(fmt::format("label {} must be \"bottle\" or \"egress\"", docker_role_label));
    if (role == "egress") {
      egress_states[fields[0]] = state_from_docker(fields[1]);
      continue;
    }
    const EngineState state = state_from_docker(fields[1]);
    rows.push_back(BottleInfo{.name = fields[0],
                              .backend = BackendKind::docker,
                              .state = state,
                              .created_unix = parse_created_at(fields[2]),
                              .other_state = state == EngineState::other ? fields[1] : ""});
  }
  for (auto& row : rows)
    if (auto it = egress_states.find(row.name); it != egress_states.end()) row.egress_state = it->second;
  return rows;
}

// What docker prints when the object of `rm -f` / `network rm` does not exist:
// "Error: No such container: X", "Error response from daemon: No such container: X",
// "Error: No such network: X", "Error response from daemon: network X not found".
bool DockerCommands::is_gone(const ProcessResult& result) const {
  const std::string& err = result.err;
  return err.find("No such container") != std::string::npos || err.find("No such network") != std::string::npos ||
         err.find("No such volume") != std::string::npos ||
         (err.find("network ") != std::string::npos && err.find(" not found") != std::string::npos);
}

}  // namespace bottle
