// `machine create` (§4.2, §10.2): the name is positional up to 1.0.1 and `-n/--name`
// (plus an optional `-- CMD`) from 1.0.2, so the fake catches argv built for the wrong one.
#include "fake_smolvm.hpp"
#include "fake_smolvm_args.hpp"
#include "fake_smolvm_state.hpp"

#include <chrono>
#include <iostream>
#include <limits>

namespace fake_smolvm {

namespace {

CommandSpec create_spec(const Version& version) {
  CommandSpec spec;
  spec.options = {
      {'I', "image", "IMAGE", false},
      {'\0', "cpus", "CPUS", false},
      {'\0', "mem", "MEM", false},
      {'\0', "storage", "STORAGE", false},
      {'\0', "overlay", "OVERLAY", false},
      {'v', "volume", "VOLUME", true},
      {'p', "port", "PORT", true},
      {'\0', "net", "", false},
      {'\0', "net-backend", "NET_BACKEND", false},
      {'\0', "allow-cidr", "CIDR", true},
      {'\0', "allow-host", "HOST", true},
      {'\0', "outbound-localhost-only", "", false},
      {'\0', "init", "INIT", true},
      {'e', "env", "ENV", true},
      {'w', "workdir", "WORKDIR", false},
      {'s', "smolfile", "SMOLFILE", false},
      {'\0', "from", "FROM", false},
      {'\0', "ssh-agent", "", false},
      {'\0', "gpu", "", false},
      {'\0', "gpu-vram", "GPU_VRAM", false},
  };
  // Flags that arrived after 0.8.0 are refused when emulating older versions.
  if (version.at_least(1, 3, 0)) { spec.options.push_back({'\0', "dns", "DNS", false}); }
  if (version.at_least(1, 8, 0)) { spec.options.push_back({'\0', "label", "LABEL", true}); }
  if (version.at_least(1, 0, 2)) {
    spec.options.push_back({'n', "name", "NAME", false});
    spec.dashdash_starts_trailing = true;
    spec.trailing_name = "COMMAND";
    spec.usage = "smolvm machine create [OPTIONS] [-- <COMMAND>...]";
  } else {
    spec.positionals = {"NAME"};
    spec.usage = "smolvm machine create [OPTIONS] [NAME]";
  }
  return spec;
}

// clap value parsers for integer flags: a malformed or out-of-range number is exit 2.
// `exit_status` stays -1 until an error has been reported.
std::optional<long long> parse_number(const CommandSpec& spec, const ParsedArgs& parsed, const std::string& long_name,
                                      long long max_value, int& exit_status) {
  const auto text = parsed.value(long_name);
  if (!text || exit_status != -1) {  // report only the first invalid value, like clap
    return std::nullopt;
  }
  const OptionSpec* option = nullptr;
  for (const auto& candidate : spec.options) {
    if (candidate.long_name == long_name) { option = &candidate; }
  }
  const std::string prefix = "invalid value '" + *text + "' for '" + display_option(*option) + "': ";
  if (text->empty() || text->find_first_not_of("0123456789") != std::string::npos) {
    exit_status = report_usage_error(spec, prefix + "invalid digit found in string");
    return std::nullopt;
  }
  if (text->size() > 18 || std::stoll(*text) > max_value) {
    exit_status = report_usage_error(spec, prefix + "number too large to fit in target type");
    return std::nullopt;
  }
  return std::stoll(*text);
}

bool valid_port_number(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) { return false; }
  const int port = std::stoi(text);
  return port >= 1 && port <= 65535;
}

bool valid_port_mapping(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) { return valid_port_number(text); }
  return valid_port_number(text.substr(0, colon)) && valid_port_number(text.substr(colon + 1));
}

// HOST:GUEST[:ro] with an absolute guest path.
bool valid_volume(const std::string& text) {
  const auto first = text.find(':');
  if (first == std::string::npos || first == 0) { return false; }
  std::string guest = text.substr(first + 1);
  if (const auto second = guest.find(':'); second != std::string::npos) {
    const std::string mode = guest.substr(second + 1);
    if (mode != "ro" && mode != "rw") { return false; }
    guest.resize(second);
  }
  return guest.starts_with('/');
}

long long unix_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

void print_created(const MachineRecord& record) {
  std::cout << "Created machine: " << record.name << "\n"
            << "  CPUs: " << record.cpus << ", Memory: " << record.memory_mib << " MiB\n";
  if (!record.volumes.empty()) { std::cout << "  Mounts: " << record.volumes.size() << "\n"; }
  if (!record.ports.empty()) { std::cout << "  Ports: " << record.ports.size() << "\n"; }
  if (!record.init.empty()) { std::cout << "  Init commands: " << record.init.size() << "\n"; }
  std::cout << "\nUse 'smolvm machine start --name " << record.name << "' to start the machine\n"
            << "Then use 'smolvm machine exec --name " << record.name << " -- <command>' to run commands\n";
}

}  // namespace

int command_create(const Context& context, const std::vector<std::string>& args) {
  const CommandSpec spec = create_spec(context.version);
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  for (const auto& port : parsed->values("port")) {
    if (!valid_port_mapping(port)) {
      return report_usage_error(spec, "invalid value '" + port +
                                          "' for '--port <PORT>': "
                                          "invalid port mapping, expected HOST:GUEST or PORT (1-65535)");
    }
  }
  if (const auto backend = parsed->value("net-backend"); backend && *backend != "tsi" && *backend != "virtio-net") {
    return report_usage_error(spec, "invalid value '" + *backend +
                                        "' for '--net-backend <NET_BACKEND>'\n  [possible values: tsi, virtio-net]");
  }

  MachineRecord record;
  exit_status = -1;
  const auto cpus = parse_number(spec, *parsed, "cpus", std::numeric_limits<unsigned char>::max(), exit_status);
  const auto memory = parse_number(spec, *parsed, "mem", std::numeric_limits<unsigned int>::max(), exit_status);
  const auto storage = parse_number(spec, *parsed, "storage", std::numeric_limits<long long>::max() / 2, exit_status);
  const auto overlay = parse_number(spec, *parsed, "overlay", std::numeric_limits<long long>::max() / 2, exit_status);
  const auto gpu_vram = parse_number(spec, *parsed, "gpu-vram", std::numeric_limits<unsigned int>::max(), exit_status);
  if (exit_status != -1) { return exit_status; }
  record.cpus = cpus.value_or(4);
  record.memory_mib = memory.value_or(8192);
  record.storage_gb = storage;
  record.overlay_gb = overlay;
  record.gpu_vram_mib = gpu_vram;

  if (!parsed->positionals.empty()) {
    record.name = parsed->positionals.front();
  } else {
    record.name = parsed->value("name").value_or("default");
  }
  if (const auto failure = injected_failure(context, "create", record.name)) { return *failure; }
  if (const auto problem = name_problem(record.name)) {
    return runtime_error("config operation failed: create machine: " + *problem);
  }
  const StateStore store(context.state_dir);
  if (store.load(record.name)) {
    const std::string suffix = context.version.at_least(1, 0, 0) ? " or is being created" : "";
    return runtime_error("config operation failed: create machine: machine '" + record.name + "' already exists" +
                         suffix);
  }
  for (const auto& volume : parsed->values("volume")) {
    if (!valid_volume(volume)) {
      return runtime_error("invalid mount specification '" + volume +
                           "': expected HOST:GUEST[:ro] with an absolute guest path");
    }
  }

  record.image = parsed->value("image");
  record.volumes = parsed->values("volume");
  record.ports = parsed->values("port");
  record.allow_cidrs = parsed->values("allow-cidr");
  record.allow_hosts = parsed->values("allow-host");
  record.outbound_localhost_only = parsed->has("outbound-localhost-only");
  record.dns = parsed->value("dns");
  // Every egress flag implies --net, as in the real CLI.
  record.net = parsed->has("net") || !record.allow_cidrs.empty() || !record.allow_hosts.empty() ||
               record.outbound_localhost_only || record.dns.has_value();
  record.net_backend = parsed->value("net-backend");
  record.init = parsed->values("init");
  for (const auto& spec_entry : parsed->values("env")) {
    if (auto resolved = resolve_env_spec(context, spec_entry)) { record.env.push_back(std::move(*resolved)); }
  }
  record.workdir = parsed->value("workdir");
  record.smolfile = parsed->value("smolfile");
  record.from = parsed->value("from");
  record.ssh_agent = parsed->has("ssh-agent");
  record.gpu = parsed->has("gpu");
  record.labels = parsed->values("label");
  record.cmd = parsed->trailing;
  record.created_at = unix_seconds();
  store.save(record);
  print_created(record);
  return 0;
}

}  // namespace fake_smolvm
