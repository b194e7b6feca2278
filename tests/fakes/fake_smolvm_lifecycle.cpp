// `machine start|stop|delete` (§4.3, §10.2). A running machine is a stand-in VMM process
// (`sleep infinity` in its own session, holding the guest mount namespace) whose PID and
// start time the record keeps. A dead stand-in is a dead VM: not running, mounts gone.
#include "fake_smolvm.hpp"
#include "fake_smolvm_args.hpp"
#include "fake_smolvm_guest.hpp"
#include "fake_smolvm_guest_ns.hpp"
#include "fake_smolvm_log.hpp"
#include "fake_smolvm_process.hpp"
#include "fake_smolvm_state.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <iostream>

namespace fake_smolvm {

namespace {

CommandSpec named_spec(const std::string& usage) {
  CommandSpec spec;
  spec.usage = usage;
  spec.options = {{'n', "name", "NAME", false}};
  return spec;
}

struct VmmStart {
  std::optional<pid_t> pid;
  std::string problem;  // the error line when pid is empty
};

std::string read_to_eof(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t count = read(fd, buffer, sizeof buffer);
    if (count > 0) {
      text.append(buffer, static_cast<std::size_t>(count));
    } else if (count == 0 || errno != EINTR) {
      return text;
    }
  }
}

// The stand-in VMM holds the guest mount namespace (fake_smolvm_guest_ns.hpp): it builds
// it, reports on a pipe, then execs `sleep`, which keeps it; so the namespace lives
// exactly as long as the "VM". The pipe closing with nothing said means ready, and only
// then is the machine running, so no exec can join a half-mounted guest.
// The stand-in must not hold the caller's pipes open, or a caller reading our stdout to
// EOF would wait for the whole life of the "VM".
VmmStart spawn_stand_in_vmm(const StateStore& store, const MachineRecord& record) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) { return {std::nullopt, "agent operation failed: start machine: pipe failed"}; }
  const pid_t child = fork();
  if (child < 0) {
    close(report[0]);
    close(report[1]);
    return {std::nullopt, "agent operation failed: start machine: fork failed"};
  }
  if (child == 0) {
    detach_from_client();
    if (const auto problem = build_guest_mounts(store.guest_fs(record.name), record.volumes)) {
      write_all(report[1], *problem);
      _exit(1);
    }
    if (!record.net) {
      if (const auto problem = build_guest_network()) {
        write_all(report[1], *problem);
        _exit(1);
      }
    }
    close_inherited_fds();
    reset_signals_for_child();
    execlp("sleep", "sleep", "infinity", static_cast<char*>(nullptr));
    for (;;) {
      pause();  // no `sleep` on PATH: a paused child is as good a stand-in
    }
  }
  close(report[1]);
  const std::string problem = read_to_eof(report[0]);
  close(report[0]);
  if (!problem.empty()) {
    waitpid(child, nullptr, 0);
    return {std::nullopt, problem};
  }
  return {child, ""};
}

struct InitOutcome {
  int status = 0;
  std::string output;
};

// Init runs as guest root inside the guest namespace, like an exec.
InitOutcome run_init_on_host(const StateStore& store, const MachineRecord& record, const GuestNamespace& guest_ns,
                             const std::string& command) {
  int output_pipe[2];
  if (pipe2(output_pipe, O_CLOEXEC) != 0) { return {1, "pipe failed"}; }
  std::vector<std::string> env = guest_environment(record, {});
  const std::string workdir = guest_workdir(record, std::nullopt);
  const pid_t child = fork();
  if (child == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(output_pipe[1], STDOUT_FILENO);
    dup2(output_pipe[1], STDERR_FILENO);
    reset_signals_for_child();
    if (const auto problem =
            enter_guest(guest_ns.fd(), guest_ns.net_fd(), store.guest_fs(record.name), record.volumes, !record.net)) {
      write_all(STDOUT_FILENO, *problem);
      _exit(1);
    }
    if (!workdir.empty() && chdir(guest_dir_on_host(store.guest_fs(record.name), workdir).c_str()) != 0) { _exit(1); }
    std::vector<std::string> words = {"sh", "-c", command};
    auto arguments = c_argv(words);
    auto environment = c_argv(env);
    execve("/bin/sh", arguments.data(), environment.data());
    _exit(127);
  }
  close(output_pipe[1]);
  InitOutcome outcome;
  char buffer[4096];
  ssize_t count = 0;
  while ((count = read(output_pipe[0], buffer, sizeof buffer)) > 0) {
    outcome.output.append(buffer, static_cast<std::size_t>(count));
  }
  close(output_pipe[0]);
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  outcome.status = exit_status_of(wait_status);
  return outcome;
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) { text.pop_back(); }
  return text;
}

// Halting a VM ends everything inside it: sessions get a hangup, plain execs a kill.
void halt_machine(const StateStore& store, MachineRecord& record) {
  for (const pid_t child : store.live_session_children(record.name)) { terminate_group(child, SIGHUP, 500); }
  for (const pid_t child : store.live_exec_children(record.name)) { terminate_group(child, SIGKILL, 0); }
  if (record.pid && process_alive(static_cast<pid_t>(*record.pid), record.pid_start_time)) {
    terminate_group(static_cast<pid_t>(*record.pid), SIGTERM, 2000);
  }
  record.state = "stopped";
  record.pid.reset();
  record.pid_start_time.reset();
  store.save(record);
  log_event("machine-stopped", {field("machine", record.name)});
}

std::string machine_name(const ParsedArgs& parsed) {
  if (!parsed.positionals.empty()) { return parsed.positionals.front(); }
  return parsed.value("name").value_or("default");
}

int run_init_commands(const Context& context, const StateStore& store, MachineRecord& record) {
  if (record.init.empty()) { return 0; }
  if (record.init_done) {
    std::cout << "Init already completed, skipping " << record.init.size() << " command(s)\n";
    return 0;
  }
  std::cout << "Running " << record.init.size() << " init command(s)...\n";
  auto opened =
      context.run_init ? open_guest_namespace(static_cast<pid_t>(*record.pid), !record.net) : GuestNamespaceOpen{};
  if (!opened.problem.empty()) {
    halt_machine(store, record);
    return runtime_error("agent operation failed: init: " + opened.problem);
  }
  for (std::size_t index = 0; index < record.init.size(); ++index) {
    if (!context.run_init) {
      log_event("init-skipped", {field("machine", record.name), field("command", record.init[index])});
      continue;
    }
    const InitOutcome outcome = run_init_on_host(store, record, opened.ns, record.init[index]);
    log_event("init-ran",
              {field("machine", record.name), field("command", record.init[index]), field("status", outcome.status)});
    if (outcome.status != 0) {
      halt_machine(store, record);
      const std::string output = trimmed(outcome.output);
      return runtime_error("agent operation failed: init: init[" + std::to_string(index) + "] failed (exit " +
                           std::to_string(outcome.status) + ")" + (output.empty() ? "" : ": " + output));
    }
  }
  record.init_done = true;
  return 0;
}

}  // namespace

struct Target {
  ParsedArgs parsed;
  std::string name;
  MachineRecord record;
};

// The start of `start` and `delete`: parse the arguments and load the named machine,
// or report why not (usage, injected failure, not found) and set `exit_status`.
std::optional<Target> parse_and_load(const Context& context, const StateStore& store, const CommandSpec& spec,
                                     const std::vector<std::string>& args, const std::string& subcommand,
                                     int& exit_status) {
  auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return std::nullopt; }
  std::string name = machine_name(*parsed);
  auto record = load_machine(context, store, subcommand, name, exit_status);
  if (!record) { return std::nullopt; }
  return Target{std::move(*parsed), std::move(name), std::move(*record)};
}

int command_start(const Context& context, const std::vector<std::string>& args) {
  CommandSpec spec = named_spec("smolvm machine start [OPTIONS]");
  if (context.version.at_least(0, 8, 1)) {
    spec.options.push_back({'\0', "proxy", "PROXY", false});
    spec.options.push_back({'\0', "no-proxy", "NO_PROXY", false});
  }
  const StateStore store(context.state_dir);
  int exit_status = 0;
  auto target = parse_and_load(context, store, spec, args, "start", exit_status);
  if (!target) { return exit_status; }
  auto& [parsed, name, record] = *target;
  if (machine_running(record)) {
    std::cout << "Machine '" << name << "' already running (PID: " << *record.pid << ")\n";
    return 0;
  }
  std::string detail;
  if (!record.volumes.empty()) { detail += " with " + std::to_string(record.volumes.size()) + " mount(s)"; }
  if (!record.ports.empty()) { detail += " and " + std::to_string(record.ports.size()) + " port mapping(s)"; }
  std::cerr << "Starting machine '" << name << "'" << detail << "...\n";
  if (record.image) { std::cerr << "Pulling " << *record.image << "...\n"; }
  const VmmStart started = spawn_stand_in_vmm(store, record);
  if (!started.pid) { return runtime_error(started.problem); }
  const pid_t vmm = *started.pid;
  record.state = "running";
  record.pid = vmm;
  record.pid_start_time = process_start_time(vmm);
  store.save(record);
  if (const int init_status = run_init_commands(context, store, record); init_status != 0) { return init_status; }
  store.save(record);
  log_event("machine-started", {field("machine", name), field("vmm_pid", vmm)});
  std::cout << "Machine '" << name << "' running (PID: " << vmm << ")\n";
  return 0;
}

int command_stop(const Context& context, const std::vector<std::string>& args) {
  const CommandSpec spec = named_spec("smolvm machine stop [OPTIONS]");
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  const std::string name = machine_name(*parsed);
  if (const auto failure = injected_failure(context, "stop", name)) { return *failure; }
  const StateStore store(context.state_dir);
  auto record = store.load(name);
  if (!record) {
    if (!context.version.at_least(0, 8, 1)) {
      std::cout << "Machine '" << name << "' not found or not running\n";
      return 0;
    }
    return runtime_error(not_found_message(name));
  }
  if (!machine_running(*record)) {
    const std::string state = effective_state(*record);
    if (state != record->state) {
      halt_machine(store, *record);  // the stand-in died: record the truth
    }
    std::cout << "Machine '" << name << "' is not running (state: " << state << ")\n";
    return 0;
  }
  std::cout << "Stopping machine '" << name << "'...\n" << std::flush;
  halt_machine(store, *record);
  std::cout << "Stopped machine: " << name << "\n";
  return 0;
}

int command_delete(const Context& context, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.options = {{'f', "force", "", false}};
  if (context.version.at_least(1, 0, 2)) {
    spec.options.push_back({'n', "name", "NAME", false});
    spec.usage = "smolvm machine delete [OPTIONS]";
  } else {
    spec.positionals = {"NAME"};
    spec.required_positionals = 1;
    spec.usage = "smolvm machine delete [OPTIONS] <NAME>";
  }
  const StateStore store(context.state_dir);
  int exit_status = 0;
  auto target = parse_and_load(context, store, spec, args, "delete", exit_status);
  if (!target) { return exit_status; }
  auto& [parsed, name, record] = *target;
  // As in the real CLI, a running machine is stopped before the confirmation prompt.
  if (machine_running(record)) {
    std::cout << "Stopping machine '" << name << "'...\n" << std::flush;
    halt_machine(store, record);
  }
  if (!parsed.has("force")) {
    std::cerr << "Delete machine '" << name << "'? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    answer = trimmed(answer);
    std::transform(answer.begin(), answer.end(), answer.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (answer != "y" && answer != "yes") {
      std::cout << "Cancelled\n";
      return 0;
    }
  }
  if (record.state != "created") { std::cout << "Cleaning up data directory for vm: " << name << "\n"; }
  store.remove(name);
  log_event("machine-deleted", {field("machine", name)});
  std::cout << "Deleted machine: " << name << "\n";
  return 0;
}

}  // namespace fake_smolvm
