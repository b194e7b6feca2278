#include "bottle/kube/kube_objects.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "bottle/core/error.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "bottle/egress/pipelock_config.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/spec/agent.hpp"
#include "bottle/spec/guest_env.hpp"
#include "bottle/workspace/clone_repo.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

// The agent container's main process only has to stay alive and stop promptly;
// everything real runs through `kubectl exec` (same as the Docker bottle).
constexpr std::string_view idle_script = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

// Paths inside the egress pod.
constexpr std::string_view egress_secret_dir = "/run/bottle/egress/secret";
constexpr std::string_view egress_routes_dir = "/run/bottle/egress/routes";
constexpr std::string_view pipelock_config_dir = "/etc/pipelock";
constexpr std::string_view ca_key = "mitmproxy-ca.pem";
constexpr std::string_view upstream_ca_key = "upstream-ca.pem";
constexpr std::string_view agent_ca_file = "ca-bundle.pem";

json::object metadata(const KubeNames& names, const std::string& name, std::string_view role = {}) {
  json::object labels{{"io.bottle.managed", "1"}, {"io.bottle.name", names.bottle}};
  if (!role.empty()) labels["io.bottle.role"] = role;
  return {{"name", name}, {"namespace", names.namespace_name}, {"labels", std::move(labels)}};
}

json::object selector(const KubeNames& names, std::string_view role) {
  return {{"io.bottle.name", names.bottle}, {"io.bottle.role", role}};
}

json::object pod_security_context(std::int64_t uid, std::int64_t gid) {
  return {{"runAsNonRoot", true},
          {"runAsUser", uid},
          {"runAsGroup", gid},
          {"fsGroup", gid},
          {"seccompProfile", json::object{{"type", "RuntimeDefault"}}}};
}

json::object container_security_context() {
  return {{"allowPrivilegeEscalation", false},
          {"capabilities", json::object{{"drop", json::array{"ALL"}}}},
          {"privileged", false},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", true}};
}

json::object mount(std::string_view name, std::string_view path, bool read_only) {
  json::object m{{"name", name}, {"mountPath", path}};
  if (read_only) m["readOnly"] = true;
  return m;
}

constexpr std::string_view prompt_key = "prompt.md";

bool prompt_config_map(const BottleSpec& spec, const KubeOptions& options) {
  return options.prompt_in_config_map && !spec.prompt_file.empty();
}

json::object empty_dir(std::string_view name) { return {{"name", name}, {"emptyDir", json::object{}}}; }

json::object config_map_volume(std::string_view name, const std::string& config_map) {
  return {{"name", name}, {"configMap", json::object{{"name", config_map}}}};
}

json::array argv_array(const std::vector<std::string>& argv) {
  json::array out;
  for (const auto& word : argv) out.emplace_back(word);
  return out;
}

// The kubelet expands $(VAR) in env values and reduces "$$" to "$", so every '$' of
// a value is doubled to arrive as written; only the proxy variables, which bottle
// builds from the service-link variable, are meant to be expanded.
json::array env_array(const std::map<std::string, std::string>& env) {
  json::array out;
  for (const auto& [key, value] : env) {
    const bool proxy = key == "HTTPS_PROXY" || key == "HTTP_PROXY" || key == "https_proxy" || key == "http_proxy";
    std::string escaped;
    for (char c : value) escaped += (c == '$' && !proxy) ? std::string("$$") : std::string(1, c);
    out.push_back(json::object{{"name", key}, {"value", escaped}});
  }
  return out;
}

json::object resources(const Resources& r) {
  json::object amounts{{"memory", fmt::format("{}Mi", r.memory_mib > 0 ? r.memory_mib : default_memory_mib)}};
  if (r.cpus > 0) amounts["cpu"] = std::to_string(r.cpus);
  // requests = limits: the scheduler reserves what the bottle may use.
  return {{"requests", amounts}, {"limits", amounts}};
}

json::object pod_spec_base(std::int64_t uid, std::int64_t gid, bool service_links) {
  return {{"automountServiceAccountToken", false},
          {"enableServiceLinks", service_links},
          {"restartPolicy", "Always"},
          {"securityContext", pod_security_context(uid, gid)}};
}

json::object port_rule(std::string_view protocol, int port) { return {{"protocol", protocol}, {"port", port}}; }

json::object agent_policy(const KubeNames& names, bool egress) {
  json::object spec{{"podSelector", json::object{{"matchLabels", selector(names, "agent")}}},
                    {"policyTypes", json::array{"Ingress", "Egress"}}};
  // No ingress rules: nothing connects to the agent. Egress: the proxy port only.
  json::array rules;
  if (egress) {
    rules.push_back(json::object{
        {"to", json::array{json::object{{"podSelector", json::object{{"matchLabels", selector(names, "egress")}}}}}},
        {"ports", json::array{port_rule("TCP", kube_egress_port)}}});
  }
  spec["egress"] = std::move(rules);
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", metadata(names, names.agent)},
          {"spec", std::move(spec)}};
}

json::object ip_block(std::string_view cidr, const std::vector<std::string>& except) {
  json::array list;
  for (const auto& c : except) list.emplace_back(c);
  return {{"ipBlock", json::object{{"cidr", cidr}, {"except", std::move(list)}}}};
}

json::object egress_policy(const KubeNames& names) {
  json::object from_agent{
      {"from", json::array{json::object{{"podSelector", json::object{{"matchLabels", selector(names, "agent")}}}}}},
      {"ports", json::array{port_rule("TCP", kube_egress_port)}}};
  json::object internet{
      {"to", json::array{ip_block("0.0.0.0/0", kube_blocked_ipv4()), ip_block("::/0", kube_blocked_ipv6())}},
      {"ports", json::array{json::object{{"protocol", "TCP"}}}}};
  // One peer with both selectors: DNS pods in kube-system only (not any pod with
  // that label in any namespace).
  json::object dns{
      {"to", json::array{json::object{
                 {"namespaceSelector",
                  json::object{{"matchLabels", json::object{{"kubernetes.io/metadata.name", "kube-system"}}}}},
                 {"podSelector", json::object{{"matchLabels", json::object{{"k8s-app", "kube-dns"}}}}}}}},
      {"ports", json::array{port_rule("UDP", 53), port_rule("TCP", 53)}}};
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", metadata(names, names.egress)},
          {"spec", json::object{{"podSelector", json::object{{"matchLabels", selector(names, "egress")}}},
                                {"policyTypes", json::array{"Ingress", "Egress"}},
                                {"ingress", json::array{std::move(from_agent)}},
                                {"egress", json::array{std::move(internet), std::move(dns)}}}}};
}

std::string base64(std::string_view data) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(data[i]) << 16) | (static_cast<std::uint8_t>(data[i + 1]) << 8) |
                            static_cast<std::uint8_t>(data[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(n >> shift) & 0x3F];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<std::uint8_t>(data[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(data[i + 1])) << 8;
    out += alphabet[(n >> 18) & 0x3F];
    out += alphabet[(n >> 12) & 0x3F];
    out += rest == 2 ? alphabet[(n >> 6) & 0x3F] : '=';
    out += '=';
  }
  return out;
}

json::object config_map(const KubeNames& names, const std::string& name, json::object data) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", metadata(names, name)}, {"data", std::move(data)}};
}

// The Secret's keys for the routes' value files ("value-0", ...), one per distinct
// host file, in route order.
std::map<std::string, std::string> value_keys(const std::vector<EgressRoute>& routes) {
  std::map<std::string, std::string> keys;
  for (const auto& route : routes)
    if (!keys.contains(route.value_file)) keys.emplace(route.value_file, fmt::format("value-{}", keys.size()));
  return keys;
}

json::object egress_pod(const KubeNames& names, const KubeOptions& options, const KubeInputs& inputs, bool pipelock) {
  EgressLaunch launch{.program = std::string(kube_egress_program),
                      .listen_host = "0.0.0.0",
                      .listen_port = static_cast<std::uint16_t>(kube_egress_port),
                      .ca_file = fmt::format("{}/{}", egress_secret_dir, ca_key),
                      .confdir = std::string(kube_egress_conf_dir),
                      .routes_path = std::string(egress_routes_dir) + "/routes.json",
                      .audit_config = std::string(egress_routes_dir) + "/audit.json"};
  if (pipelock) launch.upstream_proxy = fmt::format("http://{}", kube_pipelock_listen);
  else if (!inputs.parent_proxy.empty()) launch.upstream_proxy = inputs.parent_proxy;
  if (!inputs.upstream_ca_pem.empty())
    launch.upstream_trusted_ca = fmt::format("{}/{}", egress_secret_dir, upstream_ca_key);
  const std::vector<std::string> argv = bottle_egress_argv(launch);

  json::object egress{
      {"name", "egress"},
      {"image", options.egress_image},
      {"command", json::array{argv.front()}},
      {"args", argv_array({argv.begin() + 1, argv.end()})},
      {"ports", json::array{json::object{{"name", "proxy"}, {"containerPort", kube_egress_port}, {"protocol", "TCP"}}}},
      {"securityContext", container_security_context()},
      {"resources", resources(Resources{.memory_mib = egress_memory_mib})},
      {"volumeMounts", json::array{mount("conf", kube_egress_conf_dir, false), mount("secret", egress_secret_dir, true),
                                   mount("routes", egress_routes_dir, true), mount("tmp", "/tmp", false)}}};
  json::array containers{std::move(egress)};
  json::array volumes{
      empty_dir("conf"), empty_dir("tmp"),
      json::object{{"name", "secret"}, {"secret", json::object{{"secretName", names.egress}, {"defaultMode", 0440}}}},
      config_map_volume("routes", names.routes)};
  if (pipelock) {
    containers.push_back(
        json::object{{"name", "pipelock"},
                     {"image", options.pipelock_image},
                     {"args", json::array{"run", "--config", fmt::format("{}/pipelock.yaml", pipelock_config_dir),
                                          "--listen", kube_pipelock_listen}},
                     {"securityContext", container_security_context()},
                     {"volumeMounts", json::array{mount("pipelock", pipelock_config_dir, true)}}});
    volumes.push_back(config_map_volume("pipelock", names.pipelock));
  }
  json::object spec = pod_spec_base(options.egress_uid, options.egress_gid, false);
  spec["containers"] = std::move(containers);
  spec["volumes"] = std::move(volumes);
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", metadata(names, names.egress, "egress")},
          {"spec", std::move(spec)}};
}

std::string home_of(const BottleSpec& spec) { return "/home/" + spec.user; }

std::map<std::string, std::string> agent_environment(const BottleSpec& spec, const GuestEgress& guest,
                                                     const KubeOptions& options) {
  std::map<std::string, std::string> env = guest_environment(spec, guest);
  if (spec.repo && options.workspace == KubeWorkspace::persistent_volume_claim) {
    // The claim's root stays root's (given to the fsGroup), and a restricted pod has
    // no root to chown it: git trusts a work tree only when its owner runs git, so
    // the clone's path is made safe in the command-line scope, which git reads from
    // GIT_CONFIG_COUNT.
    for (const char* key : {"GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"})
      if (env.count(key) != 0)
        throw Error(ErrorKind::invalid_input, fmt::format("$.env.{}", key),
                    "clone mode on the kubernetes backend sets git's command-line configuration itself", "spec");
    env["GIT_CONFIG_COUNT"] = "1";
    env["GIT_CONFIG_KEY_0"] = "safe.directory";
    env["GIT_CONFIG_VALUE_0"] = std::string(clone_guest_path);
  }
  return env;
}

json::object agent_pod_spec(const BottleSpec& spec, const KubeNames& names, const KubeOptions& options) {
  const GuestEgress guest = spec.egress.enabled ? kube_guest_egress(names) : GuestEgress{};
  json::array mounts{mount("home", home_of(spec), false), mount("tmp", "/tmp", false)};
  json::array volumes{empty_dir("home"), empty_dir("tmp")};
  for (std::size_t i = 0; i < spec.workspaces.size(); ++i) {
    const Mount& m = spec.workspaces[i];
    const std::string volume = fmt::format("ws{}", i);
    mounts.push_back(mount(volume, m.guest, m.read_only));
    if (options.workspace == KubeWorkspace::host_path) {
      volumes.push_back(
          json::object{{"name", volume}, {"hostPath", json::object{{"path", m.host}, {"type", "Directory"}}}});
    } else {
      volumes.push_back(
          json::object{{"name", volume}, {"persistentVolumeClaim", json::object{{"claimName", names.workspace(i)}}}});
    }
  }
  if (spec.repo) {
    // The clone must outlive the pod's stops. A played pod's emptyDir does (podman
    // keeps it with the pod); a cluster deletes a stopped pod and its emptyDirs, so
    // there the clone is a PVC of its own.
    mounts.push_back(mount("clone", clone_guest_path, false));
    if (options.workspace == KubeWorkspace::host_path) volumes.push_back(empty_dir("clone"));
    else
      volumes.push_back(
          json::object{{"name", "clone"}, {"persistentVolumeClaim", json::object{{"claimName", names.clone}}}});
  }
  if (prompt_config_map(spec, options)) {
    // One file over /etc/bottle/prompt.md, not a directory over /etc/bottle (where
    // the CA bundle is mounted too).
    json::object prompt = mount("prompt", guest_prompt_path, true);
    prompt["subPath"] = prompt_key;
    mounts.push_back(std::move(prompt));
    volumes.push_back(config_map_volume("prompt", names.prompt));
  }
  if (spec.egress.enabled) {
    mounts.push_back(mount("agent-ca", kube_agent_ca_dir, true));
    volumes.push_back(config_map_volume("agent-ca", names.agent_ca));
  }
  json::object agent{{"name", "agent"},
                     {"image", spec.image},
                     {"command", json::array{"/bin/sh", "-c", idle_script}},
                     {"workingDir", spec.guest_workdir()},
                     {"env", env_array(agent_environment(spec, guest, options))},
                     {"resources", resources(spec.resources)},
                     {"securityContext", container_security_context()},
                     {"volumeMounts", std::move(mounts)}};
  // Service links stay on: HTTPS_PROXY is built from the egress Service's variable.
  json::object pod = pod_spec_base(options.agent_uid, options.agent_gid, true);
  pod["containers"] = json::array{std::move(agent)};
  pod["volumes"] = std::move(volumes);
  return pod;
}

json::object agent_object(const BottleSpec& spec, const KubeNames& names, const KubeOptions& options) {
  json::object pod_spec = agent_pod_spec(spec, names, options);
  json::object meta = metadata(names, names.agent, "agent");
  if (options.agent_object == KubeAgentObject::pod)
    return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}, {"spec", std::move(pod_spec)}};
  // The pod the controller makes carries the template's labels, so the
  // NetworkPolicies select it like the bare Pod.
  json::object template_meta{{"labels", meta.at("labels")}};
  return {{"apiVersion", "agents.x-k8s.io/v1beta1"},
          {"kind", "Sandbox"},
          {"metadata", std::move(meta)},
          {"spec", json::object{{"podTemplate", json::object{{"metadata", std::move(template_meta)},
                                                             {"spec", std::move(pod_spec)}}}}}};
}

bool dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool quantity(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits])) != 0) ++digits;
  if (digits == 0 || digits > 12 || s[0] == '0') return false;
  const std::string_view unit = s.substr(digits);
  return unit.empty() || unit == "Ki" || unit == "Mi" || unit == "Gi" || unit == "Ti";
}

void validate_options(const BottleSpec& spec, const KubeOptions& options) {
  const auto bad = [](std::string field, std::string problem) {
    throw Error(ErrorKind::invalid_input, std::move(field), std::move(problem), "kubernetes options");
  };
  if (!dns_label(options.namespace_name))
    bad("namespace_name", "must be a DNS-1123 label: 1-63 of [a-z0-9-], not starting or ending with '-'");
  if (options.workspace == KubeWorkspace::persistent_volume_claim) {
    if (!quantity(options.workspace_size)) bad("workspace_size", "must be digits with an optional Ki, Mi, Gi or Ti");
    if (!options.storage_class.empty() && !dns_label(options.storage_class))
      bad("storage_class", "must be a DNS-1123 label");
  }
  validate_image(options.egress_image, "egress_image");
  if (!options.pipelock_image.empty()) validate_image(options.pipelock_image, "pipelock_image");
  for (const auto& [field, id] : {std::pair<const char*, std::int64_t>{"agent_uid", options.agent_uid},
                                  {"agent_gid", options.agent_gid},
                                  {"egress_uid", options.egress_uid},
                                  {"egress_gid", options.egress_gid}})
    if (id <= 0 || id > 2147483647)
      bad(field, "must be between 1 and 2147483647 (a restricted pod never runs as root)");
  if (spec.user == "root")
    throw Error(ErrorKind::invalid_input, "$.user", "must not be root: the pod runs as a non-root uid", "spec");
}

}  // namespace

GuestEgress kube_guest_egress(const KubeNames& names) {
  return {.enabled = true,
          .proxy_url = fmt::format("http://$({}):{}", kube_service_host_variable(names.egress), kube_egress_port),
          .ca_bundle_path = fmt::format("{}/{}", kube_agent_ca_dir, agent_ca_file),
          .address_in_guest = true};
}

const std::vector<std::string>& kube_blocked_ipv4() {
  static const std::vector<std::string> ranges{"0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10", "127.0.0.0/8",
                                               "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16",
                                               "198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4"};
  return ranges;
}

const std::vector<std::string>& kube_blocked_ipv6() {
  static const std::vector<std::string> ranges{"::1/128", "::ffff:0:0/96", "fc00::/7", "fe80::/10", "ff00::/8"};
  return ranges;
}

std::vector<json::object> kube_objects(const BottleSpec& spec, const KubeOptions& options, const KubeInputs& inputs) {
  validate_spec(spec);
  validate_options(spec, options);
  const KubeNames names = kube_names(spec.name, options.namespace_name);
  const bool egress = spec.egress.enabled;
  const bool pipelock = egress && !options.pipelock_image.empty();

  std::vector<json::object> out;
  out.push_back(agent_policy(names, egress));
  if (egress) {
    out.push_back(egress_policy(names));

    const std::map<std::string, std::string> keys = value_keys(inputs.routes);
    json::object secret_data{{ca_key, base64(inputs.ca_pem)}};
    if (!inputs.upstream_ca_pem.empty()) secret_data[upstream_ca_key] = base64(inputs.upstream_ca_pem);
    for (const auto& [host_file, key] : keys) {
      const auto content = inputs.value_files.find(host_file);
      if (content == inputs.value_files.end())
        throw Error(ErrorKind::invalid_input, "value_files", fmt::format("no content for {}", host_file),
                    "kubernetes inputs");
      secret_data[key] = base64(content->second);
    }
    out.push_back({{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", metadata(names, names.egress)},
                   {"type", "Opaque"},
                   {"data", std::move(secret_data)}});

    std::vector<EgressRoute> routes = inputs.routes;
    for (auto& route : routes) route.value_file = fmt::format("{}/{}", egress_secret_dir, keys.at(route.value_file));
    out.push_back(config_map(names, names.routes,
                             {{"routes.json", render_egress_routes(routes, inputs.brokers)},
                              {"audit.json", render_egress_audit_config(names.bottle, inputs.audit_max_bytes)}}));

    if (pipelock) {
      const PipelockSettings settings = pipelock_settings_for(
          spec, agent_api_hosts(spec.agent), PipelockOptions{.listen = std::string(kube_pipelock_listen)});
      out.push_back(config_map(names, names.pipelock, {{"pipelock.yaml", render_pipelock_yaml(settings)}}));
    }
    out.push_back(config_map(names, names.agent_ca, {{std::string(agent_ca_file), inputs.agent_ca_bundle}}));
  }
  if (prompt_config_map(spec, options)) {
    if (!inputs.prompt)
      throw Error(ErrorKind::invalid_input, "prompt", "the spec has a prompt file and its content was not given",
                  "kubernetes inputs");
    out.push_back(config_map(names, names.prompt, {{std::string(prompt_key), *inputs.prompt}}));
  }
  if (options.workspace == KubeWorkspace::persistent_volume_claim) {
    const auto claim = [&](const std::string& name) -> json::object {
      json::object pvc_spec{
          {"accessModes", json::array{"ReadWriteOnce"}},
          {"resources", json::object{{"requests", json::object{{"storage", options.workspace_size}}}}}};
      if (!options.storage_class.empty()) pvc_spec["storageClassName"] = options.storage_class;
      return {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"metadata", metadata(names, name)},
              {"spec", std::move(pvc_spec)}};
    };
    for (std::size_t i = 0; i < spec.workspaces.size(); ++i) out.push_back(claim(names.workspace(i)));
    if (spec.repo) out.push_back(claim(names.clone));
  }
  if (egress) {
    // Before the agent pod: the kubelet sets the service-link variable only in pods
    // created after the Service.
    out.push_back({{"apiVersion", "v1"},
                   {"kind", "Service"},
                   {"metadata", metadata(names, names.egress)},
                   {"spec", json::object{{"type", "ClusterIP"},
                                         {"selector", selector(names, "egress")},
                                         {"ports", json::array{json::object{{"name", "proxy"},
                                                                            {"protocol", "TCP"},
                                                                            {"port", kube_egress_port},
                                                                            {"targetPort", kube_egress_port}}}}}}});
    out.push_back(egress_pod(names, options, inputs, pipelock));
  }
  out.push_back(agent_object(spec, names, options));
  return out;
}

}  // namespace bottle
