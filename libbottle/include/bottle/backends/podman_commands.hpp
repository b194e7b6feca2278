#pragma once
// PodmanCommands: bottles as the kubernetes backend's agent pod, run by
// `podman kube play` on this machine. One generator (kube/kube_objects.hpp), two
// engines: the pod podman runs is the pod kubectl applies, with podman-only
// changes (pod() below).
//
// A bottle NAME is the pod kube_names(NAME).agent ("bottle-NAME-agent"), labelled
// io.bottle.managed=1, io.bottle.name=NAME, io.bottle.role=agent, whose one
// container podman names POD-agent. Every argv starts with the podman CLI; the pod
// travels on stdin (`podman kube play ... -`), never in an argv or a file.
//
//   create  podman kube play --build=false --start=false --network none -
//           (the pod, created, not started; never built from a directory of the cwd)
//   start   podman pod start POD
//   stop    podman pod stop POD
//   rm      podman pod rm -f -i POD (its containers and emptyDir volumes), the
//           egress container, podman volume rm -f of those volumes (for a pod that
//           went half away), and the bottle's network
//   ls      podman ps -a --format json --filter label=io.bottle.managed=1 (the
//           pod's agent container and the egress container carry the labels)
//   exec    podman exec [-i] [-t] [-w DIR] [-e K=V]... POD-agent CMD
//
// Isolation: the pod runs as the image's non-root uid with every capability
// dropped, no_new_privs, the runtime's default seccomp profile and a read-only
// root. Podman ignores NetworkPolicy and Service, so nothing here relies on them;
// only the Pod is played.
//
// Network. Without egress the pod has none at all (`--network none`: only `lo`).
// With egress, as on Docker, the bottle gets its own internal network
// "bottle-NAME-net" (`podman network create --internal`: no gateway, no address
// on the host's side of the bridge, no route out). Podman 4.3's CNI networks have
// no name service, so the agent's proxy is an address: the network is made first
// (network_steps()) and its subnet S recorded in the spec; egress is S.2 and the
// pod S.3 (`--ip`). The egress container "bottle-NAME-egress" (`podman create`, the
// Docker egress container's flags: egress_container_create_argv) is on that
// network and on Podman's default network "podman", its way out. It is a container,
// not a played pod: 4.3.1 panics on a pod's `secret` volume, and egress's files
// are host directories, as on Docker. The pod is played after egress exists, with
// its proxy variables pointing at S.2:8080 and the agent CA bundle mounted
// read-only from the host (EgressFiles::agent_ca_dir, a hostPath volume at
// /etc/bottle/ca), since the pod has no root to install one.
//
// Host workspaces are hostPath volumes of the pod (KubeWorkspace::host_path), and
// the workspace guard's mounts hostPaths bound over each protected path, fixed at
// create as on Docker. The prompt file is one more such bind (prompt_delivery()),
// of bottle's own copy. Clone mode's clone is the pod's emptyDir "clone" at
// /workspace: Podman makes it the volume BASE-clone, which outlives `pod stop`.
#include <boost/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "bottle/backends/egress_commands.hpp"
#include "bottle/backends/engine_commands.hpp"
#include "bottle/kube/kube_objects.hpp"

namespace bottle {

struct PodmanOptions {
  std::string podman = "podman";  ///< the podman CLI (name on PATH or absolute path)
  /// How the pod is generated; namespace_name is unused (podman has none), and
  /// egress_image is the egress container's image.
  KubeOptions objects;
};

/// Podman's default network: the egress container's way out, and where a parent
/// proxy on the host (pipelock) listens (its gateway).
inline constexpr std::string_view podman_default_network = "podman";

/// Podman always has the egress capability: egress() is this object.
class PodmanCommands final : public EngineCommands, public EgressCommands {
 public:
  explicit PodmanCommands(PodmanOptions options = {});
  BackendKind kind() const override { return BackendKind::podman; }

  /// The pod podman plays: the Pod of kube_objects(), each emptyDir volume renamed
  /// BASE-VOLUME (podman 4.3 turns an emptyDir into a volume named as in the pod, so
  /// two bottles' "home" volumes would otherwise be one volume). With egress, the
  /// proxy variables name guest_egress()'s address and the agent CA volume is
  /// `agent_ca_dir` on the host (required then). Throws Error(invalid_input) like
  /// kube_objects().
  /// Each `guard` mount (workspace protection, the prompt file) becomes a hostPath
  /// volume bound at its guest path, read-only unless the mount says otherwise.
  boost::json::object pod(const BottleSpec& spec, const std::filesystem::path& agent_ca_dir = {},
                          const std::vector<GuardMount>& guard = {}) const;
  /// "bottle-NAME-agent-agent": the agent container podman makes in the pod.
  std::string container(const BottleSpec& spec) const;

  /// Without egress, the pod; with egress nothing: egress_create_argvs() plays the
  /// pod once egress exists, since the pod mounts a host directory of EgressFiles.
  std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const override;
  std::optional<std::string> create_stdin(const BottleSpec& spec, const std::vector<GuardMount>& guard,
                                          std::size_t step) const override;
  /// The pod's root is read-only and nothing in it runs as root: the prompt file is
  /// one of the `guard` binds.
  PromptDelivery prompt_delivery() const override { return PromptDelivery::bind_copy; }
  Argv start_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  /// Waits (10 s at most) until no process names one of the pod's containers: `pod
  /// stop` returns before the exit cleanups conmon starts, and one that runs late
  /// applies kube play's "stop" exit policy to the pod started after it.
  std::optional<Argv> stop_settle_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  Argv list_argv() const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;

  /// Reads `podman ps -a --format json`: an array of containers, each with Labels
  /// io.bottle.managed = "1", a bottle name in io.bottle.name and io.bottle.role
  /// "agent" (the pod's container: the bottle's row, with Created in seconds since
  /// the epoch) or "egress" (its egress_state); Names is exactly the name bottle
  /// gives that container; State is podman's word: running, created/configured/
  /// initialized, exited/stopped, any other lowercase word is other (kept). Anything
  /// else throws Error(backend) naming the item and field, never the value.
  std::vector<BottleInfo> parse_list(const std::string& output) const override;
  /// podman's "no such pod/container/volume" or "network not found" in stderr.
  bool is_gone(const ProcessResult& result) const override;
  /// Rootless Podman where the host cannot give it what a bottle needs: a memory limit
  /// (cgroup v1, or v2 without delegation) or slirp4netns's /dev/net/tun.
  std::string failure_hint(const ProcessResult& result) const override;

  const EgressCommands* egress() const override { return this; }
  std::string egress_unavailable_reason() const override { return {}; }

  // ---- egress ----
  EgressPlacement egress_placement() const override { return EgressPlacement::container; }
  /// http://S.2:8080 and /etc/bottle/ca/ca-bundle.pem. Throws Error(internal) when
  /// the spec records no subnet (network_steps() never ran).
  GuestEgress guest_egress(const BottleSpec& spec) const override;
  std::optional<NetworkSteps> network_steps(const BottleSpec& spec) const override;
  /// `podman network inspect --format` output: the subnets, space-separated;
  /// exactly one must be IPv4 with a prefix of 16 to 28.
  std::string network_subnet_from(std::string_view query_output) const override;
  /// The egress container (--ip S.2), its connection to the default network, then
  /// the pod (--ip S.3), whose YAML egress_create_stdin() gives.
  std::vector<Argv> egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                        const EgressUpstream& upstream) const override;
  std::optional<std::string> egress_create_stdin(const BottleSpec& spec, const EgressFiles& files,
                                                 const std::vector<GuardMount>& guard, std::size_t step) const override;
  bool agent_ca_from_host() const override { return true; }
  Argv egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                         const EgressUpstream& upstream) const override;
  Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  std::optional<EngineState> host_egress_state(const BottleSpec&, const EgressFiles&) const override {
    return std::nullopt;
  }
  /// The gateway of Podman's default network.
  std::optional<Argv> parent_host_query() const override;
  std::string parent_host_from(std::string_view query_output) const override;

 private:
  PodmanOptions options_;
};

}  // namespace bottle
