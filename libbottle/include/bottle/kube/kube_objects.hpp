#pragma once
// BottleSpec -> Kubernetes objects (the kubernetes backend applies them; the podman
// backend plays their agent Pod, podman_commands.hpp). Pure: no
// files, no processes, no clock, no env. The caller reads the credential files and the
// egress CA and passes their contents in KubeInputs.
//
//   auto objects = bottle::kube_objects(spec, {.namespace_name = "agents"}, inputs);
//   std::string yaml = bottle::kube_yaml_stream(objects);   // kube_yaml.hpp
//
// Objects, in apply order (each one exists before anything that depends on it):
//   NetworkPolicy  NAME-agent      agent pod: no ingress; egress only to the egress
//                                  pod's proxy port (TCP 8080); with egress disabled,
//                                  no egress at all
//   NetworkPolicy  NAME-egress     egress pod: ingress only from the agent pod on 8080;
//                                  egress to the internet minus private, loopback,
//                                  link-local, CGNAT and cloud-metadata ranges
//                                  (kube_blocked_ipv4/6), plus cluster DNS
//   Secret         NAME-egress     only what egress needs: the egress CA (key and
//                                  cert), the routes' value files (value-0, ...) and
//                                  the upstream CA (upstream-ca.pem, when given);
//                                  mounted into the egress pod only
//   ConfigMap      NAME-routes     routes.json (render_egress_routes)
//   ConfigMap      NAME-pipelock   pipelock.yaml (render_pipelock_yaml), with pipelock
//   ConfigMap      NAME-agent-ca   the agent's CA bundle (public: roots + egress CA cert)
//   ConfigMap      NAME-prompt     prompt.md, the prompt file (options.prompt_in_config_map,
//                                  with a prompt file): mounted read-only at
//                                  /etc/bottle/prompt.md (subPath) in the agent pod
//   PersistentVolumeClaim NAME-ws<i>  one per workspace, in the PVC workspace mode
//   Service        NAME-egress     ClusterIP, port 8080 -> egress pod
//   Pod            NAME-egress     bottle-egress (+ pipelock on 127.0.0.1:8888 in the pod)
//   Pod | Sandbox  NAME-agent      the agent
// NetworkPolicies come first so no pod ever runs before its policy exists. Everything
// egress-related is left out when spec.egress.enabled is false.
//
// Egress is its OWN pod, never a sidecar: all containers of a pod share one network
// namespace, and NetworkPolicy selects pods, so anything a sidecar proxy may reach the
// agent could reach directly. Only a separate pod lets the agent's policy say "the
// proxy's port and nothing else".
//
// DNS: the agent gets none. Its proxy address is the Service's cluster IP through the
// service-link variable Kubernetes sets in pods created after the Service
// (HTTPS_PROXY=http://$(NAME_EGRESS_SERVICE_HOST):8080, expanded by the kubelet), and
// agents send host names to the proxy in CONNECT, so they never resolve a name
// themselves; closed DNS also closes DNS tunnelling. Every other '$' in an env value
// is doubled, so the kubelet's $(VAR) expansion leaves the spec's values as written.
// Egress needs DNS to resolve upstream hosts: its policy allows UDP/TCP 53 to pods
// labelled k8s-app=kube-dns in namespace kube-system (the CoreDNS/kube-dns convention).
//
// Pod hardening (both pods and every container; the "restricted" Pod Security
// Standard, checked by pod_security.hpp): automountServiceAccountToken false,
// runAsNonRoot, a non-zero runAsUser, seccompProfile RuntimeDefault,
// allowPrivilegeEscalation false, capabilities drop ALL, readOnlyRootFilesystem
// (writable places are emptyDirs: the agent's home and /tmp; egress's confdir and
// /tmp), resources (requests = limits) from spec.resources with default_memory_mib
// for the agent, egress_memory_mib for egress.
// Labels: io.bottle.managed=1 and io.bottle.name=NAME on every object,
// io.bottle.role=agent|egress on pods.
//
// Podman (4.3.1, Debian 12, rootful, tried by hand): the agent pod runs under
// `podman kube play` as uid 1000 with no capabilities, no_new_privs, seccomp and a
// read-only root; ConfigMap volumes from the same stream work; but a Pod with a
// `secret` volume makes 4.3.1 panic (nil pointer in kube.VolumeFromSecret), and
// container `ports` are refused with --network none, so the podman backend runs
// egress as a container of its own with host directories, as on Docker, and plays
// only the agent Pod. Podman ignores Service and NetworkPolicy, and the
// service-link variable in HTTPS_PROXY stays unexpanded there: the podman backend
// sets the proxy variables to egress's address instead.
//
// Clone mode (spec.repo), host_path mode only: an emptyDir "clone" at /workspace,
// which Podman keeps across pod stops; a cluster deletes a stopped pod and its
// emptyDirs, so PVC mode refuses spec.repo (Error(invalid_input), "$.repo").
//
// Credentials (KubeInputs, built by kube_egress_inputs, ops/kube_egress.hpp): the host
// is the only refresher; value files are copies without refresh tokens and brokers
// are host_refreshes, so the cluster can never fork the host's refresh chain.
//
// Names: kube_names.hpp. Not generated yet: the workspace guard's read-only
// overlays, credential provisioning inside the agent pod, and the clone that fills a
// workspace PVC.

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/egress_audit.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/spec/guest_env.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

enum class KubeWorkspace {
  persistent_volume_claim,  ///< one PVC per workspace (for clusters)
  /// The host directory itself, for local `podman kube play` only: a hostPath volume
  /// fails the restricted Pod Security Standard, and on a cluster it would name a
  /// directory of whatever node the pod lands on.
  host_path,
};

enum class KubeAgentObject {
  pod,      ///< a bare Pod
  sandbox,  ///< a kubernetes-sigs agent-sandbox Sandbox (agents.x-k8s.io/v1beta1)
};

struct KubeOptions {
  std::string namespace_name = "default";  ///< DNS-1123 label
  KubeWorkspace workspace = KubeWorkspace::persistent_volume_claim;
  std::string workspace_size = "10Gi";  ///< PVC request: digits + optional Ki|Mi|Gi|Ti
  std::string storage_class;            ///< empty: the cluster's default
  KubeAgentObject agent_object = KubeAgentObject::pod;
  std::string egress_image = "bottle-egress:latest";
  /// Image whose entrypoint is pipelock; empty: no pipelock, bottle-egress goes out
  /// directly (as on Docker when no pipelock binary is installed).
  std::string pipelock_image;
  std::int64_t agent_uid = 1000;  ///< the image's user (bottle-agent: node = 1000)
  std::int64_t agent_gid = 1000;
  std::int64_t egress_uid = 65532;
  std::int64_t egress_gid = 65532;
  /// The prompt file as the NAME-prompt ConfigMap (KubeInputs::prompt); false: the
  /// caller gives the pod the prompt file itself (podman binds it).
  bool prompt_in_config_map = true;
};

/// What the objects carry from the host's files (read by the caller).
struct KubeInputs {
  /// The spec's routes plus credential forwarding's, value_file as on the host.
  std::vector<EgressRoute> routes;
  /// Token brokers by route name (render_egress_routes); empty: none. A broker that
  /// refreshes writes the host login back, which a Secret cannot take.
  std::map<std::string, EgressBroker> brokers;
  /// Content for each route's value_file (host path -> content). Goes into the Secret,
  /// so pass only what egress needs (e.g. the access token, not a refresh token).
  std::map<std::string, std::string> value_files;
  std::string ca_pem;           ///< mitmproxy-ca.pem: the egress CA key + cert
  std::string agent_ca_bundle;  ///< system roots + egress CA cert
  /// The prompt file's content (read_prompt_file), required when the spec has one
  /// and options.prompt_in_config_map.
  std::optional<std::string> prompt;
  /// A parent proxy egress leaves through ("http://HOST:PORT", BOTTLE_EGRESS_UPSTREAM);
  /// empty: none. Ignored with options.pipelock_image (pipelock is the parent then).
  std::string parent_proxy;
  /// CAs egress trusts for upstream servers besides the system roots
  /// (BOTTLE_EGRESS_UPSTREAM_CA's content): the Secret's upstream-ca.pem. Empty: none.
  std::string upstream_ca_pem;
  /// The audit log egress keeps in its pod (render_egress_audit_config's max_bytes),
  /// until the host drains it (kube_audit_drain_argv).
  std::uint64_t audit_max_bytes = default_egress_audit_mib << 20;
};

/// Ports and paths the objects use.
inline constexpr int kube_egress_port = 8080;
/// bottle-egress in the egress image (images/egress/build.sh).
inline constexpr std::string_view kube_egress_program = "/usr/local/bin/bottle-egress";
inline constexpr std::string_view kube_pipelock_listen = "127.0.0.1:8888";
inline constexpr std::string_view kube_agent_ca_dir = "/etc/bottle/ca";
/// The egress pod's writable conf directory (an emptyDir): the audit log and the
/// broker's state.
inline constexpr std::string_view kube_egress_conf_dir = "/run/bottle/egress/conf";

/// The agent's proxy and CA bundle as its pod gets them: the egress Service's
/// address through the kubelet's service-link variable
/// ("http://$(BOTTLE_NAME_EGRESS_SERVICE_HOST):8080", address_in_guest) and the
/// bundle from the NAME-agent-ca ConfigMap.
GuestEgress kube_guest_egress(const KubeNames& names);

/// Destinations the egress pod may not reach (ipBlock "except" lists, inside
/// 0.0.0.0/0 and ::/0). 100.64.0.0/10 also covers Alibaba's 100.100.100.200;
/// fc00::/7 covers fd00::/8 and AWS's fd00:ec2::254; ::ffff:0:0/96 keeps IPv4-mapped
/// IPv6 from reaching the IPv4 ranges.
const std::vector<std::string>& kube_blocked_ipv4();
const std::vector<std::string>& kube_blocked_ipv6();

/// The objects above, in apply order. Validates the spec (validate_spec) and options
/// and throws Error(invalid_input) naming the field ("namespace_name",
/// "workspace_size", "$.user" for root, "value_files" for a route whose file has no
/// content, "prompt" for a prompt file without its content).
std::vector<boost::json::object> kube_objects(const BottleSpec& spec, const KubeOptions& options,
                                              const KubeInputs& inputs);

}  // namespace bottle
