#include "bottle/backends/backend.hpp"

#include <charconv>
#include <iterator>

#include <fmt/format.h>

#include "bottle/core/error.hpp"

namespace bottle {

Backend::Backend(Runner& runner, std::unique_ptr<EngineCommands> commands)
    : runner_(runner), commands_(std::move(commands)) {
  if (!commands_) throw Error(ErrorKind::internal, "a backend needs its engine's commands");
}

GuestEgress Backend::guest_egress(const BottleSpec& spec) const {
  const EgressCommands* e = egress();
  return e ? e->guest_egress(spec) : GuestEgress{};
}

const EgressCommands& Backend::require_egress() const {
  if (const EgressCommands* e = egress()) return *e;
  throw Error(ErrorKind::isolation, commands_->egress_unavailable_reason() +
                                        "; the bottle cannot have a network path or forwarded credentials");
}

std::string Backend::egress_parent_host() {
  const EgressCommands& e = require_egress();
  const std::optional<Argv> query = e.parent_host_query();
  if (!query) return e.parent_host_from("");
  return e.parent_host_from(
      run_checked(*query, fmt::format("find where {} egress reaches the host", to_string(kind())), EngineCall::query)
          .out);
}

EngineTimeouts engine_timeouts_from(std::string_view value) {
  if (value.empty()) return {};
  int seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 86400)
    throw Error(ErrorKind::invalid_input, "BOTTLE_ENGINE_TIMEOUT: expected a whole number of seconds from 1 to 86400");
  const std::chrono::seconds limit(seconds);
  return EngineTimeouts{.query = limit, .change = limit};
}

std::string engine_timeout_message(const Argv& argv, std::chrono::milliseconds limit) {
  const std::string command = argv.size() > 1 ? argv[0] + " " + argv[1] : argv.empty() ? "" : argv[0];
  const auto seconds = std::chrono::duration_cast<std::chrono::duration<double>>(limit).count();
  return fmt::format(
      "{} timed out after {:g} s (the engine did not answer; is it hung? "
      "BOTTLE_ENGINE_TIMEOUT sets the limit in seconds)",
      command, seconds);
}

Command Backend::engine_command(Argv argv, EngineCall call) const {
  return Command{.argv = std::move(argv), .timeout = call == EngineCall::query ? timeouts_.query : timeouts_.change};
}

ProcessResult Backend::run_checked(const Argv& argv, std::string_view what, EngineCall call,
                                   std::optional<std::string> stdin_data) {
  Command command = engine_command(argv, call);
  command.stdin_data = std::move(stdin_data);
  ProcessResult r = runner_.run(command);
  if (r.timed_out())
    throw Error(ErrorKind::backend, fmt::format("{}: {}", what, engine_timeout_message(argv, *command.timeout)));
  if (!r.started())
    throw Error(ErrorKind::program_missing, fmt::format("{}: could not run {}: {}", what, argv.front(), r.start_error));
  if (!r.ok()) {
    std::string detail = r.err.empty() ? r.out : r.err;
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    const std::string hint = commands_->failure_hint(r);
    throw Error(ErrorKind::backend,
                fmt::format("{}: {} failed (status {}){}{}{}{}", what, argv.front(), r.shell_status(),
                            detail.empty() ? "" : ": ", detail, hint.empty() ? "" : "\n", hint));
  }
  return r;
}

void Backend::create(const BottleSpec& spec, const std::vector<GuardMount>& guard) {
  const std::vector<Argv> argvs = commands_->create_argvs(spec, guard);
  for (std::size_t step = 0; step < argvs.size(); ++step)
    run_checked(argvs[step], "create " + spec.name, EngineCall::change, commands_->create_stdin(spec, guard, step));
}

void Backend::prepare_network(BottleSpec& spec) {
  const EgressCommands* e = egress();
  const auto steps = e ? e->network_steps(spec) : std::nullopt;
  if (!steps) return;
  run_checked(steps->create, "create the network of " + spec.name);
  spec.egress.subnet = e->network_subnet_from(
      run_checked(steps->subnet_query, "read the network of " + spec.name, EngineCall::query).out);
}

void Backend::start(const BottleSpec& spec) {
  run_checked(commands_->start_argv(spec), "start " + spec.name, EngineCall::change, commands_->start_stdin(spec));
  if (const auto wait = commands_->start_wait_argv(spec)) run_checked(*wait, "start " + spec.name);
}

void Backend::stop(const BottleSpec& spec) {
  run_checked(commands_->stop_argv(spec), "stop " + spec.name);
  // Best effort: the bottle is stopped either way.
  if (const auto settle = commands_->stop_settle_argv(spec)) runner_.run(engine_command(*settle));
}

void Backend::remove(const BottleSpec& spec) {
  std::string first_error;
  for (const auto& argv : commands_->remove_argvs(spec)) {
    const Command command = engine_command(argv);
    const ProcessResult r = runner_.run(command);
    // Already gone is what we want.
    const bool gone = r.started() && !r.ok() && commands_->is_gone(r);
    if (r.ok() || gone || !first_error.empty()) continue;
    std::string detail = r.timed_out() ? engine_timeout_message(argv, *command.timeout)
                         : r.started() ? r.err
                                       : r.start_error;
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    first_error = fmt::format("remove {}: {} failed: {}", spec.name, argv.front(), detail);
  }
  if (!first_error.empty()) throw Error(ErrorKind::backend, first_error);
}

std::vector<BottleInfo> Backend::list() {
  return commands_->parse_list(
      run_checked(commands_->list_argv(), fmt::format("list {} bottles", to_string(kind())), EngineCall::query).out);
}

std::vector<BottleInfo> Backend::list(const std::vector<BottleSpec>& specs) {
  std::vector<BottleInfo> all;
  for (const auto& argv : commands_->list_argvs(specs)) {
    auto rows = commands_->parse_list(
        run_checked(argv, fmt::format("list {} bottles", to_string(kind())), EngineCall::query).out);
    all.insert(all.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
  }
  return all;
}

ProcessResult Backend::exec(const BottleSpec& spec, const Argv& command, const ExecOptions& options,
                            std::optional<std::string> stdin_data, bool interactive) {
  return runner_.run(Command{.argv = commands_->exec_argv(spec, command, options),
                             .stdin_data = std::move(stdin_data),
                             .interactive = interactive});
}

void Backend::install_file(const BottleSpec& spec, const std::string& guest_path, const std::string& content,
                           const std::string& owner, unsigned mode) {
  // The path and owner are passed as positional parameters of a fixed script, so
  // no value is ever spliced into shell text.
  static const std::string script =
      "set -e; dir=$(dirname \"$1\"); mkdir -p \"$dir\"; tmp=\"$1.bottle-tmp\"; "
      "umask 077; cat > \"$tmp\"; chown \"$2\" \"$tmp\"; chmod \"$3\" \"$tmp\"; mv -f \"$tmp\" \"$1\"";
  const Argv command{"sh", "-c", script, "sh", guest_path, owner, fmt::format("{:o}", mode)};
  ExecOptions options;
  options.forward_stdin = true;
  Command run = engine_command(commands_->exec_argv(spec, command, options));
  run.stdin_data = content;
  const ProcessResult r = runner_.run(run);
  if (!r.ok())
    throw Error(ErrorKind::backend, fmt::format("could not install {} in bottle {}: {}", guest_path, spec.name,
                                                r.timed_out() ? engine_timeout_message(run.argv, *run.timeout)
                                                : r.started() ? r.err
                                                              : r.start_error));
}

int Backend::run_agent(const BottleSpec& spec, const Argv& agent_args, bool tty) {
  const ProcessResult r =
      runner_.run(Command{.argv = commands_->agent_argv(spec, agent_args, tty).argv(), .interactive = true});
  if (!r.started()) throw Error(ErrorKind::backend, fmt::format("could not start the agent: {}", r.start_error));
  return r.shell_status();
}

}  // namespace bottle
