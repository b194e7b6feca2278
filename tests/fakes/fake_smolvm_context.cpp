// Control environment (§10.1) and the error forms shared by every subcommand.
#include "fake_smolvm.hpp"
#include "fake_smolvm_log.hpp"

#include <unistd.h>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace fake_smolvm {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::filesystem::path default_state_dir() {
  const std::string temporary = env_or("TMPDIR", "/tmp");
  return std::filesystem::path(temporary) / ("fake-smolvm-" + std::to_string(getuid()));
}

}  // namespace

Version parse_version(const std::string& text) {
  Version version;
  version.text = text;
  int parts[3] = {0, 0, 0};
  std::size_t index = 0;
  for (int& part : parts) {
    std::size_t digits = 0;
    while (index + digits < text.size() && std::isdigit(static_cast<unsigned char>(text[index + digits])) != 0) {
      ++digits;
    }
    if (digits == 0) { break; }
    part = std::stoi(text.substr(index, digits));
    index += digits;
    if (index >= text.size() || text[index] != '.') { break; }
    ++index;
  }
  version.major = parts[0];
  version.minor = parts[1];
  version.patch = parts[2];
  return version;
}

Context load_context(int argc, char** argv) {
  Context context;
  context.version = parse_version(env_or("FAKE_SMOLVM_VERSION", "0.8.0"));
  context.state_dir = env_or("FAKE_SMOLVM_STATE", default_state_dir().string());
  context.argv.assign(argv, argv + argc);
  context.strict_pts = env_or("FAKE_SMOLVM_STRICT_PTS", "1") != "0";
  context.notrunning_is_error = env_or("FAKE_SMOLVM_NOTRUNNING_IS_ERROR", "1") != "0";
  context.run_init = env_or("FAKE_SMOLVM_RUN_INIT", "0") == "1";
  if (const char* profile = std::getenv("FAKE_SMOLVM_TTY_PROFILE"); profile != nullptr && *profile != '\0') {
    context.tty_profile = profile;
  }
  context.fail_spec = env_or("FAKE_SMOLVM_FAIL", "");
  return context;
}

int runtime_error(const std::string& message) {
  std::cout.flush();
  std::cerr << "Error: " << message << "\n";
  std::cerr.flush();
  return 1;
}

std::string not_found_message(const std::string& name) { return "vm not found: " + name; }

std::string not_running_message(const std::string& name) {
  return "agent operation failed: connect: machine '" + name + "' is not running. Use 'smolvm machine start --name " +
         name + "' first.";
}

std::optional<MachineRecord> load_machine(const Context& context, const StateStore& store,
                                          const std::string& subcommand, const std::string& name, int& exit_status) {
  if (const auto failure = injected_failure(context, subcommand, name)) {
    exit_status = *failure;
    return std::nullopt;
  }
  auto record = store.load(name);
  if (!record) { exit_status = runtime_error(not_found_message(name)); }
  return record;
}

std::optional<int> injected_failure(const Context& context, const std::string& subcommand, const std::string& machine) {
  std::istringstream entries(context.fail_spec);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    const auto colon = entry.find(':');
    if (colon == std::string::npos || entry.substr(0, colon) != subcommand) { continue; }
    const std::string what = entry.substr(colon + 1);
    log_event("fault-injected", {field("subcommand", subcommand), field("fault", what)});
    if (what == "exists") {
      const std::string suffix = context.version.at_least(1, 0, 0) ? " or is being created" : "";
      return runtime_error("config operation failed: create machine: machine '" + machine + "' already exists" +
                           suffix);
    }
    if (what == "notfound") { return runtime_error(not_found_message(machine)); }
    if (what == "notrunning") { return runtime_error(not_running_message(machine)); }
    int status = 1;
    try {
      status = std::stoi(what);
    } catch (const std::exception&) { status = 1; }
    runtime_error("agent operation failed: " + subcommand + " machine: injected failure (FAKE_SMOLVM_FAIL=" + entry +
                  ")");
    return status;
  }
  return std::nullopt;
}

std::optional<std::string> resolve_env_spec(const Context& context, const std::string& spec) {
  const auto equals = spec.find('=');
  if (equals == 0) {
    return std::nullopt;  // empty key: dropped silently
  }
  if (equals != std::string::npos) { return spec; }
  if (spec.empty() || !context.version.at_least(0, 8, 1)) {
    return std::nullopt;  // key-only entries were dropped before 0.8.1
  }
  const char* host_value = std::getenv(spec.c_str());
  if (host_value == nullptr) { return std::nullopt; }
  return spec + "=" + host_value;
}

}  // namespace fake_smolvm
