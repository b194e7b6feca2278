#include "bottle/core/host.hpp"

#include <fmt/format.h>
#include <array>
#include <cstdlib>
#include <thread>

#include "bottle/core/error.hpp"
#include "bottle/core/host_port.hpp"

namespace bottle {

namespace {

// README.md's "Environment variables" table shows these rows; test_host.cpp
// checks that both list the same names.
constexpr std::array<VarInfo, 22> table{{
    {Var::home, "HOME", "the user's home: default for the directories below and for the agents' host logins", ""},
    {Var::xdg_config_home, "XDG_CONFIG_HOME", "specs go in $XDG_CONFIG_HOME/bottle", "~/.config"},
    {Var::xdg_state_home, "XDG_STATE_HOME", "generated state goes in $XDG_STATE_HOME/bottle", "~/.local/state"},
    {Var::bottle_home, "BOTTLE_HOME", "replaces both: $BOTTLE_HOME/config and $BOTTLE_HOME/state (tests)", ""},
    {Var::path, "PATH", "where docker, smolvm and pipelock are looked up (absolute entries only)", ""},
    {Var::claude_config_dir, "CLAUDE_CONFIG_DIR", "the host's Claude Code directory (forwarded credentials)",
     "~/.claude"},
    {Var::codex_home, "CODEX_HOME", "the host's Codex directory (forwarded credentials)", "~/.codex"},
    {Var::bottle_docker, "BOTTLE_DOCKER", "the docker CLI", "docker"},
    {Var::bottle_egress_image, "BOTTLE_EGRESS_IMAGE", "the egress container image", "bottle-egress:latest"},
    {Var::bottle_smolvm, "BOTTLE_SMOLVM", "the smolvm CLI", "smolvm"},
    {Var::bottle_kubectl, "BOTTLE_KUBECTL", "the kubectl CLI (kubernetes backend)", "kubectl"},
    {Var::bottle_podman, "BOTTLE_PODMAN", "the podman CLI (podman backend)", "podman"},
    {Var::bottle_egress, "BOTTLE_EGRESS", "bottle-egress for smolmachines egress (absolute path)",
     "bottle-egress beside bottle-cli"},
    {Var::bottle_pipelock, "BOTTLE_PIPELOCK", "the pipelock binary (absolute path)", "pipelock on PATH"},
    {Var::bottle_pty_resize, "BOTTLE_PTY_RESIZE", "the pty-resize wrapper (absolute path)",
     "libexec/bottle/pty-resize of the install"},
    {Var::bottle_egress_upstream, "BOTTLE_EGRESS_UPSTREAM",
     "egress's parent proxy, http://HOST:PORT (then bottle runs no pipelock)", ""},
    {Var::bottle_egress_upstream_ca, "BOTTLE_EGRESS_UPSTREAM_CA",
     "a CA file egress trusts for upstream servers (absolute path; test set-ups)", ""},
    {Var::bottle_engine_timeout, "BOTTLE_ENGINE_TIMEOUT", "engine-call deadline in seconds",
     "30 (queries), 300 (changes)"},
    {Var::bottle_egress_audit_mib, "BOTTLE_EGRESS_AUDIT_MIB",
     "egress audit log size kept per bottle, in MiB (read at start)", "16"},
    {Var::notify_socket, "NOTIFY_SOCKET", "set by start-stop-daemon for bottle's own daemons (readiness)", ""},
    {Var::tmux, "TMUX", "set inside tmux: the dashboard opens agents in new panes", ""},
    {Var::tmux_pane, "TMUX_PANE", "the dashboard's own tmux pane (set by tmux)", ""},
}};

// Every enumerator has its row, at its own index.
constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < table.size(); ++i)
    if (static_cast<std::size_t>(table[i].var) != i) return false;
  return static_cast<std::size_t>(Var::tmux_pane) + 1 == table.size();
}
static_assert(table_in_enum_order());

const VarInfo* find_name(std::string_view name) {
  for (const auto& row : table)
    if (row.name == name) return &row;
  return nullptr;
}

}  // namespace

std::span<const VarInfo> environment_variables() { return table; }

const VarInfo& info(Var var) { return table[static_cast<std::size_t>(var)]; }

Clock::time_point SystemClock::now() { return std::chrono::steady_clock::now(); }

void SystemClock::sleep_for(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

std::uint16_t SystemPorts::pick_free_port(std::string_view ipv4) { return bottle::pick_free_port(ipv4); }

bool SystemPorts::port_free(std::string_view ipv4, std::uint16_t port) { return bottle::port_free(ipv4, port); }

Host::Host() : Host(Environment{}) {}

Host::Host(Environment environment, std::shared_ptr<Clock> clock, std::shared_ptr<PortProber> ports)
    : environment_(std::move(environment)),
      clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()),
      ports_(ports ? std::move(ports) : std::make_shared<SystemPorts>()) {
  for (const auto& [name, value] : environment_)
    if (find_name(name) == nullptr)
      throw Error(ErrorKind::internal, fmt::format("environment variable {}: bottle does not read it", name));
}

Host Host::from_process() {
  Environment environment;
  for (const auto& row : table)
    if (const char* value = std::getenv(std::string(row.name).c_str())) environment.emplace(row.name, value);
  return Host(std::move(environment));
}

std::optional<std::string> Host::env(Var var) const {
  const auto it = environment_.find(std::string(info(var).name));
  if (it == environment_.end()) return std::nullopt;
  return it->second;
}

std::string Host::env_or(Var var, std::string fallback) const {
  auto value = env(var);
  return value && !value->empty() ? std::move(*value) : std::move(fallback);
}

std::filesystem::path Host::absolute_path(Var var) const {
  const auto value = env(var);
  if (!value || value->empty()) return {};
  std::filesystem::path path(*value);
  if (!path.is_absolute())
    throw Error(ErrorKind::invalid_input,
                fmt::format("environment variable {}: must be an absolute path", info(var).name));
  return path;
}

}  // namespace bottle
