#pragma once
// KubernetesCommands: bottles as Kubernetes objects, as kubectl argvs.
//
// A bottle NAME is the objects kube_objects() generates (kube/kube_objects.hpp),
// named from kube_base_name(NAME) and labelled io.bottle.managed=1 and
// io.bottle.name=NAME, in the spec's context and namespace ($.kubernetes; empty:
// kubectl's current ones). Every argv starts with
//   kubectl [--context C] [--namespace N]
// and the objects travel on stdin (`kubectl apply -f -`), never in an argv or a file.
//
//   create  apply everything but the agent pod: its NetworkPolicy (and workspace PVCs)
//           exist before any pod does
//   start   apply every object again (idempotent), which makes the agent pod, then
//           `kubectl wait --for=condition=Ready` on it
//   stop    delete the agent pod; its policy and volumes stay
//   rm      delete pods, then every other kind bottle makes, by io.bottle.name
//   ls      `kubectl get pods,networkpolicies -l io.bottle.managed=1 -o json` in each
//           place bottles live: the agent NetworkPolicy says the bottle exists
//           (stopped), its agent pod says how it runs
//   exec    `kubectl exec [-i] [-t] -c agent POD -- CMD`
//
// Egress runs in the cluster (EgressPlacement::cluster): its pod, Service, policies,
// routes ConfigMap and Secret are among the bottle's objects, so create applies them
// with the rest and the egress steps are kubectl calls on them:
//   egress start  `kubectl apply -f -` of every object but the agent (the Secret
//                 with the host logins as they are now), before the agent starts
//   egress probe  `kubectl wait --for=condition=Ready pod/NAME-egress --timeout=2s`
//   egress stop   `kubectl delete pod NAME-egress --ignore-not-found`
//   login push    `kubectl apply -f -` of the Secret alone (Bottles::push_logins)
// What the egress objects carry from the host comes from options.egress_inputs
// (kube_egress_inputs: the host stays the only refresher of every login). A bottle
// with egress off gets an agent policy that denies all egress and ingress.
//
// With $.kubernetes.agent_sandbox the agent is a kubernetes-sigs agent-sandbox
// Sandbox (agents.x-k8s.io/v1beta1) holding the same pod as its template; its
// controller makes the pod, named like the Sandbox and carrying the template's
// labels, so ls and exec are unchanged. start waits on the Sandbox's Ready
// condition; stop deletes the Sandbox (deleting its pod would only make the
// controller start another); rm deletes Sandboxes first. Without the CRDs in the
// cluster, start's apply fails with kubectl's "no matches for kind" and the create
// is rolled back.
//
// Commands run as the pod's non-root user whatever ExecOptions::user asks: a pod that
// passes the restricted Pod Security Standard has no root to switch to.

#include <boost/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "bottle/backends/egress_commands.hpp"
#include "bottle/backends/engine_commands.hpp"
#include "bottle/kube/kube_objects.hpp"

namespace bottle {

struct KubernetesOptions {
  std::string kubectl = "kubectl";  ///< the kubectl CLI (name on PATH or absolute path)
  /// How objects are generated; namespace_name is replaced by the bottle's.
  KubeOptions objects;
  /// How long start waits for the agent pod to become Ready (kubectl's --timeout).
  std::string ready_timeout = "240s";
  /// Reads the prompt file for its ConfigMap, at create and every start; tests give
  /// their own. Default: read_prompt_file() (no link followed).
  std::function<std::string(const std::string& path)> read_prompt;
  /// What a bottle's egress objects carry from the host (kube_egress_inputs), read
  /// whenever they are built. Unset: a bottle with egress cannot be generated
  /// (Error(isolation)).
  std::function<KubeInputs(const BottleSpec& spec)> egress_inputs;
};

/// The agent pod's one container.
inline constexpr std::string_view kube_agent_container = "agent";

class KubernetesCommands final : public EngineCommands, public EgressCommands {
 public:
  explicit KubernetesCommands(KubernetesOptions options = {});
  BackendKind kind() const override { return BackendKind::kubernetes; }

  /// `kubectl [--context C] [--namespace N]`: how every argv for this bottle starts.
  Argv kubectl(const BottleSpec& spec) const;
  /// The bottle's objects, in apply order; without a namespace in the spec, the
  /// objects name none either (kubectl's context decides). The prompt file, if any,
  /// is read (options.read_prompt) into its ConfigMap, and with egress the host's
  /// inputs (options.egress_inputs) into the egress objects.
  /// Throws Error(invalid_input) like kube_objects(), and the readers' errors.
  std::vector<boost::json::object> objects(const BottleSpec& spec) const;

  std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const override;
  std::optional<std::string> create_stdin(const BottleSpec& spec, const std::vector<GuardMount>& guard,
                                          std::size_t step) const override;
  Argv start_argv(const BottleSpec& spec) const override;
  std::optional<std::string> start_stdin(const BottleSpec& spec) const override;
  std::optional<Argv> start_wait_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  /// The current context and namespace.
  Argv list_argv() const override;
  /// One query per distinct (context, namespace) of `specs`; list_argv() for none.
  std::vector<Argv> list_argvs(const std::vector<BottleSpec>& specs) const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;

  /// Reads kubectl's `get -o json` List: Pods and NetworkPolicies labelled
  /// io.bottle.managed=1, each with a bottle name label, a creationTimestamp
  /// (RFC 3339, UTC) and, for pods, io.bottle.role and status.phase. Pod phase
  /// Running is running, Succeeded/Failed stopped, Pending "pending", Unknown
  /// "unknown", a pod being deleted "terminating". Anything else throws
  /// Error(backend) naming the item and field, never the value.
  std::vector<BottleInfo> parse_list(const std::string& output) const override;
  /// kubectl's "(NotFound)" / "not found" in stderr.
  bool is_gone(const ProcessResult& result) const override;

  /// The prompt file is the NAME-prompt ConfigMap, mounted read-only.
  PromptDelivery prompt_delivery() const override { return PromptDelivery::engine_objects; }
  /// The home is an emptyDir: a stop deletes it with the pod.
  bool keeps_home_across_stop() const override { return false; }

  const EgressCommands* egress() const override { return this; }
  std::string egress_unavailable_reason() const override { return {}; }

  // ---- EgressCommands: egress as the bottle's own cluster objects ----
  EgressPlacement egress_placement() const override { return EgressPlacement::cluster; }
  /// The egress Service's address through the kubelet's service-link variable,
  /// known only in the pod (address_in_guest); the CA bundle from its ConfigMap.
  GuestEgress guest_egress(const BottleSpec& spec) const override;
  /// Nothing: create's apply made the egress objects with the rest.
  std::vector<Argv> egress_create_argvs(const BottleSpec&, const EgressFiles&, const EgressUpstream&) const override {
    return {};
  }
  Argv egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                         const EgressUpstream& upstream) const override;
  std::optional<std::string> egress_start_stdin(const BottleSpec& spec) const override;
  std::optional<LoginPush> login_push(const BottleSpec& spec) const override;
  std::optional<Argv> audit_drain_argv(const BottleSpec& spec) const override;
  Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  /// The egress pod's state comes from parse_list().
  std::optional<EngineState> host_egress_state(const BottleSpec&, const EgressFiles&) const override {
    return std::nullopt;
  }

 private:
  KubernetesOptions options_;
};

}  // namespace bottle
