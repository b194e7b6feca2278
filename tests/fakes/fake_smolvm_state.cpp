#include "fake_smolvm_state.hpp"

#include "fake_smolvm_process.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fake_smolvm {

namespace json = boost::json;
namespace fs = std::filesystem;

std::optional<std::string> name_problem(const std::string& name) {
    if (name.empty()) {
        return "machine name cannot be empty";
    }
    if (name.size() > 128) {
        return "machine name too long (max 128 characters)";
    }
    for (const char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
            return "machine name contains invalid character '" + std::string(1, c) +
                   "' (allowed: letters, digits, '-', '_')";
        }
    }
    if (std::isalnum(static_cast<unsigned char>(name.front())) == 0) {
        return "machine name must start with a letter or digit";
    }
    if (name.back() == '-') {
        return "machine name cannot end with '-'";
    }
    if (name.find("--") != std::string::npos) {
        return "machine name cannot contain '--'";
    }
    return std::nullopt;
}

namespace {

json::array to_array(const std::vector<std::string>& items) {
    json::array out;
    for (const auto& item : items) {
        out.emplace_back(item);
    }
    return out;
}

template <typename T> json::value optional_value(const std::optional<T>& item) {
    return item ? json::value(*item) : json::value(nullptr);
}

std::vector<std::string> read_strings(const json::object& object, const char* key) {
    std::vector<std::string> out;
    if (const auto* found = object.if_contains(key); found != nullptr && found->is_array()) {
        for (const auto& item : found->as_array()) {
            if (item.is_string()) {
                out.emplace_back(item.as_string().c_str());
            }
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
    if (const auto* found = object.if_contains(key); found != nullptr && found->is_int64()) {
        return found->as_int64();
    }
    return std::nullopt;
}

bool read_bool(const json::object& object, const char* key) {
    const auto* found = object.if_contains(key);
    return found != nullptr && found->is_bool() && found->as_bool();
}

json::object to_json(const MachineRecord& record) {
    json::object out;
    out["name"] = record.name;
    out["state"] = record.state;
    out["pid"] = optional_value(record.pid);
    out["pid_start_time"] = optional_value(record.pid_start_time);
    out["cpus"] = record.cpus;
    out["memory_mib"] = record.memory_mib;
    out["storage_gb"] = optional_value(record.storage_gb);
    out["overlay_gb"] = optional_value(record.overlay_gb);
    out["image"] = optional_value(record.image);
    out["volumes"] = to_array(record.volumes);
    out["ports"] = to_array(record.ports);
    out["net"] = record.net;
    out["net_backend"] = optional_value(record.net_backend);
    out["allow_cidrs"] = to_array(record.allow_cidrs);
    out["allow_hosts"] = to_array(record.allow_hosts);
    out["outbound_localhost_only"] = record.outbound_localhost_only;
    out["dns"] = optional_value(record.dns);
    out["init"] = to_array(record.init);
    out["env"] = to_array(record.env);
    out["workdir"] = optional_value(record.workdir);
    out["smolfile"] = optional_value(record.smolfile);
    out["from"] = optional_value(record.from);
    out["ssh_agent"] = record.ssh_agent;
    out["gpu"] = record.gpu;
    out["gpu_vram_mib"] = optional_value(record.gpu_vram_mib);
    out["labels"] = to_array(record.labels);
    out["cmd"] = to_array(record.cmd);
    out["created_at"] = record.created_at;
    out["init_done"] = record.init_done;
    return out;
}

MachineRecord from_json(const json::object& object) {
    MachineRecord record;
    record.name = read_optional_string(object, "name").value_or("");
    record.state = read_optional_string(object, "state").value_or("created");
    record.pid = read_optional_int(object, "pid");
    record.pid_start_time = read_optional_int(object, "pid_start_time");
    record.cpus = read_optional_int(object, "cpus").value_or(4);
    record.memory_mib = read_optional_int(object, "memory_mib").value_or(8192);
    record.storage_gb = read_optional_int(object, "storage_gb");
    record.overlay_gb = read_optional_int(object, "overlay_gb");
    record.image = read_optional_string(object, "image");
    record.volumes = read_strings(object, "volumes");
    record.ports = read_strings(object, "ports");
    record.net = read_bool(object, "net");
    record.net_backend = read_optional_string(object, "net_backend");
    record.allow_cidrs = read_strings(object, "allow_cidrs");
    record.allow_hosts = read_strings(object, "allow_hosts");
    record.outbound_localhost_only = read_bool(object, "outbound_localhost_only");
    record.dns = read_optional_string(object, "dns");
    record.init = read_strings(object, "init");
    record.env = read_strings(object, "env");
    record.workdir = read_optional_string(object, "workdir");
    record.smolfile = read_optional_string(object, "smolfile");
    record.from = read_optional_string(object, "from");
    record.ssh_agent = read_bool(object, "ssh_agent");
    record.gpu = read_bool(object, "gpu");
    record.gpu_vram_mib = read_optional_int(object, "gpu_vram_mib");
    record.labels = read_strings(object, "labels");
    record.cmd = read_strings(object, "cmd");
    record.created_at = read_optional_int(object, "created_at").value_or(0);
    record.init_done = read_bool(object, "init_done");
    return record;
}

std::optional<json::object> read_json_object(const fs::path& path) {
    std::ifstream file(path);
    if (!file) {
        return std::nullopt;
    }
    std::stringstream content;
    content << file.rdbuf();
    boost::system::error_code error;
    json::value parsed = json::parse(content.str(), error);
    if (error || !parsed.is_object()) {
        return std::nullopt;
    }
    return parsed.as_object();
}

// Session and exec files are named after the fake's own PID; a file whose fake died
// without cleaning up is stale and ignored.
template <typename Visit> void for_each_live_entry(const fs::path& directory, Visit visit) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(directory, error)) {
        if (entry.path().extension() != ".json") {
            continue;
        }
        const auto object = read_json_object(entry.path());
        if (!object) {
            continue;
        }
        const auto owner = read_optional_int(*object, "pid");
        if (!owner || !process_alive(static_cast<pid_t>(*owner))) {
            continue;
        }
        visit(*object);
    }
}

std::vector<pid_t> live_children_in(const fs::path& directory) {
    std::vector<pid_t> children;
    for_each_live_entry(directory, [&](const json::object& object) {
        if (const auto child = read_optional_int(object, "child_pid")) {
            children.push_back(static_cast<pid_t>(*child));
        }
    });
    return children;
}

} // namespace

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
    if (name_problem(name)) {
        return std::nullopt;
    }
    const auto object = read_json_object(root_ / "machines" / (name + ".json"));
    if (!object) {
        return std::nullopt;
    }
    return from_json(*object);
}

void StateStore::save(const MachineRecord& record) const {
    write_file_atomically(root_ / "machines" / (record.name + ".json"),
                          json::serialize(to_json(record)) + "\n");
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
        if (entry.path().extension() != ".json") {
            continue;
        }
        if (auto record = load(entry.path().stem().string())) {
            records.push_back(std::move(*record));
        }
    }
    // The real CLI lists machines in name order (SQLite primary key).
    std::sort(records.begin(), records.end(),
              [](const auto& left, const auto& right) { return left.name < right.name; });
    return records;
}

fs::path StateStore::guest_fs(const std::string& name) const {
    return root_ / "fs" / name;
}

fs::path StateStore::sessions_dir(const std::string& name) const {
    return root_ / "sessions" / name;
}

fs::path StateStore::execs_dir(const std::string& name) const {
    return root_ / "execs" / name;
}

std::vector<std::string> StateStore::live_session_pts(const std::string& name) const {
    std::vector<std::string> pts;
    for_each_live_entry(sessions_dir(name), [&](const json::object& object) {
        if (auto path = read_optional_string(object, "pts")) {
            pts.push_back(std::move(*path));
        }
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
    if (record.state == "running") {
        return machine_running(record) ? "running" : "stopped";
    }
    return record.state;
}

} // namespace fake_smolvm
