#pragma once
// The pipelock bottle runs for a bottle: egress's parent proxy, enforcing the
// bottle's allowlist and header DLP (pipelock_config.hpp). bottle runs one when the
// pipelock binary is installed and BOTTLE_EGRESS_UPSTREAM does not already name a
// parent proxy. It is a host process under start-stop-daemon (host_daemon.hpp),
// listening where the bottle's egress can reach it (loopback for a host-side
// egress, the Docker bridge's gateway for an egress container), and it must pass
// `pipelock healthcheck` before egress starts. Its files, under
// <state>/bottles/NAME/pipelock/:
//   pipelock.yaml   the bottle's config (no secrets)
//   listen          "host:port", fixed at create (an egress container keeps it)
//   pipelock.pid, pipelock.log

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bottle/core/host_daemon.hpp"
#include "bottle/core/state.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

struct ManagedPipelock {
  std::string program;  ///< absolute path of the pipelock binary
  std::filesystem::path dir;
  std::string listen;  ///< "host:port"

  HostDaemon daemon() const;
  /// `pipelock healthcheck --addr LISTEN`: exits 0 once pipelock serves /health.
  std::vector<std::string> health_argv() const;
  /// What egress uses as its parent proxy.
  std::string proxy_url() const { return "http://" + listen; }
};

/// The pipelock binary: $BOTTLE_PIPELOCK (absolute) if set, else `pipelock` on
/// PATH; empty when there is none.
std::filesystem::path locate_pipelock(const Host& host);

/// The API hosts an agent needs (pipelock's allowlist and passthrough for it).
std::vector<std::string> agent_api_hosts(AgentKind agent);

/// <state>/bottles/NAME/pipelock: where the files above live.
std::filesystem::path managed_pipelock_dir(const StateDirs& dirs, const BottleSpec& spec);

/// Write the config and listen files for `spec` (atomic, 0600 in 0700).
ManagedPipelock write_managed_pipelock(const StateDirs& dirs, const BottleSpec& spec, const std::string& program,
                                       const std::string& listen);

/// The bottle's pipelock, when it was created with one. Throws Error(not_found)
/// when it was but the binary is gone (the bottle must not run without it).
std::optional<ManagedPipelock> managed_pipelock_of(const Host& host, const StateDirs& dirs, const BottleSpec& spec);

}  // namespace bottle
