// `machine cp SRC DST` (§10.2): exactly one side is NAME:/path; the guest path maps under
// $FAKE_SMOLVM_STATE/fs/NAME/, or into a volume when it lies in one. The copy runs inside
// the guest mount namespace, so it meets the same mounts (and read-only volumes) as exec.
#include "fake_smolvm.hpp"
#include "fake_smolvm_args.hpp"
#include "fake_smolvm_guest_ns.hpp"
#include "fake_smolvm_process.hpp"
#include "fake_smolvm_state.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <filesystem>

namespace fake_smolvm {

namespace {

namespace fs = std::filesystem;

struct RemotePath {
  std::string machine;
  std::string path;
};

// "NAME:/path" with a valid machine name; a host path such as /tmp/a:b never matches.
std::optional<RemotePath> remote_path(const std::string& word) {
  const auto colon = word.find(':');
  if (colon == std::string::npos || colon == 0 || name_problem(word.substr(0, colon))) { return std::nullopt; }
  return RemotePath{word.substr(0, colon), word.substr(colon + 1)};
}

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.ends_with('/')) { path.pop_back(); }
  return path;
}

// The deepest volume containing the path wins, as the later mount shadows the earlier.
fs::path guest_to_host(const fs::path& guest_fs, const MachineRecord& record, const std::string& guest_path) {
  std::optional<Volume> best;
  for (const auto& spec : record.volumes) {
    auto volume = parse_volume(spec);
    if (!volume) { continue; }
    volume->guest = without_trailing_slashes(volume->guest);
    const bool inside = guest_path == volume->guest || guest_path.starts_with(volume->guest + "/");
    if (inside && (!best || volume->guest.size() > best->guest.size())) { best = std::move(volume); }
  }
  if (best) {
    return guest_dir_on_host(guest_fs, best->guest) / fs::path(guest_path.substr(best->guest.size())).relative_path();
  }
  std::string relative = guest_path;
  while (relative.starts_with('/')) { relative.erase(0, 1); }
  return guest_fs / relative;
}

int copy_in_guest(const fs::path& guest_fs, const MachineRecord& record, const GuestNamespace& guest_ns,
                  const std::optional<RemotePath>& source_remote, const std::optional<RemotePath>& target_remote,
                  const std::vector<std::string>& positionals) {
  if (const auto problem = enter_guest(guest_ns.fd(), guest_ns.net_fd(), guest_fs, record.volumes, !record.net)) {
    return runtime_error(*problem);
  }
  const fs::path source =
      source_remote ? guest_to_host(guest_fs, record, source_remote->path) : fs::path(positionals[0]);
  fs::path target = target_remote ? guest_to_host(guest_fs, record, target_remote->path) : fs::path(positionals[1]);
  std::error_code error;
  if (fs::is_directory(target, error)) { target /= source.filename(); }
  fs::create_directories(target.parent_path(), error);
  fs::copy(source, target, fs::copy_options::overwrite_existing | fs::copy_options::recursive, error);
  if (error) { return runtime_error("agent operation failed: cp: " + source.string() + ": " + error.message()); }
  return 0;
}

}  // namespace

int command_cp(const Context& context, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.usage = "smolvm machine cp <SRC> <DST>";
  spec.positionals = {"SRC", "DST"};
  spec.required_positionals = 2;
  int exit_status = 0;
  const auto parsed = parse_or_report(spec, args, exit_status);
  if (!parsed) { return exit_status; }
  const auto source_remote = remote_path(parsed->positionals[0]);
  const auto target_remote = remote_path(parsed->positionals[1]);
  if (source_remote.has_value() == target_remote.has_value()) {
    return runtime_error(
        "config operation failed: cp: one of SRC or DST must use machine:path "
        "syntax (e.g., myvm:/path/file)");
  }
  const RemotePath& remote = source_remote ? *source_remote : *target_remote;
  if (const auto failure = injected_failure(context, "cp", remote.machine)) { return *failure; }
  const StateStore store(context.state_dir);
  const auto record = store.load(remote.machine);
  if (!record) { return runtime_error(not_found_message(remote.machine)); }
  if (!machine_running(*record) && context.notrunning_is_error) {
    return runtime_error(not_running_message(remote.machine));
  }
  GuestNamespace guest_ns;
  if (machine_running(*record)) {
    auto opened = open_guest_namespace(static_cast<pid_t>(*record->pid), !record->net);
    if (!opened.problem.empty()) {
      return runtime_error("agent operation failed: cp: machine '" + remote.machine + "': " + opened.problem);
    }
    guest_ns = std::move(opened.ns);
  }
  // A child joins the namespace, so this process never leaves the host's.
  const pid_t child = fork();
  if (child < 0) { return runtime_error("agent operation failed: cp: fork failed"); }
  if (child == 0) {
    _exit(copy_in_guest(store.guest_fs(remote.machine), *record, guest_ns, source_remote, target_remote,
                        parsed->positionals));
  }
  int wait_status = 0;
  while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {}
  return exit_status_of(wait_status);
}

}  // namespace fake_smolvm
