#include "bottle/backends/podman_commands.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <utility>

#include "bottle/core/error.hpp"
#include "bottle/core/ipv4_subnet.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/spec/agent.hpp"

namespace bottle {
namespace {

namespace json = boost::json;

constexpr std::string_view managed_label = "io.bottle.managed=1";

std::string pod_name(const BottleSpec& spec) { return kube_names(spec.name, "").agent; }
std::string egress_container(const BottleSpec& spec) { return kube_names(spec.name, "").egress; }
std::string network_name(const BottleSpec& spec) { return kube_base_name(spec.name) + "-net"; }

// On the bottle's network: egress is its .2, the pod its .3.
constexpr std::uint32_t egress_host_number = 2;
constexpr std::uint32_t agent_host_number = 3;

Ipv4Subnet recorded_subnet(const BottleSpec& spec) {
  const auto subnet = parse_ipv4_subnet(spec.egress.subnet);
  if (!subnet)
    throw Error(ErrorKind::internal,
                fmt::format("bottle {} has no recorded network subnet ($.egress.subnet); remove it and create it again",
                            spec.name));
  return *subnet;
}

bool is_proxy_variable(std::string_view key) {
  return key == "HTTPS_PROXY" || key == "HTTP_PROXY" || key == "https_proxy" || key == "http_proxy";
}

// The emptyDir volumes of the played pod, by their podman names.
std::vector<std::string> empty_dir_volumes(const json::object& pod) {
  std::vector<std::string> names;
  const json::value* volumes = pod.at("spec").as_object().if_contains("volumes");
  if (!volumes) return names;
  for (const auto& volume : volumes->as_array())
    if (volume.as_object().contains("emptyDir")) names.emplace_back(volume.at("name").as_string());
  return names;
}

}  // namespace

PodmanCommands::PodmanCommands(PodmanOptions options) : options_(std::move(options)) {
  // This machine's directories, bound into the pod (never on a cluster: see
  // KubeWorkspace::host_path).
  options_.objects.workspace = KubeWorkspace::host_path;
  // The prompt file is bound from bottle's copy, not a ConfigMap (prompt_delivery()).
  options_.objects.prompt_in_config_map = false;
}

json::object PodmanCommands::pod(const BottleSpec& spec, const std::filesystem::path& agent_ca_dir,
                                 const std::vector<GuardMount>& guard) const {
  const bool egress = spec.egress.enabled;
  if (egress && agent_ca_dir.empty())
    throw Error(ErrorKind::internal, "a podman pod with egress needs the host directory of its agent CA bundle");
  std::optional<json::object> played;
  for (auto& object : kube_objects(spec, options_.objects, {})) {
    // NetworkPolicy, Service, Secret and ConfigMaps would be skipped or mishandled
    // by podman: the pod's isolation is its network (see the header).
    if (object.at("kind").as_string() == "Pod" && object.at("metadata").at("name").as_string() == pod_name(spec))
      played = std::move(object);
  }
  if (!played) throw Error(ErrorKind::internal, "kube_objects made no agent pod");
  played->at("metadata").as_object().erase("namespace");
  json::object& pod_spec = played->at("spec").as_object();
  std::map<std::string, std::string> renamed;
  const std::string base = kube_base_name(spec.name);
  for (auto& volume : pod_spec.at("volumes").as_array()) {
    json::object& v = volume.as_object();
    if (v.contains("configMap")) {
      // The agent CA: the host file bottle rewrites at every start.
      v.erase("configMap");
      v["hostPath"] = json::object{{"path", agent_ca_dir.string()}, {"type", "Directory"}};
      continue;
    }
    if (!v.contains("emptyDir")) continue;
    const std::string old_name(v.at("name").as_string());
    renamed[old_name] = base + "-" + old_name;
    v["name"] = renamed[old_name];
  }
  // Workspace protection: each protected path bound over itself, read-only (or a
  // mount point only), on top of the workspace's own volume.
  json::array& volumes = pod_spec.at("volumes").as_array();
  for (std::size_t i = 0; i < guard.size(); ++i)
    volumes.push_back(
        json::object{{"name", fmt::format("guard{}", i)}, {"hostPath", json::object{{"path", guard[i].host}}}});
  const std::string proxy = egress ? guest_egress(spec).proxy_url : std::string();
  for (auto& container : pod_spec.at("containers").as_array()) {
    json::object& c = container.as_object();
    if (json::value* env = c.if_contains("env"))
      for (auto& variable : env->as_array())
        if (is_proxy_variable(variable.at("name").as_string())) variable.as_object()["value"] = proxy;
    json::array& mounts = c.at("volumeMounts").as_array();
    for (auto& m : mounts) {
      const auto it = renamed.find(std::string(m.at("name").as_string()));
      if (it != renamed.end()) m.as_object()["name"] = it->second;
    }
    for (std::size_t i = 0; i < guard.size(); ++i) {
      json::object mount{{"name", fmt::format("guard{}", i)}, {"mountPath", guard[i].guest}};
      if (guard[i].read_only) mount["readOnly"] = true;
      mounts.push_back(std::move(mount));
    }
  }
  return std::move(*played);
}

std::string PodmanCommands::container(const BottleSpec& spec) const { return pod_name(spec) + "-agent"; }

std::vector<Argv> PodmanCommands::create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& /*guard*/) const {
  if (spec.egress.enabled) return {};
  return {{options_.podman, "kube", "play", "--build=false", "--start=false", "--network", "none", "-"}};
}

Argv PodmanCommands::start_argv(const BottleSpec& spec) const {
  return {options_.podman, "pod", "start", pod_name(spec)};
}

Argv PodmanCommands::stop_argv(const BottleSpec& spec) const {
  return {options_.podman, "pod", "stop", pod_name(spec)};
}

std::optional<Argv> PodmanCommands::stop_settle_argv(const BottleSpec& spec) const {
  // A conmon and its `container cleanup` both carry the container's ID in their
  // command line; pgrep never matches itself, and this script's own line holds no ID.
  static constexpr std::string_view script =
      "ids=$(\"$1\" pod inspect -f '{{range .Containers}}{{.Id}} {{end}}' \"$2\") || exit 0\n"
      "n=0\n"
      "while [ \"$n\" -lt 100 ]; do\n"
      "  busy=0\n"
      "  for id in $ids; do pgrep -f -- \"$id\" >/dev/null && busy=1; done\n"
      "  [ \"$busy\" = 0 ] && exit 0\n"
      "  n=$((n + 1)); sleep 0.1\n"
      "done\n";
  return Argv{"sh", "-c", std::string(script), "sh", options_.podman, pod_name(spec)};
}

std::vector<Argv> PodmanCommands::remove_argvs(const BottleSpec& spec) const {
  // The emptyDirs are the same with or without egress; without, no host directory
  // is needed to name them.
  BottleSpec without_egress = spec;
  without_egress.egress.enabled = false;
  Argv volumes{options_.podman, "volume", "rm", "-f"};
  const auto names = empty_dir_volumes(pod(without_egress));
  volumes.insert(volumes.end(), names.begin(), names.end());
  return {{options_.podman, "pod", "rm", "-f", "-i", pod_name(spec)},
          {options_.podman, "rm", "-f", "-i", egress_container(spec)},
          volumes,
          {options_.podman, "network", "rm", network_name(spec)}};
}

Argv PodmanCommands::list_argv() const {
  return {options_.podman, "ps", "-a", "--format", "json", "--filter", "label=" + std::string(managed_label)};
}

Argv PodmanCommands::exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const {
  Argv argv{options_.podman, "exec"};
  if (options.tty || options.forward_stdin) argv.emplace_back("-i");
  if (options.tty) argv.emplace_back("-t");
  if (!options.workdir.empty()) argv.insert(argv.end(), {"-w", options.workdir});
  for (const auto& [key, value] : options.env) argv.insert(argv.end(), {"-e", key + "=" + value});
  argv.push_back(container(spec));
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

AgentArgv PodmanCommands::agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const {
  // The pod already has the agent's environment and working directory.
  AgentArgv result;
  result.prefix = {options_.podman, "exec"};
  if (tty) result.prefix.insert(result.prefix.end(), {"-i", "-t"});
  result.prefix.push_back(container(spec));
  result.tail = agent_command(spec, agent_args);
  return result;
}

std::vector<BottleInfo> PodmanCommands::parse_list(const std::string& output) const {
  std::size_t index = 0;
  // Labels and names are anyone's to set: messages name the item and field, never
  // the value, and a value that is not a bottle name never becomes a row.
  const auto bad = [&](std::string_view problem) -> Error {
    return Error(ErrorKind::backend, fmt::format("podman ps: [{}]: {} (list bottle's containers with `podman ps -a "
                                                 "--filter label={}`)",
                                                 index, problem, managed_label));
  };
  boost::system::error_code ec;
  const json::value root = json::parse(output, ec);
  if (ec || !root.is_array()) throw Error(ErrorKind::backend, "podman ps: the output is not a JSON array");
  const auto string_at = [&](const json::object& object, std::string_view key,
                             std::string_view field) -> std::string_view {
    const json::value* v = object.if_contains(key);
    if (!v || !v->is_string()) throw bad(fmt::format("{} is missing or not a string", field));
    return v->get_string();
  };
  std::map<std::string, BottleInfo> bottles;
  std::map<std::string, EngineState> egress_states;
  for (; index < root.get_array().size(); ++index) {
    const json::value& item = root.get_array()[index];
    if (!item.is_object()) throw bad("is not an object");
    const json::object& container = item.get_object();
    const json::value* labels_value = container.if_contains("Labels");
    if (!labels_value || !labels_value->is_object()) throw bad("Labels is missing");
    const json::object& labels = labels_value->get_object();
    if (string_at(labels, "io.bottle.managed", "Labels[io.bottle.managed]") != "1")
      throw bad("Labels[io.bottle.managed] is not \"1\"");
    const std::string name(string_at(labels, "io.bottle.name", "Labels[io.bottle.name]"));
    if (bottle_name_problem(name)) throw bad("Labels[io.bottle.name] is not a bottle name");
    const std::string_view role = string_at(labels, "io.bottle.role", "Labels[io.bottle.role]");
    if (role != "agent" && role != "egress") throw bad("Labels[io.bottle.role] is not agent or egress");
    const KubeNames names = kube_names(name, "");
    const json::value* names_value = container.if_contains("Names");
    if (!names_value || !names_value->is_array() || names_value->get_array().size() != 1 ||
        !names_value->get_array()[0].is_string() ||
        names_value->get_array()[0].get_string() != (role == "agent" ? names.agent + "-agent" : names.egress))
      throw bad("Names is not the name bottle gives this container");
    const std::string_view word = string_at(container, "State", "State");
    const bool word_ok = !word.empty() && word.size() <= 32 &&
                         std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    if (!word_ok) throw bad("State is not a container state (lowercase letters)");
    // podman's container states: configured, created, initialized, running,
    // paused, stopping, stopped, exited, removing.
    EngineState state = EngineState::other;
    if (word == "running") state = EngineState::running;
    else if (word == "created" || word == "configured" || word == "initialized") state = EngineState::created;
    else if (word == "exited" || word == "stopped") state = EngineState::stopped;
    if (role == "egress") {
      if (!egress_states.emplace(name, state).second) throw bad("names an egress another container already is");
      continue;
    }
    const json::value* created = container.if_contains("Created");
    if (!created || !created->is_int64() || created->get_int64() < 0)
      throw bad("Created is not a time in seconds since the epoch");
    BottleInfo info{.name = name,
                    .backend = BackendKind::podman,
                    .state = state,
                    .created_unix = created->get_int64(),
                    .other_state = state == EngineState::other ? std::string(word) : ""};
    if (!bottles.emplace(name, std::move(info)).second) throw bad("names a bottle another container already has");
  }
  std::vector<BottleInfo> rows;
  rows.reserve(bottles.size());
  for (auto& [name, info] : bottles) {
    if (const auto it = egress_states.find(name); it != egress_states.end()) info.egress_state = it->second;
    rows.push_back(std::move(info));
  }
  return rows;
}

// "no such pod/container/volume", and for a network "unable to find network with
// name or ID X: network not found".
bool PodmanCommands::is_gone(const ProcessResult& result) const {
  return result.err.find("no such pod") != std::string::npos ||
         result.err.find("no such container") != std::string::npos ||
         result.err.find("no such volume") != std::string::npos ||
         result.err.find("network not found") != std::string::npos;
}

// The runtimes' own words (runc, crun and slirp4netns as Podman 4.3 passes them on)
// name a cgroup or a device, not the cause: a rootless Podman on a host that does
// not delegate cgroups to the user, or hides /dev/net/tun from it.
std::string PodmanCommands::failure_hint(const ProcessResult& result) const {
  const auto says = [&](std::string_view words) { return result.err.find(words) != std::string::npos; };
  if (says("could not join or create cgroup") || says("cgroups in hybrid mode not supported"))
    return "podman could not put the bottle under its memory limit: rootless Podman needs cgroup v2 with the memory "
           "controller delegated to your user (systemd's user@.service does this); on a cgroup v1 host run bottle "
           "with rootful podman, or use the docker backend";
  if (says("slirp4netns") && says("/dev/net/tun"))
    return "rootless Podman's network (slirp4netns) cannot open /dev/net/tun: make it usable by your user "
           "(crw-rw-rw-, as most distributions ship it), or run bottle with rootful podman";
  return {};
}

GuestEgress PodmanCommands::guest_egress(const BottleSpec& spec) const {
  if (!spec.egress.enabled) return {};
  return {.enabled = true,
          .proxy_url = fmt::format("http://{}:{}", recorded_subnet(spec).address(egress_host_number), kube_egress_port),
          .ca_bundle_path = fmt::format("{}/{}", kube_agent_ca_dir, agent_ca_file_name)};
}

std::optional<EgressCommands::NetworkSteps> PodmanCommands::network_steps(const BottleSpec& spec) const {
  if (!spec.egress.enabled) return std::nullopt;
  Argv create{options_.podman, "network",
              "create",        "--internal",
              "--label",       std::string(managed_label),
              "--label",       "io.bottle.name=" + spec.name};
  // A subnet the user chose; else podman picks a free one.
  if (!spec.egress.subnet.empty()) create.insert(create.end(), {"--subnet", spec.egress.subnet});
  create.push_back(network_name(spec));
  return NetworkSteps{.create = std::move(create),
                      .subnet_query = {options_.podman, "network", "inspect", network_name(spec), "--format",
                                       "{{range .Subnets}}{{.Subnet}} {{end}}"}};
}

std::string PodmanCommands::network_subnet_from(std::string_view output) const {
  std::optional<Ipv4Subnet> found;
  std::size_t at = 0;
  while (at < output.size()) {
    const std::size_t end = std::min(output.find_first_of(" \n", at), output.size());
    const std::string_view word = output.substr(at, end - at);
    at = end + 1;
    if (word.empty() || word.find(':') != std::string_view::npos) continue;  // IPv6
    const auto subnet = parse_ipv4_subnet(word);
    if (!subnet || found)
      throw Error(ErrorKind::backend,
                  "podman network inspect: expected one IPv4 subnet (e.g. 10.89.3.0/24) in the bottle's network");
    found = subnet;
  }
  if (!found) throw Error(ErrorKind::backend, "podman network inspect: the bottle's network has no IPv4 subnet");
  if (found->prefix < 16 || found->prefix > 28)
    throw Error(ErrorKind::backend, "podman network inspect: the bottle's network is not a /16 to /28");
  return found->text();
}

std::vector<Argv> PodmanCommands::egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                                      const EgressUpstream& upstream) const {
  const Ipv4Subnet subnet = recorded_subnet(spec);
  const Argv create = egress_container_create_argv(
      {.engine = options_.podman,
       .name = egress_container(spec),
       .bottle = spec.name,
       .network = {"--network", network_name(spec), "--ip", subnet.address(egress_host_number)},
       .image = options_.objects.egress_image,
       .program = std::string(kube_egress_program),
       .port = static_cast<std::uint16_t>(kube_egress_port)},
      files, upstream);
  return {create,
          {options_.podman, "network", "connect", std::string(podman_default_network), egress_container(spec)},
          {options_.podman, "kube", "play", "--build=false", "--start=false", "--network", network_name(spec), "--ip",
           subnet.address(agent_host_number), "-"}};
}

std::optional<std::string> PodmanCommands::create_stdin(const BottleSpec& spec, const std::vector<GuardMount>& guard,
                                                        std::size_t step) const {
  if (step != 0 || spec.egress.enabled) return std::nullopt;
  return kube_yaml_stream({pod(spec, {}, guard)});
}

std::optional<std::string> PodmanCommands::egress_create_stdin(const BottleSpec& spec, const EgressFiles& files,
                                                               const std::vector<GuardMount>& guard,
                                                               std::size_t step) const {
  if (step != 2) return std::nullopt;
  return kube_yaml_stream({pod(spec, files.agent_ca_dir, guard)});
}

Argv PodmanCommands::egress_start_argv(const BottleSpec& spec, const EgressFiles&, const EgressUpstream&) const {
  return {options_.podman, "start", egress_container(spec)};
}

Argv PodmanCommands::egress_probe_argv(const BottleSpec& spec, const EgressFiles&) const {
  Argv probe{options_.podman, "exec", egress_container(spec)};
  const Argv check = bottle_egress_probe_argv(std::string(kube_egress_program), "127.0.0.1", kube_egress_port);
  probe.insert(probe.end(), check.begin(), check.end());
  return probe;
}

Argv PodmanCommands::egress_stop_argv(const BottleSpec& spec, const EgressFiles&) const {
  return {options_.podman, "stop", egress_container(spec)};
}

std::optional<Argv> PodmanCommands::parent_host_query() const {
  return Argv{options_.podman, "network",
              "inspect",       std::string(podman_default_network),
              "--format",      "{{range .Subnets}}{{.Gateway}} {{end}}"};
}

std::string PodmanCommands::parent_host_from(std::string_view output) const {
  std::size_t at = 0;
  while (at < output.size()) {
    const std::size_t end = std::min(output.find_first_of(" \n", at), output.size());
    std::string word(output.substr(at, end - at));
    at = end + 1;
    in_addr parsed{};
    if (!word.empty() && ::inet_pton(AF_INET, word.c_str(), &parsed) == 1) return word;
  }
  throw Error(ErrorKind::isolation,
              fmt::format("cannot find the gateway of podman's network \"{}\" (podman network inspect {} lists no "
                          "IPv4 gateway)",
                          podman_default_network, podman_default_network));
}

}  // namespace bottle
