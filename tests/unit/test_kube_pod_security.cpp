// The "restricted" Pod Security Standard checker: the generated pods pass it, and
// each rule catches a pod broken in exactly that way.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "bottle/kube/kube_objects.hpp"
#include "bottle/kube/pod_security.hpp"
#include "kube_fixtures.hpp"

namespace json = boost::json;
using bottle::PodSecurityViolation;

namespace {

std::vector<json::object> generated(bottle::KubeOptions options = {}) {
  options.pipelock_image = "pipelock:test";
  const bottle::BottleSpec spec = kube_sample_spec();
  return bottle::kube_objects(spec, options, kube_sample_inputs(spec));
}

json::object& obj(json::value& v) { return v.as_object(); }
json::object& spec_of(json::object& pod) { return obj(pod["spec"]); }
json::object& container0(json::object& pod) { return obj(spec_of(pod)["containers"].as_array()[0]); }
json::object& csc(json::object& pod) { return obj(container0(pod)["securityContext"]); }
json::object& psc(json::object& pod) { return obj(spec_of(pod)["securityContext"]); }

struct Broken {
  const char* what;
  std::function<void(json::object&)> breaks;
  std::vector<PodSecurityViolation> expected;
};

}  // namespace

TEST_CASE("pod security: every generated object passes restricted", "[kube][pss]") {
  for (const auto agent_object : {bottle::KubeAgentObject::pod, bottle::KubeAgentObject::sandbox}) {
    const auto objects = generated({.agent_object = agent_object});
    std::size_t checked = 0;
    for (const auto& object : objects) {
      INFO(json::serialize(object));
      CHECK(bottle::check_pod_security_restricted(object).empty());
      const auto& kind = object.at("kind").as_string();
      checked += kind == "Pod" || kind == "Sandbox" ? 1 : 0;
    }
    CHECK(checked == 2);  // the egress pod and the agent
  }
}

TEST_CASE("pod security: the agent without egress passes restricted", "[kube][pss]") {
  bottle::BottleSpec spec = kube_sample_spec();
  spec.egress.enabled = false;
  const auto objects = bottle::kube_objects(spec, {}, kube_sample_inputs(spec));
  CHECK(bottle::check_pod_security_restricted(kube_object_of(objects, "Pod")).empty());
}

TEST_CASE("pod security: a hostPath workspace (local Podman only) fails restricted", "[kube][pss]") {
  const auto objects = generated({.workspace = bottle::KubeWorkspace::host_path});
  json::object agent = objects.back();
  CHECK(bottle::check_pod_security_restricted(agent) ==
        std::vector<PodSecurityViolation>{
            {"spec.volumes[2].hostPath", "hostPathVolumes", "must not be used"},
            {"spec.volumes[2].hostPath", "restrictedVolumes", "is not an allowed volume type"}});
}

TEST_CASE("pod security: each rule catches a pod broken that way", "[kube][pss]") {
  const std::string c0 = "spec.containers[0].securityContext";
  const std::vector<Broken> cases{
      {"hostNetwork",
       [](auto& p) { spec_of(p)["hostNetwork"] = true; },
       {{"spec.hostNetwork", "hostNamespaces", "must not be true"}}},
      {"hostPID",
       [](auto& p) { spec_of(p)["hostPID"] = true; },
       {{"spec.hostPID", "hostNamespaces", "must not be true"}}},
      {"hostIPC",
       [](auto& p) { spec_of(p)["hostIPC"] = true; },
       {{"spec.hostIPC", "hostNamespaces", "must not be true"}}},
      {"privileged",
       [](auto& p) { csc(p)["privileged"] = true; },
       {{c0 + ".privileged", "privileged", "must not be true"}}},
      {"capability outside baseline",
       [](auto& p) { obj(csc(p)["capabilities"])["add"] = json::array{"SYS_ADMIN"}; },
       {{c0 + ".capabilities.add[0]", "capabilities_baseline", "is not in the baseline set"},
        {c0 + ".capabilities.add[0]", "capabilities_restricted", "only NET_BIND_SERVICE may be added"}}},
      {"baseline capability other than NET_BIND_SERVICE",
       [](auto& p) {
         obj(csc(p)["capabilities"])["add"] = json::array{"NET_BIND_SERVICE", "CHOWN"};
       },
       {{c0 + ".capabilities.add[1]", "capabilities_restricted", "only NET_BIND_SERVICE may be added"}}},
      {"drop without ALL",
       [](auto& p) { obj(csc(p)["capabilities"])["drop"] = json::array{"NET_RAW"}; },
       {{c0 + ".capabilities.drop", "capabilities_restricted", "must include ALL"}}},
      {"allowPrivilegeEscalation unset",
       [](auto& p) { csc(p).erase("allowPrivilegeEscalation"); },
       {{c0 + ".allowPrivilegeEscalation", "allowPrivilegeEscalation", "must be false"}}},
      {"allowPrivilegeEscalation true",
       [](auto& p) { csc(p)["allowPrivilegeEscalation"] = true; },
       {{c0 + ".allowPrivilegeEscalation", "allowPrivilegeEscalation", "must be false"}}},
      {"runAsNonRoot nowhere",
       [](auto& p) {
         csc(p).erase("runAsNonRoot");
         psc(p).erase("runAsNonRoot");
       },
       {{c0 + ".runAsNonRoot", "runAsNonRoot", "must be true here or at pod level"}}},
      {"runAsNonRoot false on the container",
       [](auto& p) { csc(p)["runAsNonRoot"] = false; },
       {{c0 + ".runAsNonRoot", "runAsNonRoot", "must not be false"}}},
      {"runAsNonRoot false on the pod",
       [](auto& p) { psc(p)["runAsNonRoot"] = false; },
       {{"spec.securityContext.runAsNonRoot", "runAsNonRoot", "must not be false"}}},
      {"runAsUser 0 on the pod",
       [](auto& p) { psc(p)["runAsUser"] = 0; },
       {{"spec.securityContext.runAsUser", "runAsUser", "must not be 0"}}},
      {"runAsUser 0 on the container",
       [](auto& p) { csc(p)["runAsUser"] = 0; },
       {{c0 + ".runAsUser", "runAsUser", "must not be 0"}}},
      {"seccomp Unconfined on the pod",
       [](auto& p) {
         psc(p)["seccompProfile"] = json::object{{"type", "Unconfined"}};
       },
       {{"spec.securityContext.seccompProfile.type", "seccompProfile_restricted",
         "must be RuntimeDefault or Localhost"}}},
      {"seccomp Unconfined on the container",
       [](auto& p) {
         csc(p)["seccompProfile"] = json::object{{"type", "Unconfined"}};
       },
       {{c0 + ".seccompProfile.type", "seccompProfile_restricted", "must be RuntimeDefault or Localhost"}}},
      {"seccomp nowhere",
       [](auto& p) { psc(p).erase("seccompProfile"); },
       {{c0 + ".seccompProfile", "seccompProfile_restricted",
         "must be RuntimeDefault or Localhost here or at pod level"}}},
      {"hostPath volume",
       [](auto& p) {
         spec_of(p)["volumes"].as_array().push_back(
             json::object{{"name", "h"}, {"hostPath", json::object{{"path", "/"}}}});
       },
       {{"spec.volumes[4].hostPath", "hostPathVolumes", "must not be used"},
        {"spec.volumes[4].hostPath", "restrictedVolumes", "is not an allowed volume type"}}},
      {"nfs volume",
       [](auto& p) {
         spec_of(p)["volumes"].as_array().push_back(json::object{{"name", "n"}, {"nfs", json::object{{"path", "/"}}}});
       },
       {{"spec.volumes[4].nfs", "restrictedVolumes", "is not an allowed volume type"}}},
      {"hostPort",
       [](auto& p) {
         container0(p)["ports"] = json::array{json::object{{"containerPort", 80}, {"hostPort", 80}}};
       },
       {{"spec.containers[0].ports[0].hostPort", "hostPorts", "must be unset or 0"}}},
      {"procMount Unmasked",
       [](auto& p) { csc(p)["procMount"] = "Unmasked"; },
       {{c0 + ".procMount", "procMount", "must be unset or Default"}}},
      {"unsafe sysctl",
       [](auto& p) {
         psc(p)["sysctls"] = json::array{json::object{{"name", "net.ipv4.tcp_syncookies"}, {"value", "1"}},
                                         json::object{{"name", "kernel.msgmax"}, {"value", "1"}}};
       },
       {{"spec.securityContext.sysctls[1].name", "sysctls", "is not a safe sysctl"}}},
      {"AppArmor Unconfined",
       [](auto& p) {
         csc(p)["appArmorProfile"] = json::object{{"type", "Unconfined"}};
       },
       {{c0 + ".appArmorProfile.type", "appArmorProfile", "must be RuntimeDefault or Localhost"}}},
      {"AppArmor annotation unconfined",
       [](auto& p) {
         obj(p["metadata"])["annotations"] =
             json::object{{"container.apparmor.security.beta.kubernetes.io/agent", "unconfined"}};
       },
       {{"metadata.annotations[container.apparmor.security.beta.kubernetes.io/agent]", "appArmorProfile",
         "must be runtime/default or localhost/*"}}},
      {"SELinux type spc_t and a user",
       [](auto& p) {
         psc(p)["seLinuxOptions"] = json::object{{"type", "spc_t"}, {"user", "system_u"}};
       },
       {{"spec.securityContext.seLinuxOptions.type", "seLinuxOptions",
         "must be empty or container_t, container_init_t, container_kvm_t, container_engine_t"},
        {"spec.securityContext.seLinuxOptions.user", "seLinuxOptions", "must not be set"}}},
      {"Windows HostProcess",
       [](auto& p) {
         csc(p)["windowsOptions"] = json::object{{"hostProcess", true}};
       },
       {{c0 + ".windowsOptions.hostProcess", "hostProcess", "must not be true"}}},
      {"probe with a host",
       [](auto& p) {
         container0(p)["livenessProbe"] = json::object{{"httpGet", json::object{{"host", "10.0.0.1"}, {"port", 80}}}};
       },
       {{"spec.containers[0].livenessProbe.httpGet.host", "hostProbesAndHostLifecycle", "must not be set"}}},
      {"ephemeral container without a securityContext",
       [](auto& p) {
         spec_of(p)["ephemeralContainers"] = json::array{json::object{{"name", "debug"}}};
       },
       {{"spec.ephemeralContainers[0].securityContext.capabilities.drop", "capabilities_restricted",
         "must include ALL"},
        {"spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation", "allowPrivilegeEscalation",
         "must be false"}}},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      json::object pod = generated().back();  // the agent pod
      REQUIRE(bottle::check_pod_security_restricted(pod).empty());
      c.breaks(pod);
      CHECK(bottle::check_pod_security_restricted(pod) == c.expected);
    }
  }
}

TEST_CASE("pod security: init containers are checked too", "[kube][pss]") {
  json::object egress = kube_object_of(generated(), "Pod");
  json::object init = spec_of(egress)["containers"].as_array()[0].as_object();
  obj(init["securityContext"]).erase("allowPrivilegeEscalation");
  spec_of(egress)["initContainers"] = json::array{init};
  CHECK(bottle::check_pod_security_restricted(egress) ==
        std::vector<PodSecurityViolation>{{"spec.initContainers[0].securityContext.allowPrivilegeEscalation",
                                           "allowPrivilegeEscalation", "must be false"}});
}

TEST_CASE("pod security: a Sandbox is checked at its pod template", "[kube][pss]") {
  json::object sandbox = generated({.agent_object = bottle::KubeAgentObject::sandbox}).back();
  REQUIRE(sandbox.at("kind").as_string() == "Sandbox");
  obj(obj(obj(sandbox["spec"])["podTemplate"])["spec"])["hostPID"] = true;
  CHECK(bottle::check_pod_security_restricted(sandbox) ==
        std::vector<PodSecurityViolation>{{"spec.podTemplate.spec.hostPID", "hostNamespaces", "must not be true"}});
}

TEST_CASE("pod security: objects without a pod have no violations, a pod without a spec has one", "[kube][pss]") {
  CHECK(bottle::check_pod_security_restricted(json::object{{"kind", "Service"}}).empty());
  CHECK(bottle::check_pod_security_restricted(json::object{{"kind", "Pod"}}) ==
        std::vector<PodSecurityViolation>{{"spec", "containers", "must be an object with containers"}});
}
