#pragma once
// The egress capability of an engine: how a bottle's egress proxy is made, started,
// probed and stopped there, as argvs. Like EngineCommands, nothing here runs
// anything; Backend and the operations in ops/ run these argvs.
//
// An engine that cannot run egress has no EgressCommands at all
// (EngineCommands::egress() is nullptr), so there is nothing to call by mistake.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/backends/engine_commands.hpp"
#include "bottle/egress/egress_setup.hpp"
#include "bottle/spec/guest_env.hpp"

namespace bottle {

class EgressCommands {
 public:
  EgressCommands() = default;
  virtual ~EgressCommands() = default;
  EgressCommands(const EgressCommands&) = delete;
  EgressCommands& operator=(const EgressCommands&) = delete;

  /// Where egress runs: a container next to the bottle, or a process on the host.
  virtual EgressPlacement egress_placement() const = 0;
  /// The proxy address and CA bundle path the bottle's environment points at;
  /// disabled when the spec has no egress.
  virtual GuestEgress guest_egress(const BottleSpec& spec) const = 0;
  /// Create the bottle's egress proxy (after EngineCommands::create_argvs).
  virtual std::vector<Argv> egress_create_argvs(const BottleSpec& spec, const EgressFiles& files,
                                                const EgressUpstream& upstream) const = 0;
  /// Start it; returns once it accepts connections, or fails. A host-side egress
  /// reads `files` and `upstream` here; a container got them at create.
  virtual Argv egress_start_argv(const BottleSpec& spec, const EgressFiles& files,
                                 const EgressUpstream& upstream) const = 0;
  /// What egress_start_argv() reads on its stdin (a cluster's egress objects);
  /// nullopt: nothing.
  virtual std::optional<std::string> egress_start_stdin(const BottleSpec& /*spec*/) const { return std::nullopt; }
  /// Where the host pushes a fresh copy of the bottle's forwarded logins to a running
  /// egress that cannot read the host's files (EgressPlacement::cluster): the command
  /// and its stdin. nullopt: egress reads the host files itself, nothing to push.
  struct LoginPush {
    Argv argv;
    std::string stdin_data;
  };
  virtual std::optional<LoginPush> login_push(const BottleSpec& /*spec*/) const { return std::nullopt; }
  /// For an egress whose audit log the host cannot read (EgressPlacement::cluster):
  /// the command that prints the records it logged since the last such command
  /// (`bottle-egress audit-drain`); the host appends them to the bottle's log. nullopt:
  /// egress writes the host's log itself.
  virtual std::optional<Argv> audit_drain_argv(const BottleSpec& /*spec*/) const { return std::nullopt; }
  /// Exits 0 while the proxy runs and accepts connections.
  virtual Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const = 0;
  virtual Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const = 0;
  /// For host placement, running or stopped, found without running anything (ls);
  /// container egress is reported by parse_list() instead, and this returns nullopt.
  virtual std::optional<EngineState> host_egress_state(const BottleSpec& spec, const EgressFiles& files) const = 0;

  /// What egress_create_argvs()[step] reads on its stdin (a pod to play, with the
  /// workspace protection `guard`); nullopt: nothing.
  virtual std::optional<std::string> egress_create_stdin(const BottleSpec& /*spec*/, const EgressFiles& /*files*/,
                                                         const std::vector<GuardMount>& /*guard*/,
                                                         std::size_t /*step*/) const {
    return std::nullopt;
  }

  /// An engine whose bottle network must exist, with a known address, before the
  /// bottle is made (Podman: no name service on it, so the agent's proxy address is
  /// an IP): the command that makes the network, and the query whose output
  /// network_subnet_from() reads. Bottle records that subnet in the spec
  /// (EgressSpec::subnet) before it creates anything else. nullopt: create_argvs()
  /// makes the network, if any.
  struct NetworkSteps {
    Argv create;
    Argv subnet_query;
  };
  virtual std::optional<NetworkSteps> network_steps(const BottleSpec& /*spec*/) const { return std::nullopt; }
  /// The network's IPv4 subnet ("10.89.3.0/24") from the subnet query's output.
  /// Throws Error(backend) on output of another shape.
  virtual std::string network_subnet_from(std::string_view query_output) const;

  /// True when the agent reads its CA bundle from the host directory
  /// EgressFiles::agent_ca_dir, mounted read-only (the pod's root file system is
  /// read-only and it has no root to install one); bottle rewrites the file there
  /// at every start. False: the bundle is installed in the guest at every start.
  virtual bool agent_ca_from_host() const { return false; }

  /// A parent proxy on the host (pipelock) must listen where this engine's egress
  /// reaches the host. When that takes asking the engine, the query to run; nullopt:
  /// nothing to ask, and parent_host_from("") answers.
  virtual std::optional<Argv> parent_host_query() const { return std::nullopt; }
  /// The host address from parent_host_query()'s output. Throws Error(backend) on
  /// output of another shape, Error(isolation) when no address can be found.
  virtual std::string parent_host_from(std::string_view query_output) const;
};

/// An egress container next to a bottle (Docker and Podman take the same flags).
struct EgressContainer {
  std::string engine;      ///< the engine's CLI
  std::string name;        ///< the container's name
  std::string bottle;      ///< the bottle's name (its io.bottle.name label)
  Argv network;            ///< the flags that put it on the bottle's network
  std::string image;       ///< the egress image
  std::string program;     ///< bottle-egress inside the image
  std::uint16_t port = 0;  ///< where it listens (all interfaces)
};
/// `ENGINE create` of that container: labelled io.bottle.managed=1,
/// io.bottle.name=BOTTLE, io.bottle.role=egress; no capabilities, no_new_privs, at
/// most 512 processes; the egress files, the upstream CA and the real credentials'
/// directories mounted (EgressFiles::host_mounts); bottle-egress as entrypoint with
/// its arguments (bottle_egress_argv).
Argv egress_container_create_argv(const EgressContainer& container, const EgressFiles& files,
                                  const EgressUpstream& upstream);

}  // namespace bottle
