#include "bottle/backends/kubernetes_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <utility>

#include "bottle/core/error.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/spec/agent.hpp"
#include "bottle/spec/prompt_file.hpp"

namespace bottle {
namespace {

namespace json = boost::json;

constexpr std::string_view managed_selector = "io.bottle.managed=1";
// Every kind bottle makes besides pods, deleted after the pods so no pod is ever
// left without its NetworkPolicy.
constexpr std::string_view other_kinds = "services,secrets,configmaps,persistentvolumeclaims,networkpolicies";
// The agent-sandbox CRD's resource, fully qualified so no other "sandboxes" matches.
constexpr std::string_view sandbox_resource = "sandboxes.agents.x-k8s.io";

std::string bottle_selector(const BottleSpec& spec) {
  return fmt::format("{},io.bottle.name={}", managed_selector, spec.name);
}

Argv with(Argv argv, std::initializer_list<std::string> more) {
  argv.insert(argv.end(), more);
  return argv;
}

// "2026-12-03T10:26:43Z" (what the API server writes) -> seconds since the epoch.
std::optional<std::int64_t> rfc3339_utc(std::string_view text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z')
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
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace

KubernetesCommands::KubernetesCommands(KubernetesOptions options) : options_(std::move(options)) {
  if (!options_.read_prompt)
    options_.read_prompt = [](const std::string& path) { return read_prompt_file(path, "prompt_file"); };
}

Argv KubernetesCommands::kubectl(const BottleSpec& spec) const {
  Argv argv{options_.kubectl};
  if (!spec.kubernetes.context.empty()) argv.insert(argv.end(), {"--context", spec.kubernetes.context});
  if (!spec.kubernetes.namespace_name.empty()) argv.insert(argv.end(), {"--namespace", spec.kubernetes.namespace_name});
  return argv;
}

std::vector<json::object> KubernetesCommands::objects(const BottleSpec& spec) const {
  KubeOptions options = options_.objects;
  options.namespace_name = spec.kubernetes.namespace_name.empty() ? "default" : spec.kubernetes.namespace_name;
  options.agent_object = spec.kubernetes.agent_sandbox ? KubeAgentObject::sandbox : KubeAgentObject::pod;
  KubeInputs inputs;
  if (spec.egress.enabled) {
    if (!options_.egress_inputs)
      throw Error(ErrorKind::isolation, fmt::format("kubernetes: no egress inputs for bottle {}", spec.name));
    inputs = options_.egress_inputs(spec);
  }
  if (!spec.prompt_file.empty()) inputs.prompt = options_.read_prompt(spec.prompt_file);
  std::vector<json::object> objects = kube_objects(spec, options, inputs);
  if (spec.kubernetes.namespace_name.empty())
    for (auto& object : objects) object.at("metadata").as_object().erase("namespace");
  return objects;
}

std::vector<Argv> KubernetesCommands::create_argvs(const BottleSpec& spec,
                                                   const std::vector<GuardMount>& /*guard*/) const {
  return {with(kubectl(spec), {"apply", "-f", "-"})};
}

std::optional<std::string> KubernetesCommands::create_stdin(const BottleSpec& spec,
                                                            const std::vector<GuardMount>& /*guard*/,
                                                            std::size_t step) const {
  if (step != 0) return std::nullopt;
  // The agent pod is last in apply order; it is what start makes.
  std::vector<json::object> all = objects(spec);
  all.pop_back();
  return kube_yaml_stream(all);
}

Argv KubernetesCommands::start_argv(const BottleSpec& spec) const { return with(kubectl(spec), {"apply", "-f", "-"}); }

std::optional<std::string> KubernetesCommands::start_stdin(const BottleSpec& spec) const {
  // Everything again, not just the pod: a policy deleted since create comes back
  // before the pod it guards.
  return kube_yaml_stream(objects(spec));
}

std::optional<Argv> KubernetesCommands::start_wait_argv(const BottleSpec& spec) const {
  // A Sandbox's pod appears only once its controller acts, so the wait is on the
  // Sandbox, whose Ready condition follows the pod's.
  const std::string agent = kube_names(spec.name, "").agent;
  const std::string target =
      spec.kubernetes.agent_sandbox ? fmt::format("{}/{}", sandbox_resource, agent) : "pod/" + agent;
  return with(kubectl(spec), {"wait", "--for=condition=Ready", target, "--timeout=" + options_.ready_timeout});
}

Argv KubernetesCommands::stop_argv(const BottleSpec& spec) const {
  // A Sandbox's controller would make a deleted pod again: stop deletes the Sandbox
  // (its pod goes with it; the policy and volumes are separate objects and stay).
  const std::string kind = spec.kubernetes.agent_sandbox ? std::string(sandbox_resource) : "pod";
  return with(kubectl(spec), {"delete", kind, kube_names(spec.name, "").agent, "--ignore-not-found"});
}

std::vector<Argv> KubernetesCommands::remove_argvs(const BottleSpec& spec) const {
  std::vector<Argv> argvs;
  if (spec.kubernetes.agent_sandbox)
    argvs.push_back(with(kubectl(spec),
                         {"delete", std::string(sandbox_resource), "-l", bottle_selector(spec), "--ignore-not-found"}));
  argvs.push_back(with(kubectl(spec), {"delete", "pods", "-l", bottle_selector(spec), "--ignore-not-found"}));
  argvs.push_back(
      with(kubectl(spec), {"delete", std::string(other_kinds), "-l", bottle_selector(spec), "--ignore-not-found"}));
  return argvs;
}

Argv KubernetesCommands::list_argv() const {
  return {options_.kubectl, "get", "pods,networkpolicies", "-l", std::string(managed_selector), "-o", "json"};
}

std::vector<Argv> KubernetesCommands::list_argvs(const std::vector<BottleSpec>& specs) const {
  std::vector<Argv> argvs;
  std::set<std::pair<std::string, std::string>> places;
  for (const auto& spec : specs) {
    if (!places.emplace(spec.kubernetes.context, spec.kubernetes.namespace_name).second) continue;
    argvs.push_back(
        with(kubectl(spec), {"get", "pods,networkpolicies", "-l", std::string(managed_selector), "-o", "json"}));
  }
  if (argvs.empty()) argvs.push_back(list_argv());
  return argvs;
}

Argv KubernetesCommands::exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const {
  Argv argv = with(kubectl(spec), {"exec"});
  if (options.tty || options.forward_stdin) argv.emplace_back("-i");
  if (options.tty) argv.emplace_back("-t");
  argv.insert(argv.end(), {"-c", std::string(kube_agent_container), kube_names(spec.name, "").agent, "--"});
  // kubectl exec has no --workdir or --env: the pod's own are the spec's, and a
  // caller's are set by a fixed script that takes them as arguments.
  if (!options.workdir.empty())
    argv.insert(argv.end(), {"sh", "-c", "cd -- \"$1\" || exit 1; shift; exec \"$@\"", "sh", options.workdir});
  // The pod already has the spec's environment (guest_env), with the proxy's
  // service-link variable expanded by the kubelet: only what differs is passed, so
  // the unexpanded form never overrides it.
  const std::map<std::string, std::string> own = guest_env(spec);
  Argv env{"env"};
  for (const auto& [key, value] : options.env)
    if (const auto it = own.find(key); it == own.end() || it->second != value) env.push_back(key + "=" + value);
  if (env.size() > 1) argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

AgentArgv KubernetesCommands::agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const {
  // The pod already has the agent's environment and working directory.
  AgentArgv result;
  result.prefix = with(kubectl(spec), {"exec"});
  if (tty) result.prefix.insert(result.prefix.end(), {"-i", "-t"});
  result.prefix.insert(result.prefix.end(),
                       {"-c", std::string(kube_agent_container), kube_names(spec.name, "").agent, "--"});
  result.tail = agent_command(spec, agent_args);
  return result;
}

std::vector<BottleInfo> KubernetesCommands::parse_list(const std::string& output) const {
  std::size_t index = 0;
  // Labels and names are anyone's to set: messages name the item and field, never
  // the value, and a value that is not a bottle name never becomes a row.
  const auto bad = [&](std::string_view problem) -> Error {
    return Error(ErrorKind::backend, fmt::format("kubectl get: items[{}]: {} (list bottle's objects with `kubectl get "
                                                 "pods,networkpolicies -l {}`)",
                                                 index, problem, managed_selector));
  };
  boost::system::error_code ec;
  const json::value root = json::parse(output, ec);
  if (ec || !root.is_object()) throw Error(ErrorKind::backend, "kubectl get: the output is not a JSON object");
  const json::value* kind = root.as_object().if_contains("kind");
  const json::value* items = root.as_object().if_contains("items");
  if (!kind || !kind->is_string() || kind->get_string() != "List" || !items || !items->is_array())
    throw Error(ErrorKind::backend, "kubectl get: the output is not a List with items");

  const auto string_at = [&](const json::object& object, std::string_view key,
                             std::string_view field) -> std::string_view {
    const json::value* v = object.if_contains(key);
    if (!v || !v->is_string()) throw bad(fmt::format("{} is missing or not a string", field));
    return v->get_string();
  };
  std::map<std::string, BottleInfo> bottles;
  for (; index < items->get_array().size(); ++index) {
    const json::value& item = items->get_array()[index];
    if (!item.is_object()) throw bad("is not an object");
    const json::object& object = item.get_object();
    const std::string_view item_kind = string_at(object, "kind", "kind");
    const json::value* meta_value = object.if_contains("metadata");
    if (!meta_value || !meta_value->is_object()) throw bad("metadata is missing");
    const json::object& meta = meta_value->get_object();
    const json::value* labels_value = meta.if_contains("labels");
    if (!labels_value || !labels_value->is_object()) throw bad("metadata.labels is missing");
    const json::object& labels = labels_value->get_object();
    if (string_at(labels, "io.bottle.managed", "metadata.labels[io.bottle.managed]") != "1")
      throw bad("metadata.labels[io.bottle.managed] is not \"1\"");
    const std::string name(string_at(labels, "io.bottle.name", "metadata.labels[io.bottle.name]"));
    if (bottle_name_problem(name)) throw bad("metadata.labels[io.bottle.name] is not a bottle name");
    const std::string_view object_name = string_at(meta, "name", "metadata.name");
    const auto created = rfc3339_utc(string_at(meta, "creationTimestamp", "metadata.creationTimestamp"));
    if (!created) throw bad("metadata.creationTimestamp is not an RFC 3339 UTC time");
    const KubeNames names = kube_names(name, "");

    BottleInfo& info = bottles[name];
    const bool first = info.name.empty();
    info.name = name;
    info.backend = BackendKind::kubernetes;
    if (first) info.state = EngineState::missing;
    if (item_kind == "NetworkPolicy") {
      if (object_name != names.agent) continue;  // egress's own policy says nothing new
      info.created_unix = *created;
      if (info.state == EngineState::missing) info.state = EngineState::stopped;
      continue;
    }
    if (item_kind != "Pod") throw bad("kind is neither Pod nor NetworkPolicy");
    const std::string_view role = string_at(labels, "io.bottle.role", "metadata.labels[io.bottle.role]");
    if ((role == "agent" && object_name != names.agent) || (role == "egress" && object_name != names.egress))
      throw bad("metadata.name is not the name bottle gives this pod");
    if (role != "agent" && role != "egress") throw bad("metadata.labels[io.bottle.role] is neither agent nor egress");
    const json::value* status = object.if_contains("status");
    if (!status || !status->is_object()) throw bad("status is missing");
    const std::string_view phase = string_at(status->get_object(), "phase", "status.phase");
    EngineState state = EngineState::other;
    std::string other;
    if (meta.contains("deletionTimestamp")) other = "terminating";
    else if (phase == "Running") state = EngineState::running;
    else if (phase == "Succeeded" || phase == "Failed") state = EngineState::stopped;
    else if (phase == "Pending") other = "pending";
    else if (phase == "Unknown") other = "unknown";
    else throw bad("status.phase is not a pod phase");
    if (role == "egress") {
      info.egress_state = state;
      continue;
    }
    if (info.created_unix == 0) info.created_unix = *created;
    info.state = state;
    info.other_state = other;
  }
  std::vector<BottleInfo> rows;
  for (auto& [name, info] : bottles)
    if (info.state != EngineState::missing) rows.push_back(std::move(info));
  return rows;
}

bool KubernetesCommands::is_gone(const ProcessResult& result) const {
  // A cluster without the agent-sandbox CRDs has no Sandboxes to delete either.
  return result.err.find("(NotFound)") != std::string::npos || result.err.find(" not found") != std::string::npos ||
         result.err.find("doesn't have a resource type") != std::string::npos;
}

GuestEgress KubernetesCommands::guest_egress(const BottleSpec& spec) const {
  if (!spec.egress.enabled) return {};
  return kube_guest_egress(kube_names(spec.name, ""));
}

Argv KubernetesCommands::egress_start_argv(const BottleSpec& spec, const EgressFiles& /*files*/,
                                           const EgressUpstream& /*upstream*/) const {
  return with(kubectl(spec), {"apply", "-f", "-"});
}

std::optional<std::string> KubernetesCommands::egress_start_stdin(const BottleSpec& spec) const {
  // Everything but the agent: egress (made again after a stop) with its Secret as
  // the host's logins are now, and the policies before it.
  std::vector<json::object> all = objects(spec);
  all.pop_back();
  return kube_yaml_stream(all);
}

std::optional<EgressCommands::LoginPush> KubernetesCommands::login_push(const BottleSpec& spec) const {
  if (!spec.egress.enabled) return std::nullopt;
  std::vector<json::object> secret;
  for (auto& object : objects(spec))
    if (object.at("kind").as_string() == "Secret") secret.push_back(std::move(object));
  return LoginPush{with(kubectl(spec), {"apply", "-f", "-"}), kube_yaml_stream(secret)};
}

std::optional<Argv> KubernetesCommands::audit_drain_argv(const BottleSpec& spec) const {
  if (!spec.egress.enabled) return std::nullopt;
  return with(kubectl(spec),
              {"exec", "-c", "egress", kube_names(spec.name, "").egress, "--", std::string(kube_egress_program),
               "audit-drain", "--confdir", std::string(kube_egress_conf_dir)});
}

Argv KubernetesCommands::egress_probe_argv(const BottleSpec& spec, const EgressFiles& /*files*/) const {
  return with(kubectl(spec),
              {"wait", "--for=condition=Ready", "pod/" + kube_names(spec.name, "").egress, "--timeout=2s"});
}

Argv KubernetesCommands::egress_stop_argv(const BottleSpec& spec, const EgressFiles& /*files*/) const {
  return with(kubectl(spec), {"delete", "pod", kube_names(spec.name, "").egress, "--ignore-not-found"});
}

}  // namespace bottle
