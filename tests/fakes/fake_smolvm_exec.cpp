// `machine exec` and `machine shell` (§4.1, §10.2): strict parsing, the machine checks the
// real client makes, then one of the runners. exec never starts a machine.
#include "fake_smolvm_exec.hpp"

#include "fake_smolvm_args.hpp"
#include "fake_smolvm_guest.hpp"
#include "fake_smolvm_guest_ns.hpp"
#include "fake_smolvm_log.hpp"
#include "fake_smolvm_process.hpp"

#include <unistd.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>

namespace fake_smolvm {

namespace {

CommandSpec exec_spec(const Version& version) {
  CommandSpec spec;
  spec.usage = "smolvm machine exec [OPTIONS] <COMMAND>...";
  // No `-n`: exec takes only the long --name in every version.
  spec.options = {
      {'\0', "name", "NAME", false}, {'i', "interactive", "", false},    {'t', "tty", "", false},
      {'e', "env", "ENV", true},     {'w', "workdir", "WORKDIR", false}, {'\0', "timeout", "TIMEOUT", false},
      {'\0', "stream", "", false},
  };
  if (version.at_least(1, 0, 0)) {
    spec.options.push_back({'\0', "secret-env", "SECRET_ENV", true});
    spec.options.push_back({'\0', "secret-file", "SECRET_FILE", true});
  }
  if (version.at_least(1, 3, 0)) { spec.options.push_back({'d', "detach", "", false}); }
  spec.positionals = {};
  spec.first_positional_starts_trailing = true;
  spec.dashdash_starts_trailing = true;
  spec.trailing_name = "COMMAND";
  spec.trailing_required = true;
  return spec;
}

// clap's `conflicts_with` for --detach.
std::optional<std::string> detach_conflict(const ParsedArgs& parsed) {
  if (!parsed.has("detach")) { return std::nullopt; }
  for (const char* other : {"interactive", "tty", "stream"}) {
    if (parsed.has(other)) { return std::string("the argument '--detach' cannot be used with '--") + other + "'"; }
  }
  return std::nullopt;
}

int report_spawn_failure(const ExecPlan& plan, int error_number) {
  if (plan.record.image) {
    // Image machines: crun reports the missing binary and exits non-zero.
    std::cerr << "crun: executable file `" << plan.command.front()
              << "` not found in $PATH: " << std::strerror(error_number) << "\n";
    return 127;
  }
  return runtime_error("agent operation failed: failed to spawn command: " + std::string(std::strerror(error_number)) +
                       " (os error " + std::to_string(error_number) + ")");
}

int run_exec(const Context& context, const ParsedArgs& parsed) {
  const std::string name = parsed.value("name").value_or("default");
  const StateStore store(context.state_dir);
  int exit_status = 0;
  auto record = load_machine(context, store, "exec", name, exit_status);
  if (!record) { return exit_status; }
  if (!machine_running(*record) && context.notrunning_is_error) { return runtime_error(not_running_message(name)); }
  // Held until the runner returns, so the namespace outlives the children joining it.
  GuestNamespace guest_ns;
  if (machine_running(*record)) {
    auto opened = open_guest_namespace(static_cast<pid_t>(*record->pid), !record->net);
    if (!opened.problem.empty()) {
      return runtime_error("agent operation failed: connect: machine '" + name + "': " + opened.problem);
    }
    guest_ns = std::move(opened.ns);
  }
  ExecPlan plan;
  plan.record = std::move(*record);
  plan.guest_fs = store.guest_fs(name);
  plan.guest_ns_fd = guest_ns.fd();
  plan.guest_net_fd = guest_ns.net_fd();
  plan.command = parsed.trailing;
  std::vector<std::string> cli_env;
  for (const auto& entry : parsed.values("env")) {
    if (auto resolved = resolve_env_spec(context, entry)) { cli_env.push_back(std::move(*resolved)); }
  }
  plan.env = guest_environment(plan.record, cli_env);
  plan.workdir = guest_workdir(plan.record, parsed.value("workdir"));
  plan.interactive = parsed.has("interactive");
  plan.tty = parsed.has("tty");
  plan.stream = parsed.has("stream");
  if (const auto timeout = parsed.value("timeout")) { plan.timeout_ms = parse_duration(*timeout).milliseconds; }
  if (const auto handled = guard_pts_side_channel(context, store, plan)) { return *handled; }
  const auto program = resolve_command(plan.command.front(), plan.env);
  if (!program) { return report_spawn_failure(plan, ENOENT); }
  plan.program = *program;
  if (parsed.has("detach")) { return run_detached(store, plan); }
  if (plan.tty) { return run_in_pty(context, store, plan); }
  return run_piped(store, plan);
}

}  // namespace

DurationParse parse_duration(const std::string& text) {
  static const std::map<std::string, long double> unit_ms = {
      {"nsec", 1e-6L},     {"ns", 1e-6L},      {"usec", 1e-3L},   {"us", 1e-3L},   {"msec", 1},
      {"ms", 1},           {"seconds", 1000},  {"second", 1000},  {"sec", 1000},   {"secs", 1000},
      {"s", 1000},         {"minutes", 60000}, {"minute", 60000}, {"min", 60000},  {"mins", 60000},
      {"m", 60000},        {"hours", 3600000}, {"hour", 3600000}, {"hr", 3600000}, {"hrs", 3600000},
      {"h", 3600000},      {"days", 86400000}, {"day", 86400000}, {"d", 86400000}, {"weeks", 604800000},
      {"week", 604800000}, {"w", 604800000},
  };
  long double total = 0;
  std::size_t index = 0;
  bool any = false;
  while (index < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[index])) != 0) {
      ++index;
      continue;
    }
    std::size_t digits_end = index;
    while (digits_end < text.size() && std::isdigit(static_cast<unsigned char>(text[digits_end])) != 0) {
      ++digits_end;
    }
    if (digits_end == index) { return {std::nullopt, "expected number at " + std::to_string(index)}; }
    std::size_t unit_end = digits_end;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end])) != 0) { ++unit_end; }
    if (unit_end == digits_end) {
      return {std::nullopt, "time unit needed, for example " + text.substr(index, digits_end - index) + "sec or " +
                                text.substr(index, digits_end - index) + "s"};
    }
    const auto unit = unit_ms.find(text.substr(digits_end, unit_end - digits_end));
    if (unit == unit_ms.end()) {
      return {std::nullopt, "unknown time unit \"" + text.substr(digits_end, unit_end - digits_end) + "\""};
    }
    total += std::stold(text.substr(index, digits_end - index)) * unit->second;
    any = true;
    index = unit_end;
  }
  if (!any) { return {std::nullopt, "value was empty"}; }
  if (total <= 0) { return {std::nullopt, "timeout must be greater than zero"}; }
  return {static_cast<long long>(total < 1 ? 1 : total), ""};
}

RegistrationFile::RegistrationFile(std::filesystem::path path, const std::string& content) : path_(std::move(path)) {
  rewrite(content);
}

RegistrationFile::~RegistrationFile() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void RegistrationFile::rewrite(const std::string& content) const { write_file_atomically(path_, content); }

void exec_guest_command(const ExecPlan& plan) {
  if (const auto problem =
          enter_guest(plan.guest_ns_fd, plan.guest_net_fd, plan.guest_fs, plan.record.volumes, !plan.record.net)) {
    std::cerr << "fake-smolvm: " << *problem << "\n";
    _exit(126);
  }
  if (!plan.workdir.empty()) {
    const std::string workdir = guest_dir_on_host(plan.guest_fs, plan.workdir).string();
    if (chdir(workdir.c_str()) != 0) {
      std::cerr << "fake-smolvm: cannot enter workdir " << workdir << ": " << std::strerror(errno) << "\n";
      _exit(126);
    }
  }
  std::vector<std::string> words = plan.command;
  std::vector<std::string> env = plan.env;
  auto arguments = c_argv(words);
  auto environment = c_argv(env);
  execve(plan.program.c_str(), arguments.data(), environment.data());
  const int error_number = errno;
  std::cerr << "fake-smolvm: exec " << plan.program << ": " << std::strerror(error_number) << "\n";
  _exit(error_number == ENOENT ? 127 : 126);
}

int command_exec(const Context& context, const std::vector<std::string>& args) {
  const CommandSpec spec = exec_spec(context.version);
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  if (const auto conflict = detach_conflict(*parsed)) { return report_usage_error(spec, *conflict); }
  if (const auto timeout = parsed->value("timeout")) {
    const DurationParse duration = parse_duration(*timeout);
    if (!duration.milliseconds) {
      return report_usage_error(spec,
                                "invalid value '" + *timeout + "' for '--timeout <TIMEOUT>': " + duration.problem);
    }
  }
  return run_exec(context, *parsed);
}

int command_shell(const Context& context, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.usage = "smolvm machine shell [OPTIONS]";
  spec.options = {{'n', "name", "NAME", false}};
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  ParsedArgs as_exec;
  as_exec.options["name"] = {parsed->value("name").value_or("default")};
  as_exec.options["interactive"] = {""};
  as_exec.options["tty"] = {""};
  as_exec.trailing = {"/bin/sh"};
  return run_exec(context, as_exec);
}

}  // namespace fake_smolvm
