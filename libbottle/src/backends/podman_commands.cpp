#include "bottle/backends/podman_commands.hpp"

#include <fmt/format.h>

#include <ctime>
#include <map>
#include <utility>

#include "bottle/core/error.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/spec/agent.hpp"

namespace bottle {
namespace {

namespace json = boost::json;

constexpr std::string_view managed_label = "io.bottle.managed=1";

std::string pod_name(const BottleSpec& spec) { return kube_names(spec.name, "").agent; }

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

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = at; i < at + length; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  std::size_t at = 19;
  if (text[at] == '.') {
    const std::size_t digits_from = ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == digits_from || at - digits_from > 9) return std::nullopt;
  }
  std::int64_t offset = 0;
  const std::string_view zone = text.substr(at);
  if (zone != "Z") {
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return std::nullopt;
    const auto hours = number(at + 1, 2), minutes = number(at + 4, 2);
    if (!hours || !minutes || *hours > 23 || *minutes > 59) return std::nullopt;
    offset = (zone[0] == '+' ? 1 : -1) * (std::int64_t{*hours} * 3600 + std::int64_t{*minutes} * 60);
  }
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<std::int64_t>(::timegm(&tm)) - offset;
}

PodmanCommands::PodmanCommands(PodmanOptions options) : options_(std::move(options)) {}

std::vector<json::object> PodmanCommands::objects(const BottleSpec& spec) const {
  BottleSpec without_egress = spec;
  without_egress.egress.enabled = false;
  std::vector<json::object> played;
  for (auto& object : kube_objects(without_egress, options_.objects, {})) {
    // NetworkPolicy would be skipped by podman anyway: it enforces none, and the
    // pod's isolation is --network none.
    if (object.at("kind").as_string() != "Pod") continue;
    object.at("metadata").as_object().erase("namespace");
    json::object& pod_spec = object.at("spec").as_object();
    std::map<std::string, std::string> renamed;
    const std::string base = kube_base_name(spec.name);
    if (json::value* volumes = pod_spec.if_contains("volumes")) {
      for (auto& volume : volumes->as_array()) {
        json::object& v = volume.as_object();
        if (!v.contains("emptyDir")) continue;
        const std::string old_name(v.at("name").as_string());
        renamed[old_name] = base + "-" + old_name;
        v["name"] = renamed[old_name];
      }
    }
    for (const char* list : {"initContainers", "containers"}) {
      json::value* containers = pod_spec.if_contains(list);
      if (!containers) continue;
      for (auto& container : containers->as_array()) {
        json::value* mounts = container.as_object().if_contains("volumeMounts");
        if (!mounts) continue;
        for (auto& m : mounts->as_array()) {
          const auto it = renamed.find(std::string(m.at("name").as_string()));
          if (it != renamed.end()) m.as_object()["name"] = it->second;
        }
      }
    }
    played.push_back(std::move(object));
  }
  return played;
}

std::string PodmanCommands::container(const BottleSpec& spec) const { return pod_name(spec) + "-agent"; }

std::vector<Argv> PodmanCommands::create_argvs(const BottleSpec& /*spec*/,
                                               const std::vector<GuardMount>& /*guard*/) const {
  return {{options_.podman, "kube", "play", "--build=false", "--start=false", "--network", "none", "-"}};
}

std::optional<std::string> PodmanCommands::create_stdin(const BottleSpec& spec, std::size_t step) const {
  if (step != 0) return std::nullopt;
  return kube_yaml_stream(objects(spec));
}

Argv PodmanCommands::start_argv(const BottleSpec& spec) const {
  return {options_.podman, "pod", "start", pod_name(spec)};
}

Argv PodmanCommands::stop_argv(const BottleSpec& spec) const {
  return {options_.podman, "pod", "stop", pod_name(spec)};
}

std::vector<Argv> PodmanCommands::remove_argvs(const BottleSpec& spec) const {
  Argv volumes{options_.podman, "volume", "rm", "-f"};
  for (const auto& pod : objects(spec)) {
    const auto names = empty_dir_volumes(pod);
    volumes.insert(volumes.end(), names.begin(), names.end());
  }
  return {{options_.podman, "pod", "rm", "-f", "-i", pod_name(spec)}, volumes};
}

Argv PodmanCommands::list_argv() const {
  return {options_.podman, "pod", "ps", "--format", "json", "--filter", "label=" + std::string(managed_label)};
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
    return Error(ErrorKind::backend, fmt::format("podman pod ps: [{}]: {} (list bottle's pods with `podman pod ps "
                                                 "--filter label={}`)",
                                                 index, problem, managed_label));
  };
  boost::system::error_code ec;
  const json::value root = json::parse(output, ec);
  if (ec || !root.is_array()) throw Error(ErrorKind::backend, "podman pod ps: the output is not a JSON array");
  const auto string_at = [&](const json::object& object, std::string_view key,
                             std::string_view field) -> std::string_view {
    const json::value* v = object.if_contains(key);
    if (!v || !v->is_string()) throw bad(fmt::format("{} is missing or not a string", field));
    return v->get_string();
  };
  std::map<std::string, BottleInfo> bottles;
  for (; index < root.get_array().size(); ++index) {
    const json::value& item = root.get_array()[index];
    if (!item.is_object()) throw bad("is not an object");
    const json::object& pod = item.get_object();
    const json::value* labels_value = pod.if_contains("Labels");
    if (!labels_value || !labels_value->is_object()) throw bad("Labels is missing");
    const json::object& labels = labels_value->get_object();
    if (string_at(labels, "io.bottle.managed", "Labels[io.bottle.managed]") != "1")
      throw bad("Labels[io.bottle.managed] is not \"1\"");
    const std::string name(string_at(labels, "io.bottle.name", "Labels[io.bottle.name]"));
    if (bottle_name_problem(name)) throw bad("Labels[io.bottle.name] is not a bottle name");
    if (string_at(labels, "io.bottle.role", "Labels[io.bottle.role]") != "agent")
      throw bad("Labels[io.bottle.role] is not agent");
    if (string_at(pod, "Name", "Name") != kube_names(name, "").agent)
      throw bad("Name is not the name bottle gives this pod");
    const auto created = parse_rfc3339(string_at(pod, "Created", "Created"));
    if (!created) throw bad("Created is not an RFC 3339 time");
    const std::string_view status = string_at(pod, "Status", "Status");
    BottleInfo info{.name = name, .backend = BackendKind::podman, .created_unix = *created};
    if (status == "Running") info.state = EngineState::running;
    else if (status == "Created") info.state = EngineState::created;
    else if (status == "Exited" || status == "Stopped") info.state = EngineState::stopped;
    else if (status == "Degraded") info.other_state = "degraded";
    else if (status == "Paused") info.other_state = "paused";
    else if (status == "Error") info.other_state = "error";
    else throw bad("Status is not a pod status");
    if (!bottles.emplace(name, std::move(info)).second) throw bad("names a bottle another pod already has");
  }
  std::vector<BottleInfo> rows;
  rows.reserve(bottles.size());
  for (auto& [name, info] : bottles) rows.push_back(std::move(info));
  return rows;
}

bool PodmanCommands::is_gone(const ProcessResult& result) const {
  return result.err.find("no such pod") != std::string::npos ||
         result.err.find("no such container") != std::string::npos ||
         result.err.find("no such volume") != std::string::npos;
}

std::string PodmanCommands::egress_unavailable_reason() const {
  return "the podman backend does not run egress yet (the pod runs with --network none); create the bottle with "
         "--no-egress";
}

}  // namespace bottle
