#include "bottle/egress/managed_pipelock.hpp"

#include <fmt/format.h>

#include "bottle/core/error.hpp"
#include "bottle/core/locate.hpp"
#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "bottle/egress/pipelock_config.hpp"

namespace bottle {

namespace fs = std::filesystem;

fs::path managed_pipelock_dir(const StateDirs& dirs, const BottleSpec& spec) {
  return dirs.bottle_state_dir(spec.name) / "pipelock";
}

HostDaemon ManagedPipelock::daemon() const {
  return HostDaemon{.program = program,
                    .args = {"run", "--config", (dir / "pipelock.yaml").string(), "--listen", listen},
                    .pid_file = dir / "pipelock.pid",
                    .log_file = dir / "pipelock.log",
                    .process_name = fs::path(program).filename().string(),
                    .notifies_ready = false};
}

std::vector<std::string> ManagedPipelock::health_argv() const { return {program, "healthcheck", "--addr", listen}; }

fs::path locate_pipelock(const Host& host) {
  if (fs::path from_env = host.absolute_path(Var::bottle_pipelock); !from_env.empty()) return from_env;
  return find_on_path(host, "pipelock");
}

std::vector<std::string> agent_api_hosts(AgentKind agent) {
  return agent == AgentKind::codex ? codex_agent_hosts() : claude_agent_hosts();
}

ManagedPipelock write_managed_pipelock(const StateDirs& dirs, const BottleSpec& spec, const std::string& program,
                                       const std::string& listen) {
  ManagedPipelock pipelock{.program = program, .dir = managed_pipelock_dir(dirs, spec), .listen = listen};
  const PipelockSettings settings =
      pipelock_settings_for(spec, agent_api_hosts(spec.agent), PipelockOptions{.listen = listen});
  write_file_atomic(pipelock.dir / "pipelock.yaml", render_pipelock_yaml(settings), 0600);
  write_file_atomic(pipelock.dir / "listen", listen + "\n", 0600);
  return pipelock;
}

std::optional<ManagedPipelock> managed_pipelock_of(const Host& host, const StateDirs& dirs, const BottleSpec& spec) {
  const fs::path dir = managed_pipelock_dir(dirs, spec);
  std::error_code ec;
  if (!fs::exists(dir / "listen", ec)) return std::nullopt;
  std::string listen = read_file(dir / "listen");
  while (!listen.empty() && listen.back() == '\n') listen.pop_back();
  const fs::path program = locate_pipelock(host);
  if (program.empty())
    throw Error(ErrorKind::not_found,
                fmt::format("bottle {} was created with pipelock in front of its egress, and pipelock is no "
                            "longer installed (set BOTTLE_PIPELOCK or reinstall it)",
                            spec.name));
  return ManagedPipelock{.program = program.string(), .dir = dir, .listen = listen};
}

}  // namespace bottle
