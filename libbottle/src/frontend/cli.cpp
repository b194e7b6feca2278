#include "bottle/frontend/cli.hpp"

#include <fmt/format.h>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <utility>

#include "bottle/core/error.hpp"
#include "bottle/core/host_daemon.hpp"
#include "bottle/core/locate.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "bottle/egress/pipelock_config.hpp"
#include "bottle/frontend/audit_logs.hpp"
#include "bottle/frontend/broker_cli.hpp"
#include "bottle/frontend/cli_clone.hpp"
#include "bottle/frontend/render.hpp"
#include "bottle/frontend/rows_format.hpp"
#include "bottle/frontend/sessions_cli.hpp"
#include "bottle/ops/canaries.hpp"
#include "bottle/ops/resume.hpp"
#include "bottle/ops/sessions.hpp"
#include "bottle/spec/agent.hpp"
#include "bottle/spec/spec_overrides.hpp"
#include "bottle/workspace/workspace_manifest.hpp"
#include "core/json_reader.hpp"
#include "frontend/cli_args.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

struct CommandInfo {
  std::string_view name;
  std::string_view synopsis;
  std::string_view help;
  int (*run)(const std::vector<std::string>& args, CliContext& ctx);
};

[[noreturn]] void usage(std::string_view message) { throw Error(ErrorKind::usage, std::string(message)); }

// An argument quoted back in a message: control bytes escaped, long ones cut, so a
// hostile argument cannot break or flood the error line.
std::string shown(std::string_view arg) { return detail::printable(arg); }

// A spec validation error under the name of the argument that carried the value
// ("exec: --user: must match ..."), like spec_overrides does for spec flags.
template <typename Fn>
void as_argument(std::string_view argument, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) { throw e.relabeled(std::string(argument)); }
}

bool is_help(const std::string& arg) { return arg == "--help" || arg == "-h"; }

std::string current_dir(const CliContext& ctx) {
  return ctx.cwd.empty() ? std::filesystem::current_path().string() : ctx.cwd;
}

BottleSpec spec_from_flags(const std::vector<std::string>& args, CliContext& ctx, bool* no_start,
                           std::string* show_name, bool* no_check = nullptr) {
  SpecOverrides overrides;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (overrides.consume(args, i)) continue;
    if (no_start != nullptr && args[i] == "--no-start") {
      *no_start = true;
      continue;
    }
    // How this start goes, not what the bottle is: kept out of the stored spec.
    if (no_check != nullptr && args[i] == "--no-check") {
      *no_check = true;
      continue;
    }
    if (show_name != nullptr && !args[i].empty() && args[i].front() != '-' && show_name->empty()) {
      *show_name = args[i];
      continue;
    }
    usage(fmt::format("unknown option '{}'", shown(args[i])));
  }
  BottleSpec base;
  base.name.clear();
  const std::string cwd = current_dir(ctx);
  if (show_name != nullptr && !show_name->empty()) {
    validate_bottle_name(*show_name, "NAME");
    base = SpecStore(ctx.dirs).load(*show_name);
  } else if (overrides.spec_file) {
    std::filesystem::path file(*overrides.spec_file);
    if (!file.is_absolute()) file = std::filesystem::path(cwd) / file;
    // The file is named in every error, and a missing one is a bad flag value,
    // not a missing bottle.
    const std::string where = fmt::format("--spec {}", shown(file.string()));
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
      throw Error(ErrorKind::invalid_input, fmt::format("{}: is a directory, not a spec file", where));
    try {
      base = parse_spec(read_file(file));
    } catch (const Error& e) {
      const ErrorKind kind = e.kind() == ErrorKind::not_found ? ErrorKind::invalid_input : e.kind();
      const std::string message = e.kind() == ErrorKind::not_found ? "no such file" : e.what();
      throw Error(kind, fmt::format("{}: {}", where, message));
    }
  }
  return apply_overrides(std::move(base), overrides, cwd);
}

void warn_to(CliContext& ctx, Bottles& bottles) {
  bottles.on_warning([&](const std::string& warning) { ctx.err << "bottle-cli: warning: " << warning << "\n"; });
}

// After the agent ran: what it changed that protection could not prevent.
void report_workspace_changes(CliContext& ctx, Bottles& bottles, const std::string& name) {
  try {
    for (const auto& change : bottles.workspace_changes(name))
      ctx.err << "bottle-cli: warning: " << format_change(change) << "\n";
  } catch (const Error& e) {
    ctx.err << "bottle-cli: warning: workspace: could not check the protected paths: " << e.what() << "\n";
  }
}

int cmd_create(const std::vector<std::string>& raw_args, CliContext& ctx) {
  bool no_start = false, no_check = false;
  std::string resume_from;
  const std::vector<std::string> args = take_resume_from(raw_args, resume_from);
  const BottleSpec spec = spec_from_flags(args, ctx, &no_start, nullptr, &no_check);
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  warn_to(ctx, bottles);
  create_resuming(bottles, spec, !no_start, StartOptions{.check = !no_check}, resume_from, ctx.out);
  ctx.out << fmt::format("created bottle {} ({}, {}){}\n", spec.name, to_string(spec.backend), to_string(spec.agent),
                         no_start   ? ""
                         : no_check ? ", running (unchecked)"
                                    : ", running");
  ctx.out << fmt::format("attach with: bottle-cli attach {}\n", spec.name);
  return exit_code::ok;
}

int cmd_ls(const std::vector<std::string>& args, CliContext& ctx) {
  bool as_json = false;
  for (const auto& arg : args) {
    if (arg == "--json") as_json = true;
    else usage(fmt::format("ls: unknown option '{}'", shown(arg)));
  }
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  const auto rows = bottles.list();
  ctx.out << (as_json ? rows_to_json(rows) : rows_to_table(rows, std::time(nullptr)));
  return exit_code::ok;
}

int cmd_start(const std::vector<std::string>& args, CliContext& ctx) {
  bool no_check = false;
  const std::string name = detail::single_bottle_name(args, "start", {{"--no-check", &no_check}});
  Bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends).start(name, StartOptions{.check = !no_check});
  ctx.out << fmt::format("started bottle {}{}\n", name,
                         no_check ? " (unchecked: its network canaries did not run)" : "");
  return exit_code::ok;
}

int cmd_stop(const std::vector<std::string>& args, CliContext& ctx) {
  const std::string name = detail::single_bottle_name(args, "stop");
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  warn_to(ctx, bottles);
  bottles.stop(name);
  ctx.out << fmt::format("stopped bottle {}\n", name);
  return exit_code::ok;
}

int cmd_rm(const std::vector<std::string>& args, CliContext& ctx) {
  bool force = false, force_long = false, purge = false;
  const std::string name =
      detail::single_bottle_name(args, "rm", {{"-f", &force}, {"--force", &force_long}, {"--purge", &purge}});
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  warn_to(ctx, bottles);
  bottles.remove(name, force || force_long);
  ctx.out << fmt::format("removed bottle {}\n", name);
  report_kept_sessions(ctx.dirs, name, purge, ctx.out);
  return exit_code::ok;
}

int cmd_exec(const std::vector<std::string>& args, CliContext& ctx) {
  std::string name;
  ExecOptions options;
  std::map<std::string, std::string> extra_env;
  std::size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "-t" || args[i] == "--tty") options.tty = true;
    else if (args[i] == "-e" || args[i] == "--env") {
      if (i + 1 >= args.size()) usage("exec: --env needs KEY=VALUE");
      const std::string& kv = args[++i];
      const auto eq = kv.find('=');
      if (eq == std::string::npos) usage("exec: --env: must be KEY=VALUE");
      as_argument("exec: --env", [&] { validate_env_name(kv.substr(0, eq), "--env"); });
      as_argument("exec: --env", [&] { validate_env_value(kv.substr(eq + 1), "--env"); });
      extra_env[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (args[i] == "-u" || args[i] == "--user") {
      if (i + 1 >= args.size()) usage("exec: --user needs a value");
      options.user = args[++i];
      // It becomes `docker exec -u USER` or `runuser -u USER`: a plain user name only.
      as_argument("exec: --user", [&] { validate_user(options.user, "--user"); });
    } else if (!args[i].empty() && args[i].front() == '-')
      usage(fmt::format("exec: unknown option '{}'", shown(args[i])));
    else if (name.empty()) name = args[i];
    else usage("exec: put the command after `--` (bottle-cli exec NAME -- CMD...)");
  }
  if (name.empty()) usage("exec: missing bottle NAME");
  if (i >= args.size() || i + 1 == args.size()) usage("exec: missing `-- CMD...`");
  validate_bottle_name(name, "NAME");
  const Argv command(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  const BottleSpec spec = bottles.spec(name);
  Backend& backend = bottles.backend(spec.backend);
  if (options.user.empty()) options.user = spec.user;
  options.workdir = spec.guest_workdir();
  options.env = backend.guest_env(spec);
  for (const auto& [key, value] : extra_env) options.env[key] = value;
  options.forward_stdin = true;
  const ProcessResult r = backend.exec(spec, command, options, std::nullopt, /*interactive=*/true);
  if (!r.started()) throw Error(ErrorKind::backend, fmt::format("exec: could not run the engine: {}", r.start_error));
  return r.shell_status();
}

int cmd_attach(const std::vector<std::string>& args, CliContext& ctx) {
  std::string name;
  bool resume = false, no_tty = false;
  std::size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "--resume" || args[i] == "--continue") resume = true;
    else if (args[i] == "--no-tty") no_tty = true;
    else if (!args[i].empty() && args[i].front() == '-')
      usage(fmt::format("attach: unknown option '{}'", shown(args[i])));
    else if (name.empty()) name = args[i];
    else usage("attach: put agent arguments after `--`");
  }
  if (name.empty()) usage("attach: missing bottle NAME");
  validate_bottle_name(name, "NAME");
  Argv agent_args;
  if (i < args.size()) agent_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  const BottleSpec spec = bottles.spec(name);
  Backend& backend = bottles.backend(spec.backend);
  // An egress in a cluster holds copies of the host's logins: the session starts
  // with fresh ones. The copy it has may still serve, so a failed push only warns.
  try {
    bottles.push_logins(name);
  } catch (const Error& e) {
    ctx.err << fmt::format("bottle-cli: warning: attach: the host's logins were not pushed to {}'s egress: {}\n", name,
                           e.what());
  }
  if (!resume) {
    const int status = backend.run_agent(spec, agent_args, !no_tty);
    report_workspace_changes(ctx, bottles, name);
    return status;
  }
  const Argv argv =
      resume_argv(backend.commands().agent_argv(spec, agent_args, !no_tty), agent_continue_command(spec, agent_args));
  const ProcessResult r = ctx.runner.run(Command{.argv = argv, .interactive = true});
  if (!r.started())
    throw Error(ErrorKind::backend, fmt::format("attach: could not start the agent: {}", r.start_error));
  report_workspace_changes(ctx, bottles, name);
  return r.shell_status();
}

int cmd_check(const std::vector<std::string>& args, CliContext& ctx) {
  bool workspace = false, as_json = false;
  const std::string name =
      detail::single_bottle_name(args, "check", {{"--workspace", &workspace}, {"--json", &as_json}});
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  if (!workspace) {
    const auto results = run_canaries(ctx.host, ctx.runner, bottles, name);
    ctx.out << (as_json ? canaries_to_json(name, results) : canaries_to_text(results));
    return canaries_pass(results) ? exit_code::ok : exit_code::isolation;
  }
  const auto changes = bottles.workspace_changes(name);
  const auto unprotected = bottles.unprotected_paths(name);
  if (as_json) {
    json::array items;
    for (const auto& c : changes) items.push_back(json::object{{"path", c.path}, {"change", c.change}});
    json::array loose(unprotected.begin(), unprotected.end());
    ctx.out << json::serialize(json::object{
                   {"workspace", json::object{{"changes", std::move(items)}, {"unprotected", std::move(loose)}}}})
            << "\n";
  } else {
    for (const auto& c : changes) ctx.out << format_change(c) << "\n";
    for (const auto& path : unprotected)
      ctx.out << fmt::format("workspace: {}: not protected in the running bottle (restart it)\n", shown(path));
    if (changes.empty() && unprotected.empty()) ctx.out << "workspace: no protected path changed\n";
  }
  return changes.empty() && unprotected.empty() ? exit_code::ok : exit_code::isolation;
}

std::atomic<bool> logs_stop{false};

int cmd_logs(const std::vector<std::string>& args, CliContext& ctx) {
  std::string name;
  const LogsOptions options = parse_logs_args(args, name);
  (void)SpecStore(ctx.dirs).load(name);  // a missing bottle is exit 4, not an empty log
  if (options.follow) {
    std::signal(SIGTERM, [](int) { logs_stop.store(true); });
    std::signal(SIGINT, [](int) { logs_stop.store(true); });
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  // A cluster egress's records reach the host's log by draining its pod: at once, then
  // at most every 2 s while following (each drain is one kubectl exec).
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  bottles.on_warning([&](const std::string& message) { ctx.err << "bottle-cli: warning: " << message << "\n"; });
  std::optional<std::chrono::steady_clock::time_point> drained;
  bool warned = false;
  const auto drain_cluster_records = [&] {
    const auto at = std::chrono::steady_clock::now();
    if (drained && at - *drained < std::chrono::seconds(2)) return;
    drained = at;
    try {
      bottles.drain_egress_audit(name);
    } catch (const Error& e) {
      if (!std::exchange(warned, true)) ctx.err << fmt::format("bottle-cli: warning: {}\n", e.what());
    }
  };
  show_egress_log(ctx.dirs, name, options, now.count(), ctx.out, ctx.err, ctx.host.clock(), logs_stop,
                  std::chrono::milliseconds(500), drain_cluster_records);
  return exit_code::ok;
}

int cmd_config(const std::vector<std::string>& args, CliContext& ctx) {
  if (args.empty() || args.front() != "show") usage("config: expected `config show [NAME] [flags]`");
  std::string name;
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  bool as_json = false, protected_paths = false;
  std::vector<std::string> spec_args;
  for (const auto& a : rest) {
    if (a == "--json") as_json = true;  // JSON is the only format; accepted for scripts
    else if (a == "--protected") protected_paths = true;
    else spec_args.push_back(a);
  }
  (void)as_json;
  const BottleSpec spec = spec_from_flags(spec_args, ctx, nullptr, &name);
  if (!protected_paths) {
    ctx.out << spec_to_json(spec);
    return exit_code::ok;
  }
  ctx.out << render_protection(spec);
  return exit_code::ok;
}

// What a bottle gets, without real secrets: routes carry dummies and host file paths,
// the env carries the proxy and CA locations.
int cmd_render(const std::vector<std::string>& args, CliContext& ctx) {
  if (args.size() != 2) usage("render: expected `render egress|pipelock|env NAME`");
  const std::string& what = args[0];
  if (what != "egress" && what != "pipelock" && what != "env")
    usage(fmt::format("render: unknown item '{}' (egress, pipelock or env)", shown(what)));
  validate_bottle_name(args[1], "NAME");
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  const BottleSpec spec = bottles.spec(args[1]);
  if (what == "egress") {
    ctx.out << render_egress_routes(bottles.egress_routes(spec), bottles.bottle_dummies(spec));
  } else if (what == "pipelock") {
    // The config the bottle's own pipelock runs with, when bottle runs one.
    const std::filesystem::path running = managed_pipelock_dir(ctx.dirs, spec) / "pipelock.yaml";
    ctx.out << (std::filesystem::exists(running)
                    ? read_file(running)
                    : render_pipelock_yaml(pipelock_settings_for(spec, agent_api_hosts(spec.agent))));
  } else {
    ctx.out << render_env(bottles.backend(spec.backend).guest_env(spec));
  }
  return exit_code::ok;
}

std::atomic<bool> guard_stop{false};

// Internal: the workspace sentinel of a running bottle, started by `start` under
// start-stop-daemon (see workspace_sentinel.hpp). Runs until TERM.
int cmd_guard(const std::vector<std::string>& args, CliContext& ctx) {
  const std::string name = detail::single_bottle_name(args, "guard");
  std::signal(SIGTERM, [](int) { guard_stop.store(true); });
  std::signal(SIGINT, [](int) { guard_stop.store(true); });
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  bottles.run_sentinel(name, guard_stop, [&] { notify_ready(ctx.host); });
  return exit_code::ok;
}

int cmd_sessions(const std::vector<std::string>& args, CliContext& ctx) {
  bool as_json = false, purge = false;
  const std::string name = detail::single_bottle_name(args, "sessions", {{"--json", &as_json}, {"--purge", &purge}});
  if (purge) {
    ctx.out << (purge_session_store(ctx.dirs, name) ? fmt::format("deleted the saved sessions of {}\n", name)
                                                    : fmt::format("{} has no saved sessions\n", name));
    return exit_code::ok;
  }
  const auto agent = session_store_agent(ctx.dirs, name);
  const auto sessions = agent ? list_sessions(read_session_store(ctx.dirs, name, *agent)) : std::vector<SessionInfo>{};
  ctx.out << (as_json ? sessions_to_json(name, sessions) : sessions_to_text(sessions));
  return exit_code::ok;
}

int cmd_version(const std::vector<std::string>&, CliContext& ctx) {
  ctx.out << "bottle-cli " << bottle_version() << "\n";
  return exit_code::ok;
}

int cmd_help(const std::vector<std::string>& args, CliContext& ctx);

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> table = {
      {"create", "create [SPEC FLAGS] [--no-start] [--no-check] [--resume-from OLD]",
       "Create a bottle and start it (alias: up). The bottle's network canaries run before it is handed over; one "
       "that fails them is removed again, exit 6. --no-check skips them (the bottle shows as unchecked).",
       cmd_create},
      {"up", "up [SPEC FLAGS] [--no-check] [--resume-from OLD]", "Same as create.", cmd_create},
      {"ls", "ls [--json]", "List bottles with their state.", cmd_ls},
      {"start", "start [--no-check] NAME",
       "Start a stopped bottle (re-provisions it). Its network canaries run before it is handed over; one that "
       "fails them is stopped again, exit 6. --no-check skips them (the bottle shows as unchecked).",
       cmd_start},
      {"stop", "stop NAME", "Stop a bottle.", cmd_stop},
      {"rm", "rm [-f|--force] [--purge] NAME",
       "Remove a bottle (a running one needs --force; so does a clone-mode one with unfetched work). Its saved agent "
       "sessions stay (a new bottle of the same name resumes them) unless --purge.",
       cmd_rm},
      {"fetch", "fetch NAME [--into BRANCH] [--include-uncommitted]",
       "Clone mode: bring the agent's branches to refs/bottles/NAME/* in the host repo (through a verified "
       "bundle); --into creates a new local branch.",
       cli_fetch},
      {"diff", "diff NAME", "Clone mode: the agent's changes against its base (fetches first when it runs).", cli_diff},
      {"exec", "exec [-t] [-u USER] [-e KEY=VALUE]... NAME -- CMD...",
       "Run a command in a bottle as the agent user; exits with its status.", cmd_exec},
      {"attach", "attach [--resume] [--no-tty] NAME [-- AGENT ARGS...]", "Run the agent in a bottle on this terminal.",
       cmd_attach},
      {"config", "config show [--protected] [NAME] [SPEC FLAGS]",
       "Print the effective spec as JSON; --protected: the workspace paths a bottle may not change.", cmd_config},
      {"check", "check [--workspace] [--json] NAME",
       "Run canaries in a running bottle that prove its fences hold (network, DNS, dummies, real tokens, "
       "workspace, egress); --workspace: only report protected workspace paths that changed since the bottle "
       "started, or that are no longer protected in it. Exit 6 when any check fails.",
       cmd_check},
      {"logs", "logs NAME [--egress] [--follow] [--since DURATION] [--json]",
       "Show the bottle's egress audit log: one line per request (--json: JSON lines).", cmd_logs},
      {"render", "render egress|pipelock|env NAME",
       "Print what a bottle gets: egress routes, pipelock config or environment (no real secrets).", cmd_render},
      {"sessions", "sessions [--json] [--purge] NAME",
       "List the agent sessions saved for a bottle name (kept across rm); --purge deletes them.", cmd_sessions},
      {"broker", "broker run [--interval SECONDS] [--once] [NAME...]",
       "Keep the logins of bottles whose egress runs in a cluster fresh: refresh each host login about to lapse "
       "and push the copies to egress, and bring egress's audit records to the host's log, every interval "
       "(default 120 s); --once: one pass.",
       cli_broker},
      {"version", "version", "Print the version.", cmd_version},
      {"guard", "guard NAME", "Internal: the workspace sentinel `start` runs for a bottle.", cmd_guard},
      {"help", "help [COMMAND]", "Show help.", cmd_help},
  };
  return table;
}

const CommandInfo* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

void print_command_help(const CommandInfo& c, std::ostream& out) {
  out << "usage: bottle-cli " << c.synopsis << "\n\n" << c.help << "\n";
  if (c.name == "create" || c.name == "up")
    out << "\n  --resume-from OLD     start with the agent sessions saved for bottle name OLD\n";
  if (c.name == "create" || c.name == "up" || c.name == "config") out << "\nspec flags:\n" << spec_flags_help();
}

int cmd_help(const std::vector<std::string>& args, CliContext& ctx) {
  if (!args.empty()) {
    const CommandInfo* c = find_command(args.front());
    if (c == nullptr) usage(fmt::format("help: unknown command '{}'", shown(args.front())));
    print_command_help(*c, ctx.out);
    return exit_code::ok;
  }
  ctx.out << "usage: bottle-cli COMMAND [ARGS...]\n\n"
             "Run AI coding agents in isolated bottles (Docker containers or smolmachines VMs).\n\n"
             "commands:\n";
  for (const auto& c : commands()) ctx.out << fmt::format("  {:<8} {}\n", c.name, c.help);
  ctx.out << "\nRun `bottle-cli COMMAND --help` for a command's options.\n"
             "exit codes: 0 ok, 1 failure, 2 usage, 3 invalid input, 4 no such bottle,\n"
             "            5 conflict, 6 isolation could not be set up, 125 could not start;\n"
             "            exec/attach exit with the command's own status.\n";
  return exit_code::ok;
}

}  // namespace

int run_cli(const std::vector<std::string>& args, CliContext& ctx) {
  try {
    if (args.empty()) {
      cmd_help({}, ctx);
      return exit_code::usage;
    }
    const std::string& first = args.front();
    if (first == "--version" || first == "-V") return cmd_version({}, ctx);
    if (is_help(first)) return cmd_help({}, ctx);
    const CommandInfo* command = find_command(first);
    if (command == nullptr) usage(fmt::format("unknown command '{}' (see bottle-cli --help)", shown(first)));
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    // --help anywhere before "--" asks for this command's help.
    for (const auto& a : rest) {
      if (a == "--") break;
      if (is_help(a)) {
        print_command_help(*command, ctx.out);
        return exit_code::ok;
      }
    }
    return command->run(rest, ctx);
  } catch (const Error& e) {
    ctx.err << "bottle-cli: error: " << e.what() << "\n";
    if (e.kind() == ErrorKind::usage) ctx.err << "(see bottle-cli --help)\n";
    return exit_code_for(e.kind());
  }
}

}  // namespace bottle
