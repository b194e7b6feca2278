#pragma once
// Backend: the operations on one engine's bottles. It owns the engine's
// EngineCommands (pure argv builders, engine_commands.hpp) and runs what they build
// through the one Runner seam, each call with its deadline.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bottle/backends/egress_commands.hpp"
#include "bottle/backends/engine_commands.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/spec/guest_env.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// How long bottle waits for an engine call before it kills the call and reports
/// that the engine did not answer. A hung dockerd or smolvm must not hang
/// bottle-cli or the dashboard forever. Interactive runs (the agent, exec) have none.
struct EngineTimeouts {
  /// Reads (list, inspect, probe, --version): a healthy engine answers in well
  /// under a second; 30 s is far beyond a loaded machine's worst case.
  std::chrono::milliseconds query = std::chrono::seconds(30);
  /// Changes (create, start, stop, remove): create may pull an image or boot a VM,
  /// and `docker stop` alone waits 10 s for the container before killing it.
  std::chrono::milliseconds change = std::chrono::seconds(300);
  bool operator==(const EngineTimeouts&) const = default;
};

/// Which EngineTimeouts limit an engine call gets.
enum class EngineCall { query, change };

/// The timeouts BOTTLE_ENGINE_TIMEOUT's `value` asks for: one limit, in whole
/// seconds (1..86400), for every engine call. Empty value: the defaults.
/// Throws Error(invalid_input) for anything else.
EngineTimeouts engine_timeouts_from(std::string_view value);

/// "docker ps timed out after 30 s (...)": the error message for an engine call
/// that timed out after `limit`.
std::string engine_timeout_message(const Argv& argv, std::chrono::milliseconds limit);

/// The operations on one engine's bottles: its EngineCommands' argvs, run through
/// the Runner with the engine's deadlines, their failures turned into Error(backend).
class Backend {
 public:
  Backend(Runner& runner, std::unique_ptr<EngineCommands> commands);
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  BackendKind kind() const { return commands_->kind(); }
  const EngineCommands& commands() const { return *commands_; }
  /// The engine's egress capability; nullptr when it has none here
  /// (commands().egress_unavailable_reason() says why).
  const EgressCommands* egress() const { return commands_->egress(); }
  /// egress(), or Error(isolation) saying why the engine has none here.
  const EgressCommands& require_egress() const;

  void set_engine_timeouts(EngineTimeouts timeouts) { timeouts_ = timeouts; }
  const EngineTimeouts& engine_timeouts() const { return timeouts_; }
  /// `argv` as a Command with the deadline its kind of call gets.
  Command engine_command(Argv argv, EngineCall call = EngineCall::change) const;
  std::map<std::string, std::string> guest_env(const BottleSpec& spec) const { return commands_->guest_env(spec); }
  /// The egress the bottle's environment points at; disabled without the capability.
  GuestEgress guest_egress(const BottleSpec& spec) const;
  /// The host address a parent proxy on the host (pipelock) must listen on for this
  /// engine's egress to reach it; asks the engine when the capability says so.
  std::string egress_parent_host();

  void create(const BottleSpec& spec, const std::vector<GuardMount>& guard);
  void start(const BottleSpec& spec);
  /// stop_argv(), then waits for what it leaves running in the background
  /// (stop_settle_argv(), best effort), so a start right after it is not undone.
  void stop(const BottleSpec& spec);
  /// Runs every remove_argvs() command; objects that are already gone are fine.
  void remove(const BottleSpec& spec);
  std::vector<BottleInfo> list();
  /// The bottles where `specs` (all of this engine) live: one query per place
  /// (list_argvs()), their rows together.
  std::vector<BottleInfo> list(const std::vector<BottleSpec>& specs);
  /// Run a command in the bottle. Non-tty runs capture output unless `interactive`.
  ProcessResult exec(const BottleSpec& spec, const Argv& command, const ExecOptions& options,
                     std::optional<std::string> stdin_data = std::nullopt, bool interactive = false);
  /// Write `content` to `guest_path` inside the bottle, owned by `owner`, with `mode`,
  /// atomically (temp + rename in the guest). The content travels on stdin, never
  /// in an argv.
  void install_file(const BottleSpec& spec, const std::string& guest_path, const std::string& content,
                    const std::string& owner, unsigned mode);
  /// Where the engine's bottle network must exist before the bottle
  /// (EgressCommands::network_steps()), make it and record the subnet the engine
  /// gave it in spec.egress.subnet; otherwise nothing. Throws Error(backend).
  void prepare_network(BottleSpec& spec);
  /// Run the agent on the caller's terminal; returns its status as a shell reports it.
  int run_agent(const BottleSpec& spec, const Argv& agent_args, bool tty);

 private:
  /// Run with the deadline of `call` and throw Error(backend) with the engine's
  /// stderr when it fails (or says it timed out).
  ProcessResult run_checked(const Argv& argv, std::string_view what, EngineCall call = EngineCall::change,
                            std::optional<std::string> stdin_data = std::nullopt);

  Runner& runner_;
  std::unique_ptr<EngineCommands> commands_;
  EngineTimeouts timeouts_;
};

}  // namespace bottle
