#pragma once
// The host as bottle sees it: its environment variables, a clock to wait on, and
// its TCP ports. Each executable builds one Host in main (Host::from_process()) and
// passes it down; nothing else in libbottle reads the process environment, sleeps
// on the real clock or probes real ports, so tests build a Host of their own (a
// std::map environment, a FakeClock, fake ports) instead of touching the process.
//
// Every variable bottle reads is in one table (environment_variables()); README.md's
// table lists the same names, and a unit test keeps the two in step.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bottle {

/// Every environment variable bottle reads.
enum class Var {
  home,
  xdg_config_home,
  xdg_state_home,
  bottle_home,
  path,
  claude_config_dir,
  codex_home,
  bottle_docker,
  bottle_egress_image,
  bottle_smolvm,
  bottle_kubectl,
  bottle_podman,
  bottle_egress,
  bottle_pipelock,
  bottle_pty_resize,
  bottle_egress_upstream,
  bottle_egress_upstream_ca,
  bottle_engine_timeout,
  bottle_egress_audit_mib,
  notify_socket,
  tmux,
  tmux_pane,
};

struct VarInfo {
  Var var;
  std::string_view name;      ///< e.g. "BOTTLE_HOME"
  std::string_view meaning;   ///< one line, as README.md shows it
  std::string_view fallback;  ///< what applies when unset ("" when nothing does)
};

/// The table: one row per Var, in the enum's order.
std::span<const VarInfo> environment_variables();
/// The row of `var`.
const VarInfo& info(Var var);

/// Time for waits with a deadline (readiness polls). Steady, never wall-clock.
class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

/// The real steady clock; sleep_for blocks the calling thread.
class SystemClock final : public Clock {
 public:
  time_point now() override;
  void sleep_for(std::chrono::milliseconds duration) override;
};

/// For tests: time moves only when someone sleeps, by exactly what they asked for.
/// Never blocks.
class FakeClock final : public Clock {
 public:
  time_point now() override { return now_; }
  void sleep_for(std::chrono::milliseconds duration) override {
    now_ += duration;
    slept_ += duration;
  }
  /// Everything slept so far.
  std::chrono::milliseconds slept() const { return slept_; }

 private:
  time_point now_{};
  std::chrono::milliseconds slept_{0};
};

/// TCP ports on host addresses (see host_port.hpp for the real behaviour).
class PortProber {
 public:
  virtual ~PortProber() = default;
  /// A port on `ipv4` that nothing listens on right now. Throws Error(io) when
  /// there is none, Error(invalid_input) for a bad address.
  virtual std::uint16_t pick_free_port(std::string_view ipv4) = 0;
  /// Whether `ipv4`:`port` can be bound right now.
  virtual bool port_free(std::string_view ipv4, std::uint16_t port) = 0;
};

/// Real sockets (host_port.hpp).
class SystemPorts final : public PortProber {
 public:
  std::uint16_t pick_free_port(std::string_view ipv4) override;
  bool port_free(std::string_view ipv4, std::uint16_t port) override;
};

class Host {
 public:
  using Environment = std::map<std::string, std::string>;

  /// An empty environment, the system clock and real ports.
  Host();
  /// `environment` may hold only names from the table (Error(internal) otherwise:
  /// a test that sets a variable bottle never reads tests nothing); null
  /// clock/ports mean the system ones.
  explicit Host(Environment environment, std::shared_ptr<Clock> clock = nullptr,
                std::shared_ptr<PortProber> ports = nullptr);
  /// The process's environment (the table's variables only), the system clock,
  /// real ports. The one place libbottle reads the environment.
  static Host from_process();

  /// The variable's value; nullopt when unset (set but empty is "").
  std::optional<std::string> env(Var var) const;
  /// The value, or `fallback` when unset or empty.
  std::string env_or(Var var, std::string fallback) const;
  /// The variable as a path; empty when unset or empty. Throws Error(invalid_input)
  /// naming the variable when it is set but not absolute.
  std::filesystem::path absolute_path(Var var) const;

  Clock& clock() const { return *clock_; }
  PortProber& ports() const { return *ports_; }

 private:
  Environment environment_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<PortProber> ports_;
};

}  // namespace bottle
