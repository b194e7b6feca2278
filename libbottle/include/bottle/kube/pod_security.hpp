#pragma once
// A checker for the Kubernetes "restricted" Pod Security Standard (which includes
// every "baseline" control), run over objects as bottle generates them
// (kube_objects.hpp), so a generated pod that a namespace enforcing "restricted"
// would reject fails a unit test instead of a cluster. Pure.
//
// Rules follow kubernetes/pod-security-admission (policy/check_*.go), the names
// below are its check IDs; every container list (containers, initContainers,
// ephemeralContainers) is checked:
//   hostProcess               windowsOptions.hostProcess not true (pod, containers)
//   hostNamespaces            hostNetwork, hostPID, hostIPC not true
//   privileged                securityContext.privileged not true
//   capabilities_baseline     capabilities.add only the baseline set
//   hostPathVolumes           no hostPath volume
//   hostPorts                 ports[].hostPort unset or 0
//   appArmorProfile           appArmorProfile.type RuntimeDefault|Localhost (pod,
//                             containers), and the beta annotations runtime/default
//                             or localhost/*
//   seLinuxOptions            type empty or container_t|container_init_t|
//                             container_kvm_t|container_engine_t; user and role empty
//   procMount                 unset or Default
//   sysctls                   only the safe set
//   hostProbesAndHostLifecycle  no "host" in httpGet/tcpSocket of probes and
//                             lifecycle handlers
//   restrictedVolumes         only configMap, csi, downwardAPI, emptyDir, ephemeral,
//                             image, persistentVolumeClaim, projected, secret
//   allowPrivilegeEscalation  explicitly false on every container
//   runAsNonRoot              true at pod level, or on every container; never false
//   runAsUser                 never 0
//   seccompProfile_restricted RuntimeDefault|Localhost at pod level or on every
//                             container; never anything else
//   capabilities_restricted   drop includes ALL; add only NET_BIND_SERVICE
// Exemptions that newer versions grant to pods with hostUsers: false (runAsNonRoot,
// runAsUser, 1.35) and to Windows pods are not applied: the check is stricter than
// admission there, never looser.
//
// A hostPath workspace (KubeWorkspace::host_path, for local Podman) fails
// hostPathVolumes and restrictedVolumes by design.

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace bottle {

struct PodSecurityViolation {
  std::string path;     ///< e.g. "spec.containers[0].securityContext.runAsUser"
  std::string check;    ///< the check ID above, e.g. "runAsUser"
  std::string problem;  ///< what is wrong, e.g. "must not be 0"
  bool operator==(const PodSecurityViolation&) const = default;
};

/// The violations of one object, in document order. Pods are checked at "spec",
/// agent-sandbox Sandboxes at "spec.podTemplate.spec" (plus the template's
/// annotations), Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs at
/// "spec.template.spec"; any other kind has none. A malformed object (a container
/// that is not an object, a non-string type, ...) is a violation of the check that
/// reads it, never a pass.
std::vector<PodSecurityViolation> check_pod_security_restricted(const boost::json::object& object);

}  // namespace bottle
