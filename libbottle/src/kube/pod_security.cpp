#include "bottle/kube/pod_security.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace bottle {
namespace {

namespace json = boost::json;

// Capabilities baseline lets containers add (Docker's default set, roughly).
constexpr std::array<std::string_view, 13> baseline_capabilities{
    "AUDIT_WRITE",      "CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",      "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID",       "SETPCAP", "SETUID", "SYS_CHROOT"};

// Namespaced, node-isolated sysctls (through Kubernetes 1.32).
constexpr std::array<std::string_view, 12> safe_sysctls{"kernel.shm_rmid_forced",
                                                        "net.ipv4.ip_local_port_range",
                                                        "net.ipv4.ip_unprivileged_port_start",
                                                        "net.ipv4.tcp_syncookies",
                                                        "net.ipv4.ping_group_range",
                                                        "net.ipv4.ip_local_reserved_ports",
                                                        "net.ipv4.tcp_keepalive_time",
                                                        "net.ipv4.tcp_fin_timeout",
                                                        "net.ipv4.tcp_keepalive_intvl",
                                                        "net.ipv4.tcp_keepalive_probes",
                                                        "net.ipv4.tcp_rmem",
                                                        "net.ipv4.tcp_wmem"};

constexpr std::array<std::string_view, 4> selinux_types{"container_t", "container_init_t", "container_kvm_t",
                                                        "container_engine_t"};

constexpr std::array<std::string_view, 9> restricted_volume_types{
    "configMap", "csi",   "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

const json::value* get(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  const auto it = o->find(key);
  return it == o->end() ? nullptr : &it->value();
}

const json::object* object_at(const json::object* o, std::string_view key) {
  const json::value* v = get(o, key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

bool is_true(const json::value* v) { return v != nullptr && v->is_bool() && v->get_bool(); }
bool is_false(const json::value* v) { return v != nullptr && v->is_bool() && !v->get_bool(); }
bool is_zero(const json::value* v) {
  return v != nullptr && ((v->is_int64() && v->get_int64() == 0) || (v->is_uint64() && v->get_uint64() == 0));
}
std::string_view string_of(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

class Checker {
 public:
  void pod(const json::object& spec, const json::object* annotations, const std::string& at);
  std::vector<PodSecurityViolation> take() { return std::move(out_); }

 private:
  void add(std::string path, std::string_view check, std::string problem) {
    out_.push_back({std::move(path), std::string(check), std::move(problem)});
  }
  void selinux(const json::object* sc, const std::string& at);
  void apparmor(const json::object* sc, const std::string& at);
  void seccomp_value(const json::object* sc, const std::string& at);
  void host_handler(const json::object* handler, const std::string& at);
  void container(const json::object& c, const json::object* pod_sc, const std::string& at);

  std::vector<PodSecurityViolation> out_;
};

void Checker::selinux(const json::object* sc, const std::string& at) {
  const json::object* options = object_at(sc, "seLinuxOptions");
  if (options == nullptr) return;
  const std::string base = at + ".seLinuxOptions";
  if (const json::value* type = get(options, "type");
      type != nullptr && !string_of(type).empty() && !one_of(selinux_types, string_of(type)))
    add(base + ".type", "seLinuxOptions",
        "must be empty or container_t, container_init_t, container_kvm_t, container_engine_t");
  for (const char* key : {"user", "role"})
    if (const json::value* v = get(options, key); v != nullptr && !(v->is_string() && v->get_string().empty()))
      add(fmt::format("{}.{}", base, key), "seLinuxOptions", "must not be set");
}

void Checker::apparmor(const json::object* sc, const std::string& at) {
  const json::object* profile = object_at(sc, "appArmorProfile");
  if (profile == nullptr) return;
  const std::string_view type = string_of(get(profile, "type"));
  if (type != "RuntimeDefault" && type != "Localhost")
    add(at + ".appArmorProfile.type", "appArmorProfile", "must be RuntimeDefault or Localhost");
}

// A seccomp type that is set must be a confining one, at any level.
void Checker::seccomp_value(const json::object* sc, const std::string& at) {
  const json::value* profile = get(sc, "seccompProfile");
  if (profile == nullptr) return;
  const std::string_view type = string_of(get(profile->is_object() ? &profile->get_object() : nullptr, "type"));
  if (type != "RuntimeDefault" && type != "Localhost")
    add(at + ".seccompProfile.type", "seccompProfile_restricted", "must be RuntimeDefault or Localhost");
}

void Checker::host_handler(const json::object* handler, const std::string& at) {
  for (const char* kind : {"httpGet", "tcpSocket"})
    if (const json::value* host = get(object_at(handler, kind), "host"); host != nullptr && !string_of(host).empty())
      add(fmt::format("{}.{}.host", at, kind), "hostProbesAndHostLifecycle", "must not be set");
}

void Checker::container(const json::object& c, const json::object* pod_sc, const std::string& at) {
  const json::object* sc = object_at(&c, "securityContext");
  const std::string sat = at + ".securityContext";

  if (is_true(get(object_at(sc, "windowsOptions"), "hostProcess")))
    add(sat + ".windowsOptions.hostProcess", "hostProcess", "must not be true");
  if (is_true(get(sc, "privileged"))) add(sat + ".privileged", "privileged", "must not be true");

  const json::object* caps = object_at(sc, "capabilities");
  if (const json::value* add_list = get(caps, "add"); add_list != nullptr && add_list->is_array()) {
    std::size_t i = 0;
    for (const auto& cap : add_list->get_array()) {
      const std::string path = fmt::format("{}.capabilities.add[{}]", sat, i++);
      const std::string_view name = string_of(&cap);
      if (!one_of(baseline_capabilities, name)) add(path, "capabilities_baseline", "is not in the baseline set");
      if (name != "NET_BIND_SERVICE") add(path, "capabilities_restricted", "only NET_BIND_SERVICE may be added");
    }
  }
  const json::value* drop = get(caps, "drop");
  const bool drops_all = drop != nullptr && drop->is_array() &&
                         std::any_of(drop->get_array().begin(), drop->get_array().end(),
                                     [](const json::value& v) { return string_of(&v) == "ALL"; });
  if (!drops_all) add(sat + ".capabilities.drop", "capabilities_restricted", "must include ALL");

  if (const json::value* ports = get(&c, "ports"); ports != nullptr && ports->is_array()) {
    std::size_t i = 0;
    for (const auto& port : ports->get_array()) {
      const json::value* host_port = get(port.is_object() ? &port.get_object() : nullptr, "hostPort");
      if (host_port != nullptr && !is_zero(host_port))
        add(fmt::format("{}.ports[{}].hostPort", at, i), "hostPorts", "must be unset or 0");
      ++i;
    }
  }

  apparmor(sc, sat);
  selinux(sc, sat);
  if (const json::value* proc = get(sc, "procMount"); proc != nullptr && string_of(proc) != "Default")
    add(sat + ".procMount", "procMount", "must be unset or Default");

  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
    host_handler(object_at(&c, probe), fmt::format("{}.{}", at, probe));
  for (const char* hook : {"postStart", "preStop"})
    host_handler(object_at(object_at(&c, "lifecycle"), hook), fmt::format("{}.lifecycle.{}", at, hook));

  if (!is_false(get(sc, "allowPrivilegeEscalation")))
    add(sat + ".allowPrivilegeEscalation", "allowPrivilegeEscalation", "must be false");

  const json::value* non_root = get(sc, "runAsNonRoot");
  if (is_false(non_root)) add(sat + ".runAsNonRoot", "runAsNonRoot", "must not be false");
  else if (!is_true(non_root) && !is_true(get(pod_sc, "runAsNonRoot")))
    add(sat + ".runAsNonRoot", "runAsNonRoot", "must be true here or at pod level");
  if (is_zero(get(sc, "runAsUser"))) add(sat + ".runAsUser", "runAsUser", "must not be 0");

  seccomp_value(sc, sat);
  if (get(sc, "seccompProfile") == nullptr && get(pod_sc, "seccompProfile") == nullptr)
    add(sat + ".seccompProfile", "seccompProfile_restricted",
        "must be RuntimeDefault or Localhost here or at pod level");
}

void Checker::pod(const json::object& spec, const json::object* annotations, const std::string& at) {
  for (const char* ns : {"hostNetwork", "hostPID", "hostIPC"})
    if (is_true(get(&spec, ns))) add(fmt::format("{}.{}", at, ns), "hostNamespaces", "must not be true");

  const json::object* sc = object_at(&spec, "securityContext");
  const std::string sat = at + ".securityContext";
  if (is_true(get(object_at(sc, "windowsOptions"), "hostProcess")))
    add(sat + ".windowsOptions.hostProcess", "hostProcess", "must not be true");
  apparmor(sc, sat);
  selinux(sc, sat);
  if (const json::value* sysctls = get(sc, "sysctls"); sysctls != nullptr && sysctls->is_array()) {
    std::size_t i = 0;
    for (const auto& s : sysctls->get_array()) {
      if (!one_of(safe_sysctls, string_of(get(s.is_object() ? &s.get_object() : nullptr, "name"))))
        add(fmt::format("{}.sysctls[{}].name", sat, i), "sysctls", "is not a safe sysctl");
      ++i;
    }
  }
  if (is_false(get(sc, "runAsNonRoot"))) add(sat + ".runAsNonRoot", "runAsNonRoot", "must not be false");
  if (is_zero(get(sc, "runAsUser"))) add(sat + ".runAsUser", "runAsUser", "must not be 0");
  seccomp_value(sc, sat);

  if (annotations != nullptr) {
    constexpr std::string_view prefix = "container.apparmor.security.beta.kubernetes.io/";
    for (const auto& entry : *annotations) {
      const std::string_view key = entry.key();
      if (key.substr(0, prefix.size()) != prefix) continue;
      const std::string_view value = string_of(&entry.value());
      if (value != "runtime/default" && value.substr(0, 10) != "localhost/")
        add(fmt::format("metadata.annotations[{}]", key), "appArmorProfile", "must be runtime/default or localhost/*");
    }
  }

  if (const json::value* volumes = get(&spec, "volumes"); volumes != nullptr && volumes->is_array()) {
    std::size_t i = 0;
    for (const auto& volume : volumes->get_array()) {
      const std::string path = fmt::format("{}.volumes[{}]", at, i++);
      if (!volume.is_object()) {
        add(path, "restrictedVolumes", "must be an object");
        continue;
      }
      for (const auto& entry : volume.get_object()) {
        const std::string_view type = entry.key();
        if (type == "name") continue;
        if (type == "hostPath") add(path + ".hostPath", "hostPathVolumes", "must not be used");
        if (!one_of(restricted_volume_types, type))
          add(fmt::format("{}.{}", path, type), "restrictedVolumes", "is not an allowed volume type");
      }
    }
  }

  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const json::value* containers = get(&spec, list);
    if (containers == nullptr) continue;
    if (!containers->is_array()) {
      add(fmt::format("{}.{}", at, list), "containers", "must be a list");
      continue;
    }
    std::size_t i = 0;
    for (const auto& c : containers->get_array()) {
      const std::string path = fmt::format("{}.{}[{}]", at, list, i++);
      if (!c.is_object()) {
        add(path, "containers", "must be an object");
        continue;
      }
      container(c.get_object(), sc, path);
    }
  }
}

}  // namespace

std::vector<PodSecurityViolation> check_pod_security_restricted(const boost::json::object& object) {
  const std::string_view kind = string_of(get(&object, "kind"));
  const json::object* spec = object_at(&object, "spec");
  const json::object* annotations = object_at(object_at(&object, "metadata"), "annotations");
  const json::object* pod_spec = nullptr;
  std::string at;
  if (kind == "Pod") {
    pod_spec = spec;
    at = "spec";
  } else if (kind == "Sandbox") {
    const json::object* tmpl = object_at(spec, "podTemplate");
    pod_spec = object_at(tmpl, "spec");
    annotations = object_at(object_at(tmpl, "metadata"), "annotations");
    at = "spec.podTemplate.spec";
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
             kind == "Job") {
    const json::object* tmpl = object_at(spec, "template");
    pod_spec = object_at(tmpl, "spec");
    annotations = object_at(object_at(tmpl, "metadata"), "annotations");
    at = "spec.template.spec";
  } else {
    return {};
  }
  if (pod_spec == nullptr) return {{at, "containers", "must be an object with containers"}};
  Checker checker;
  checker.pod(*pod_spec, annotations, at);
  return checker.take();
}

}  // namespace bottle
