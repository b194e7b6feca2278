#pragma once
// DockerCommands: bottles as Docker containers, as docker CLI argvs.
//
// A bottle NAME is the container "bottle-NAME", labelled io.bottle.managed=1 and
// io.bottle.name=NAME, on its own internal network "bottle-NAME-net"; its egress
// proxy is the container "bottle-NAME-egress" (io.bottle.role=egress). Its main process idles until stopped; the agent
// and every provisioning step run through `docker exec`.

#include <functional>
#include <optional>

#include "bottle/backends/egress_commands.hpp"
#include "bottle/backends/engine_commands.hpp"
#include "bottle/core/host_interface.hpp"

namespace bottle {

struct DockerOptions {
  std::string docker = "docker";  ///< the docker CLI (name on PATH or absolute path)
  std::string egress_image = "bottle-egress:latest";
  /// Looks up a host interface's IPv4 address (the bridge's, when the engine's
  /// IPAM config names no gateway). Tests replace it.
  std::function<std::optional<std::string>(std::string_view)> interface_ipv4 = bottle::interface_ipv4;
};

/// What `docker network inspect bridge` tells about the default bridge.
struct BridgeInspect {
  std::string gateway;    ///< the first IPv4 gateway of its IPAM config; "" when none is listed
  std::string interface;  ///< its host interface (com.docker.network.bridge.name); "" when unset
  bool operator==(const BridgeInspect&) const = default;
};
/// Parse the output of DockerCommands::bridge_inspect_argv(). Throws Error(backend)
/// on output of another shape, or a gateway or interface name that is malformed.
BridgeInspect parse_bridge_inspect(std::string_view output);
/// The interface Docker's default bridge uses when its options name none.
inline constexpr std::string_view docker_default_bridge_interface = "docker0";

inline constexpr std::string_view docker_managed_label = "io.bottle.managed";
inline constexpr std::string_view docker_name_label = "io.bottle.name";
/// "bottle" or "egress": what a managed container is to its bottle.
inline constexpr std::string_view docker_role_label = "io.bottle.role";
/// The egress proxy's name on the bottle's network, and its port.
inline constexpr std::string_view docker_egress_alias = "egress";
inline constexpr int docker_egress_port = 8080;
/// Where the egress image holds bottle-egress (images/egress/build.sh puts it there).
inline constexpr std::string_view docker_egress_program = "/usr/local/bin/bottle-egress";

/// Docker always has the egress capability: egress() is this object.
class DockerCommands final : public EngineCommands, public EgressCommands {
 public:
  explicit DockerCommands(DockerOptions options = {});
  BackendKind kind() const override { return BackendKind::docker; }

  /// Workspace protection is bind mounts of the container (`--mount ...,readonly`).
  std::vector<Argv> create_argvs(const BottleSpec& spec, const std::vector<GuardMount>& guard) const override;
  Argv start_argv(const BottleSpec& spec) const override;
  Argv stop_argv(const BottleSpec& spec) const override;
  std::vector<Argv> remove_argvs(const BottleSpec& spec) const override;
  Argv list_argv() const override;
  Argv exec_argv(const BottleSpec& spec, const Argv& command, const ExecOptions& options) const override;
  AgentArgv agent_argv(const BottleSpec& spec, const Argv& agent_args, bool tty) const override;
  std::vector<BottleInfo> parse_list(const std::string& output) const override;
  bool is_gone(const ProcessResult& result) const override;
  const EgressCommands* egress() const override { return this; }
  std::string egress_unavailable_reason() const override { return ""; }

  /// Egress runs as the sidecar container bottle-NAME-egress: on the bottle's internal
  /// network (alias "egress") and on Docker's default bridge for the way out.
  EgressPlacement egress_placement() const override { return EgressPlacement::container; }
  GuestEgress guest_egress(const BottleSpec& spec) const override;
  std::vector<Argv> egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                        const EgressUpstream& upstream) const override;
  Argv egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                         const EgressUpstream& upstream) const override;
  Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const override;
  /// Container egress is listed by parse_list(): nullopt.
  std::optional<EngineState> host_egress_state(const BottleSpec& spec, const EgressFiles& files) const override;
  /// The default bridge's gateway is the host as the egress container sees it:
  /// bridge_inspect_argv().
  std::optional<Argv> parent_host_query() const override { return bridge_inspect_argv(); }
  /// From the bridge's IPAM config when it lists a gateway, else the IPv4 address of
  /// the bridge's host interface (an engine freshly started by dockerd 20.10 lists
  /// only the subnet). Throws Error(isolation) when neither gives an address.
  std::string parent_host_from(std::string_view bridge_inspect_output) const override;
  Argv bridge_inspect_argv() const;

  /// Clone mode's object cache (workspace/object_cache.hpp), built in
  /// docker_object_cache.cpp. `docker volume inspect VOLUME`: fails when it is gone.
  Argv object_cache_inspect_argv(const std::string& volume) const;
  /// `docker volume create` of the cache of the repository at `repo_path`, labelled
  /// io.bottle.managed=1, io.bottle.role=objects and io.bottle.repo=PATH.
  Argv object_cache_create_argv(const std::string& volume, const std::string& repo_path) const;
  /// The fill container: `docker run --rm -i` of the bottle's image as root with no
  /// network, every capability dropped, the cache volume mounted read-write, running
  /// object_cache_fill_script() with the base commit; the bundle goes on stdin.
  Argv object_cache_fill_argv(const BottleSpec& spec, const std::string& volume) const;

 private:
  DockerOptions options_;
};

}  // namespace bottle
