#pragma once
// The egress capability of an engine: how a bottle's egress proxy is made, started,
// probed and stopped there, as argvs. Like EngineCommands, nothing here runs
// anything; Backend and the operations in ops/ run these argvs.
//
// An engine that cannot run egress has no EgressCommands at all
// (EngineCommands::egress() is nullptr), so there is nothing to call by mistake.

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
  /// Exits 0 while the proxy runs and accepts connections.
  virtual Argv egress_probe_argv(const BottleSpec& spec, const EgressFiles& files) const = 0;
  virtual Argv egress_stop_argv(const BottleSpec& spec, const EgressFiles& files) const = 0;
  /// For host placement, running or stopped, found without running anything (ls);
  /// container egress is reported by parse_list() instead, and this returns nullopt.
  virtual std::optional<EngineState> host_egress_state(const BottleSpec& spec, const EgressFiles& files) const = 0;

  /// A parent proxy on the host (pipelock) must listen where this engine's egress
  /// reaches the host. When that takes asking the engine, the query to run; nullopt:
  /// nothing to ask, and parent_host_from("") answers.
  virtual std::optional<Argv> parent_host_query() const { return std::nullopt; }
  /// The host address from parent_host_query()'s output. Throws Error(backend) on
  /// output of another shape, Error(isolation) when no address can be found.
  virtual std::string parent_host_from(std::string_view query_output) const;
};

}  // namespace bottle
