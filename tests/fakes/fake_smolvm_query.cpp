// `machine status` and `machine ls` (§4.3): text, table and the v0.8.0 JSON object.
#include "fake_smolvm.hpp"
#include "fake_smolvm_args.hpp"
#include "fake_smolvm_state.hpp"
#include "json_text.hpp"

#include <cstdio>
#include <iostream>
#include <map>

namespace fake_smolvm {

namespace {

std::string indent(int depth) { return std::string(static_cast<std::size_t>(depth) * 2, ' '); }

std::string optional_number(const std::optional<long long>& number) {
  return number ? std::to_string(*number) : "null";
}

std::string optional_text(const std::optional<std::string>& text) { return text ? fake_json::quote(*text) : "null"; }

std::string pretty_string_array(const std::vector<std::string>& items, int depth) {
  if (items.empty()) { return "[]"; }
  std::string out = "[\n";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += indent(depth + 1) + fake_json::quote(items[i]) + (i + 1 < items.size() ? ",\n" : "\n");
  }
  return out + indent(depth) + "]";
}

// serde_json::json! without `preserve_order` stores objects in a BTreeMap, so the real
// CLI prints keys in alphabetical order; std::map reproduces that.
std::string status_object(const MachineRecord& record, int depth) {
  const std::string state = effective_state(record);
  const bool running = state == "running";
  std::map<std::string, std::string> fields = {
      {"name", fake_json::quote(record.name)},
      {"state", fake_json::quote(state)},
      {"cpus", std::to_string(record.cpus)},
      {"memory_mib", std::to_string(record.memory_mib)},
      {"pid", running ? optional_number(record.pid) : "null"},
      {"mounts", std::to_string(record.volumes.size())},
      {"ports", std::to_string(record.ports.size())},
      {"created_at", std::to_string(record.created_at)},
      {"storage_gb", optional_number(record.storage_gb)},
      {"overlay_gb", optional_number(record.overlay_gb)},
      {"image", optional_text(record.image)},
      {"entrypoint", "[]"},
      {"cmd", pretty_string_array(record.cmd, depth + 1)},
      {"ephemeral", "false"},
      {"gpu", record.gpu ? "true" : "false"},
      {"gpu_vram_mib", optional_number(record.gpu_vram_mib)},
      {"restart_policy", "\"never\""},
      {"restart_max_retries", "0"},
      {"restart_count", "0"},
      {"health_cmd", "null"},
      {"health_interval_secs", "null"},
      {"health_timeout_secs", "null"},
      {"health_retries", "null"},
      {"health_startup_grace_secs", "null"},
      {"network", record.net ? "true" : "false"},
  };
  std::string out = "{\n";
  std::size_t written = 0;
  for (const auto& [key, value] : fields) {
    out += indent(depth + 1) + fake_json::quote(key) + ": " + value + (++written < fields.size() ? ",\n" : "\n");
  }
  return out + indent(depth) + "}";
}

std::string table_row(const std::string& name, const std::string& state, const std::string& cpus,
                      const std::string& memory, const std::string& mounts, const std::string& ports,
                      const std::string& storage, const std::string& overlay) {
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-12s %5s %10s %7s %7s %8s %8s", name.c_str(), state.c_str(), cpus.c_str(),
                memory.c_str(), mounts.c_str(), ports.c_str(), storage.c_str(), overlay.c_str());
  return line;
}

std::string truncated_name(const std::string& name) { return name.size() <= 18 ? name : name.substr(0, 15) + "..."; }

void print_verbose_details(const MachineRecord& record) {
  if (machine_running(record)) { std::cout << "  PID: " << *record.pid << "\n"; }
  for (const auto& volume : record.volumes) {
    const auto first = volume.find(':');
    std::string guest = volume.substr(first + 1);
    const bool read_only = guest.ends_with(":ro");
    guest = guest.substr(0, guest.find(':'));
    std::cout << "  Mount: " << volume.substr(0, first) << " -> " << guest << (read_only ? " (ro)" : "") << "\n";
  }
  for (const auto& port : record.ports) {
    const auto colon = port.find(':');
    std::cout << "  Port: " << port.substr(0, colon) << " -> "
              << (colon == std::string::npos ? port : port.substr(colon + 1)) << "\n";
  }
  if (record.net) { std::cout << "  Network: enabled\n"; }
  for (const auto& command : record.init) { std::cout << "  Init: " << command << "\n"; }
  for (const auto& entry : record.env) { std::cout << "  Env: " << entry << "\n"; }
  if (record.workdir) { std::cout << "  Workdir: " << *record.workdir << "\n"; }
  std::cout << "  Created: " << record.created_at << "\n\n";
}

}  // namespace

int command_status(const Context& context, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.usage = "smolvm machine status [OPTIONS]";
  spec.options = {{'n', "name", "NAME", false}, {'\0', "json", "", false}};
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  const std::string name = parsed->value("name").value_or("default");
  if (const auto failure = injected_failure(context, "status", name)) { return *failure; }
  const auto record = StateStore(context.state_dir).load(name);
  if (parsed->has("json")) {
    if (!record) { return runtime_error("config operation failed: machine status: machine '" + name + "' not found"); }
    std::cout << status_object(*record, 0) << "\n";
    return 0;
  }
  if (record && machine_running(*record)) {
    std::cout << "Machine '" << name << "': running (PID: " << *record->pid << ")\n";
    return 0;
  }
  if (!context.version.at_least(1, 0, 0)) {
    // Up to 0.9.0 the text form never looked at the record, so a missing machine is
    // simply "not running".
    std::cout << "Machine '" << name << "': not running\n";
    return 0;
  }
  if (!record) { return runtime_error(not_found_message(name)); }
  std::cout << "Machine '" << name << "': " << effective_state(*record) << "\n";
  return 0;
}

int command_list(const Context& context, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.usage = "smolvm machine ls [OPTIONS]";
  spec.options = {{'v', "verbose", "", false}, {'\0', "json", "", false}};
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  if (const auto failure = injected_failure(context, "ls", "")) { return *failure; }
  const auto records = StateStore(context.state_dir).load_all();
  const bool as_json = parsed->has("json");
  if (records.empty()) {
    std::cout << (as_json ? "[]" : "No machines found") << "\n";
    return 0;
  }
  if (as_json) {
    std::string out = "[\n";
    for (std::size_t i = 0; i < records.size(); ++i) {
      out += indent(1) + status_object(records[i], 1) + (i + 1 < records.size() ? ",\n" : "\n");
    }
    std::cout << out << "]\n";
    return 0;
  }
  std::cout << table_row("NAME", "STATE", "CPUS", "MEMORY", "MOUNTS", "PORTS", "STORAGE", "OVERLAY") << "\n"
            << std::string(88, '-') << "\n";
  for (const auto& record : records) {
    std::cout << table_row(truncated_name(record.name), effective_state(record), std::to_string(record.cpus),
                           std::to_string(record.memory_mib) + " MiB", std::to_string(record.volumes.size()),
                           std::to_string(record.ports.size()), std::to_string(record.storage_gb.value_or(20)) + " GiB",
                           std::to_string(record.overlay_gb.value_or(10)) + " GiB")
              << "\n";
    if (parsed->has("verbose")) { print_verbose_details(record); }
  }
  return 0;
}

}  // namespace fake_smolvm
