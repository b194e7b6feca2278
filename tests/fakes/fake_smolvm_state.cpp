#include "fake_smolvm_state.hpp"

#include "fake_smolvm_process.hpp"

#include <unistd.h>
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <sstream>

namespace fake_smolvm {

namespace json = boost::json;
namespace fs = std::filesystem;

std::optional<std::string> name_problem(const std::string& name) {
  if (name.empty()) { return "machine name cannot be empty"; }
  if (name.size() > 128) { return "machine name too long (max 128 characters)"; }
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
      return "machine name contains invalid character '" + std::string(1, c) + "' (allowed: letters, digits, '-', '_')";
    }
  }
  if (std::isalnum(static_cast<unsigned char>(name.front())) == 0) {
    return "machine name must start with a letter or digit";
  }
  if (name.back() == '-') { return "machine name cannot end with '-'"; }
  if (name.find("--") != std::string::npos) { return "machine name cannot contain '--'"; }
  return std::nullopt;
}

namespace {

json::array to_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) { out.emplace_back(item); }
  return out;
}

template <typename T>
json::value optional_value(const std::optional<T>& item) {
  return item ? json::value(*item) : json::value(nullptr);
}

std::vector<std::string> read_strings(const json::object& object, const char* key) {
  std::vector<std::string> out;
  if (const auto* found = object.if_contains(key); found != nullptr && found->is_array()) {
    for (const auto& item : found->as_array()) {
      if (item.is_string()) { out.emplace_back(item.as_string().c_str()); }
    }
  }
  return out;
}

std::optional<std::string> read_optional_string(const json::object& object, const char* key) {
  if (const auto* found = object.if_contains(key); found != nullptr && found->is_string()) {
    return std::string(found->as_string().c_str());
  }
  return std::nullopt;
}

std::optional<long long> read_optional_int(const json::object& object, const char* key) {
  if (const auto* found = object.if_contains(key); found != nullptr && found->is_int64()) { return found->as_int64(); }
  return std::nullopt;
}

bool read_bool(const json::object& object, const char* key) {
  const auto* found = object.if_contains(key);
  return found != nullptr && found->is_bool() && found->as_bool();
}

// Every field of a record with its JSON key, in file order: one list for both
// directions, so a new field cannot be saved but not loaded.
template <typename Record, typename Visit>
void for_each_field(Record& record, Visit& visit) {
  visit("name", record.name);
  visit("state", record.state);
  visit("pid", record.pid);
  visit("pid_start_time", record.pid_start_time);
  visit("cpus", record.cpus);
  visit("memory_mib", record.memory_mib);
  visit("storage_gb", record.storage_gb);
  visit("overlay_gb", record.overlay_gb);
  visit("image", record.image);
  visit("volumes", record.volumes);
  visit("ports", record.ports);
  visit("net", record.net);
  visit("net_backend", record.net_backend);
  visit("allow_cidrs", record.allow_cidrs);
  visit("allow_hosts", record.allow_hosts);
  visit("outbound_localhost_only", record.outbound_localhost_only);
  visit("dns", record.dns);
  visit("init", record.init);
  visit("env", record.env);
  visit("workdir", record.workdir);
  visit("smolfile", record.smolfile);
  visit("from", record.from);
  visit("ssh_agent", record.ssh_agent);
  visit("gpu", record.gpu);
  visit("gpu_vram_mib", record.gpu_vram_mib);
  visit("labels", record.labels);
  visit("cmd", record.cmd);
  visit("created_at", record.created_at);
  visit("init_done", record.init_done);
}

struct FieldWriter {
  json::object out;

  template <typename T>
  void operator()(const char* key, const T& value) {
    out[key] = value;
  }
  template <typename T>
  void operator()(const char* key, const std::optional<T>& value) {
    out[key] = optional_value(value);
  }
  void operator()(const char* key, const std::vector<std::string>& value) { out[key] = to_array(value); }
};

// A missing or mistyped key leaves the field at its MachineRecord default.
struct FieldReader {
  const json::object& object;

  void operator()(const char* key, std::string& field) const {
    field = read_optional_string(object, key).value_or(field);
  }
  void operator()(const char* key, long long& field) const { field = read_optional_int(object, key).value_or(field); }
  void operator()(const char* key, bool& field) const { field = read_bool(object, key); }
  void operator()(const char* key, std::optional<std::string>& field) const {
    field = read_optional_string(object, key);
  }
  void operator()(const char* key, std::optional<long long>& field) const { field = read_optional_int(object, key); }
  void operator()(const char* key, std::vector<std::string>& field) const { field = read_strings(object, key); }
};

json::object to_json(const MachineRecord& record) {
  FieldWriter writer;
  for_each_field(record, writer);
  return std::move(writer.out);
}

MachineRecord from_json(const json::object& object) {
  MachineRecord record;
  const FieldReader reader{object};
  for_each_field(record, reader);
  return record;
}

std::optional<json::object> read_json_object(const fs::path& path) {
  std::ifstream file(path);
  if (!file) { return std::nullopt; }
  std::stringstream content;
  content << file.rdbuf();
  boost::system::error_code error;
  json::value parsed = json::parse(content.str(), error);
  if (error || !parsed.is_object()) { return std::nullopt; }
  return parsed.as_object();
}

// Session and exec files are named after the fake's own PID; a file whose fake died
// without cleaning up is stale and ignored.
template <typename Visit>
void for_each_live_entry(const fs::path& directory, Visit visit) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    if (entry.path().extension() != ".json") { continue; }
    const auto object = read_json_object(entry.path());
    if (!object) { continue; }
    const auto owner = read_optional_int(*object, "pid");
    if (!owner || !process_alive(static_cast<pid_t>(*owner))) { continue; }
    visit(*object);
  }
}

std::vector<pid_t> live_children_in(const fs::path& directory) {
  std::vector<pid_t> children;
  for_each_live_entry(directory, [&](const json::object& object) {
    if (const auto child = read_optional_int(object, "child_pid")) { children.push_back(static_cast<pid_t>(*child)); }
  });
  return children;
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  const fs::path temporary = path.string() + ".tmp." + std::to_string(getpid());
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << content;
  }
  fs::rename(temporary, path);
}

StateStore::StateStore(fs::path root) : root_(std::move(root)) {}

std::optional<MachineRecord> StateStore::load(const std::string& name) const {
  // Names reach the filesystem, so an invalid name can never match a record.
  if (name_problem(name)) { return std::nullopt; }
  const auto object = read_json_object(root_ / "machines" / (name + ".json"));
  if (!object) { return std::nullopt; }
  return from_json(*object);
}

void StateStore::save(const MachineRecord& record) const {
  write_file_atomically(root_ / "machines" / (record.name + ".json"), json::serialize(to_json(record)) + "\n");
}

void StateStore::remove(const std::string& name) const {
  std::error_code ignored;
  fs::remove(root_ / "machines" / (name + ".json"), ignored);
  fs::remove_all(sessions_dir(name), ignored);
  fs::remove_all(execs_dir(name), ignored);
  fs::remove_all(guest_fs(name), ignored);
}

std::vector<MachineRecord> StateStore::load_all() const {
  std::vector<MachineRecord> records;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root_ / "machines", error)) {
    if (entry.path().extension() != ".json") { continue; }
    if (auto record = load(entry.path().stem().string())) { records.push_back(std::move(*record)); }
  }
  // The real CLI lists machines in name order (SQLite primary key).
  std::sort(records.begin(), records.end(), [](const auto& left, const auto& right) { return left.name < right.name; });
  return records;
}

fs::path StateStore::guest_fs(const std::string& name) const { return root_ / "fs" / name; }

fs::path StateStore::sessions_dir(const std::string& name) const { return root_ / "sessions" / name; }

fs::path StateStore::execs_dir(const std::string& name) const { return root_ / "execs" / name; }

std::vector<std::string> StateStore::live_session_pts(const std::string& name) const {
  std::vector<std::string> pts;
  for_each_live_entry(sessions_dir(name), [&](const json::object& object) {
    if (auto path = read_optional_string(object, "pts")) { pts.push_back(std::move(*path)); }
  });
  return pts;
}

std::vector<pid_t> StateStore::live_session_children(const std::string& name) const {
  return live_children_in(sessions_dir(name));
}

std::vector<pid_t> StateStore::live_exec_children(const std::string& name) const {
  return live_children_in(execs_dir(name));
}

bool machine_running(const MachineRecord& record) {
  return record.state == "running" && record.pid &&
         process_alive(static_cast<pid_t>(*record.pid), record.pid_start_time);
}

std::string effective_state(const MachineRecord& record) {
  if (record.state == "running") { return machine_running(record) ? "running" : "stopped"; }
  return record.state;
}

}  // namespace fake_smolvm
