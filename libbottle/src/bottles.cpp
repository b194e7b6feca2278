#include "bottle/bottles.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>

#include "bottle/agent.hpp"
#include "bottle/docker_backend.hpp"
#include "bottle/error.hpp"
#include "bottle/locate.hpp"
#include "bottle/smolmachines_backend.hpp"

namespace bottle {

namespace {

std::string env_or(const char* variable, std::string fallback) {
  const char* value = std::getenv(variable);
  return (value != nullptr && *value != '\0') ? std::string(value) : fallback;
}

}  // namespace

std::unique_ptr<Backend> make_default_backend(BackendKind kind, Runner& runner) {
  if (kind == BackendKind::docker)
    return std::make_unique<DockerBackend>(runner, DockerOptions{.docker = env_or("BOTTLE_DOCKER", "docker")});

  SmolmachinesOptions options;
  options.smolvm = env_or("BOTTLE_SMOLVM", "smolvm");
  const ProcessResult version = runner.run(Command{.argv = {options.smolvm, "--version"}});
  if (!version.started())
    throw Error(ErrorKind::backend, fmt::format("smolmachines: could not run {}: {}", options.smolvm, version.start_error));
  if (!version.ok())
    throw Error(ErrorKind::backend, fmt::format("smolmachines: {} --version failed (status {})", options.smolvm, version.shell_status()));
  options.grammar = smolvm_grammar_for_version(version.out);
  try {
    options.pty_resize = locate_pty_resize().string();
  } catch (const Error& e) {
    // Only TTY sessions need the wrapper; agent_argv reports its absence then.
    if (e.kind() != ErrorKind::not_found) throw;
  }
  return std::make_unique<SmolmachinesBackend>(runner, options);
}

Bottles::Bottles(Runner& runner, StateDirs dirs, BackendFactory factory)
    : runner_(runner), store_(std::move(dirs)), factory_(std::move(factory)) {
  provision_steps_.push_back(install_prompt_file);
}

Backend& Bottles::backend(BackendKind kind) {
  auto it = backends_.find(kind);
  if (it == backends_.end()) it = backends_.emplace(kind, factory_(kind, runner_)).first;
  return *it->second;
}

void Bottles::provision(Backend& b, const BottleSpec& spec) {
  for (const auto& step : provision_steps_) step(b, spec, store_.dirs());
}

void Bottles::create(const BottleSpec& spec, bool start_it) {
  validate_spec(spec);
  if (store_.exists(spec.name))
    throw Error(ErrorKind::conflict, fmt::format("a bottle named \"{}\" already exists", spec.name));
  Backend& b = backend(spec.backend);
  const auto existing = b.list();
  if (std::any_of(existing.begin(), existing.end(), [&](const BottleInfo& i) { return i.name == spec.name; }))
    throw Error(ErrorKind::conflict,
                fmt::format("the {} engine already has a bottle named \"{}\" (remove it with `bottle-cli rm {}`)",
                            to_string(spec.backend), spec.name, spec.name));
  try {
    b.create(spec);
    if (start_it) {
      b.start(spec);
      provision(b, spec);
    }
    store_.save(spec);
  } catch (...) {
    // Undo whatever part exists; the original error is what the user needs to see.
    for (const auto& argv : b.remove_argvs(spec)) runner_.run(Command{.argv = argv});
    throw;
  }
}

void Bottles::start(const std::string& name) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  b.start(spec);
  try {
    provision(b, spec);
  } catch (...) {
    // A bottle that could not be provisioned (e.g. its isolation) must not run.
    runner_.run(Command{.argv = b.stop_argv(spec)});
    throw;
  }
}

void Bottles::stop(const std::string& name) {
  const BottleSpec spec = store_.load(name);
  backend(spec.backend).stop(spec);
}

std::string Bottles::engine_state(const BottleSpec& spec) {
  for (const auto& info : backend(spec.backend).list())
    if (info.name == spec.name) return info.state;
  return "missing";
}

void Bottles::remove(const std::string& name, bool force) {
  const BottleSpec spec = store_.load(name);
  Backend& b = backend(spec.backend);
  const std::string state = engine_state(spec);
  if (state == "running" && !force)
    throw Error(ErrorKind::conflict, fmt::format("bottle \"{}\" is running; stop it first or use --force", name));
  if (state != "missing") b.remove(spec);
  store_.remove(name);
}

std::vector<BottleRow> Bottles::list() {
  const std::vector<BottleSpec> specs = store_.load_all();
  std::vector<BottleRow> rows;
  std::map<BackendKind, std::vector<BottleInfo>> engine;
  for (const auto& spec : specs)
    if (!engine.count(spec.backend)) engine[spec.backend] = backend(spec.backend).list();

  for (const auto& spec : specs) {
    BottleRow row{.name = spec.name, .backend = spec.backend, .agent = spec.agent, .state = "missing",
                  .workspace = spec.workspaces.empty() ? "" : spec.workspaces.front().host,
                  .egress = spec.egress.enabled ? "on" : "off"};
    for (const auto& info : engine[spec.backend]) {
      if (info.name != spec.name) continue;
      row.state = info.state;
      row.created_unix = info.created_unix;
    }
    rows.push_back(std::move(row));
  }
  for (const auto& [kind, infos] : engine) {
    for (const auto& info : infos) {
      const bool known = std::any_of(specs.begin(), specs.end(), [&](const BottleSpec& s) {
        return s.name == info.name && s.backend == kind;
      });
      if (!known)
        rows.push_back(BottleRow{.name = info.name, .backend = kind, .state = info.state,
                                 .created_unix = info.created_unix, .managed = false});
    }
  }
  return rows;
}

void install_prompt_file(Backend& b, const BottleSpec& spec, const StateDirs&) {
  if (spec.prompt_file.empty()) return;
  std::string content;
  try {
    content = read_file(spec.prompt_file);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("prompt_file: {}", e.what()));
  }
  b.install_file(spec, std::string(guest_prompt_path), content, "root:root", 0644);
}

}  // namespace bottle
