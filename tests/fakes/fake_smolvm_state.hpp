// On-disk state of the fake: machines/NAME.json (one record per machine) and
// sessions/NAME/PID.json (live `exec -t` sessions, the fake's model of the guest devpts).
// Non-TTY execs register in execs/NAME/PID.json so `stop` can kill them like a VM halt.
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fake_smolvm {

struct MachineRecord {
  std::string name;
  std::string state = "created";  // created | running | stopped
  std::optional<long long> pid;   // stand-in VMM
  std::optional<long long> pid_start_time;
  long long cpus = 4;
  long long memory_mib = 8192;
  std::optional<long long> storage_gb;
  std::optional<long long> overlay_gb;
  std::optional<std::string> image;
  std::vector<std::string> volumes;  // HOST:GUEST[:ro]
  std::vector<std::string> ports;    // HOST:GUEST or PORT
  bool net = false;
  std::optional<std::string> net_backend;
  std::vector<std::string> allow_cidrs;
  std::vector<std::string> allow_hosts;
  bool outbound_localhost_only = false;
  std::optional<std::string> dns;
  std::vector<std::string> init;
  std::vector<std::string> env;  // KEY=VALUE, already resolved
  std::optional<std::string> workdir;
  std::optional<std::string> smolfile;
  std::optional<std::string> from;
  bool ssh_agent = false;
  bool gpu = false;
  std::optional<long long> gpu_vram_mib;
  std::vector<std::string> labels;
  std::vector<std::string> cmd;  // create -- CMD (>= 1.0.2)
  long long created_at = 0;
  bool init_done = false;
};

// Names are 1-128 of [A-Za-z0-9_-], start alphanumeric, no trailing '-', no "--".
// Returns the reason when invalid.
std::optional<std::string> name_problem(const std::string& name);

class StateStore {
 public:
  explicit StateStore(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] std::optional<MachineRecord> load(const std::string& name) const;
  void save(const MachineRecord& record) const;
  void remove(const std::string& name) const;
  [[nodiscard]] std::vector<MachineRecord> load_all() const;

  // The guest filesystem stand-in, used for unmapped workdirs and `cp`.
  [[nodiscard]] std::filesystem::path guest_fs(const std::string& name) const;
  [[nodiscard]] std::filesystem::path sessions_dir(const std::string& name) const;
  [[nodiscard]] std::filesystem::path execs_dir(const std::string& name) const;

  // pts paths of `exec -t` sessions of this machine whose fake process is still alive.
  [[nodiscard]] std::vector<std::string> live_session_pts(const std::string& name) const;
  // Child process ids (each leads its own process group) of live sessions and execs.
  [[nodiscard]] std::vector<pid_t> live_session_children(const std::string& name) const;
  [[nodiscard]] std::vector<pid_t> live_exec_children(const std::string& name) const;

 private:
  std::filesystem::path root_;
};

// True when the live probe says the record's stand-in VMM is running.
bool machine_running(const MachineRecord& record);
// The state shown to users: "running" only if the stand-in is alive.
std::string effective_state(const MachineRecord& record);

// Writes via a temporary file and rename(), so concurrent fakes never read half a file.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace fake_smolvm
