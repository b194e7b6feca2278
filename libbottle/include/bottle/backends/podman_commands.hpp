#pragma once
// PodmanCommands: bottles as the kubernetes backend's agent pod, run by
// `podman kube play` on this machine. One generator (kube/kube_objects.hpp), two
// engines: the pod podman runs is the pod kubectl applies, with two podman-only
// changes (objects() below).
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
//   rm      podman pod rm -f -i POD (its containers and emptyDir volumes), then
//           podman volume rm -f of those volumes, for a pod that went half away
//   ls      podman pod ps --format json --filter label=io.bottle.managed=1
//   exec    podman exec [-i] [-t] [-w DIR] [-e K=V]... POD-agent CMD
//
// Isolation: the pod has no network at all (`--network none`: only `lo`), runs as
// the image's non-root uid with every capability dropped, no_new_privs, the
// runtime's default seccomp profile and a read-only root. Podman ignores
// NetworkPolicy and Service, so nothing here relies on them; only the Pod is played.
//
// Egress does not run under Podman yet (4.3.1, Debian 12, panics on a `secret`
// volume and refuses container ports with --network none): egress() is nullptr, so
// a bottle that needs it is refused (Error(isolation)) before anything is made.
// Host workspaces and prompt files are refused by validate_spec.
//
// Commands run as the pod's non-root user whatever ExecOptions::user asks, as on
// the kubernetes backend: the pod has no root worth switching to.

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "bottle/backends/engine_commands.hpp"
#include "bottle/kube/kube_objects.hpp"

namespace bottle {

struct PodmanOptions {
  std::string podman = "podman";  ///< the podman CLI (name on PATH or absolute path)
  /// How the pod is generated; namespace_name is unused (podman has none).
  KubeOptions objects;
};

class PodmanCommands final : public EngineCommands {
 public:
  explicit PodmanCommands(PodmanOptions options = {});
  BackendKind kind() const override { return BackendKind::podman; }

  /// The pod podman plays: kube_objects() of the spec with egress off, only the
  /// kinds podman runs (the Pod), and each emptyDir volume renamed BASE-VOLUME:
  /// podman 4.3 turns an emptyDir into a volume named as in the pod, so two bottles'
  /// "home" volumes would otherwise be one volume.
  /// Throws Error(invalid_input) like kube_objects().
  std::vector<boost::json::object> objects(const BottleSpec& spec) const;
  /// "bottle-NAME-agent-agent": the agent container podman makes in the pod.
  std::string container(const BottleSpec& spec) const;

  std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const override;
  std::optional<std::string> create_stdin(const BottleSpec& spec, std::size_t step) const override;
  Argv start_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  Argv list_argv() const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;

  /// Reads `podman pod ps --format json`: an array of pods, each with Name, Status,
  /// Created (RFC 3339, any offset, optional fraction) and Labels io.bottle.managed
  /// = "1", a bottle name in io.bottle.name and io.bottle.role = "agent", named as
  /// bottle names that bottle's pod. Status Running is running, Created created,
  /// Exited/Stopped stopped, Degraded/Paused/Error other ("degraded", "paused",
  /// "error"). Anything else throws Error(backend) naming the item and field,
  /// never the value.
  std::vector<BottleInfo> parse_list(const std::string& output) const override;
  /// podman's "no such pod/container/volume" in stderr.
  bool is_gone(const ProcessResult& result) const override;

  const EgressCommands* egress() const override { return nullptr; }
  std::string egress_unavailable_reason() const override;

 private:
  PodmanOptions options_;
};

/// "2026-12-03T14:08:21.301205144Z" or "...+01:00" -> seconds since the epoch;
/// nullopt for anything else.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace bottle
