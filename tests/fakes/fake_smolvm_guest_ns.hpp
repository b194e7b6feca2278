// The guest's mount table. A real VM sees its `-v` volumes as virtiofs mounts in its own
// kernel, so a `mount` made by guest root stays inside the VM until it stops. The fake
// models that with one Linux mount namespace per running machine, held by the stand-in
// VMM: start builds it (volumes bind-mounted, `:ro` ones read-only), every exec joins it,
// stop kills the VMM and the namespace dies with it. The host's mount table is never
// touched, which is why building the namespace needs root (CAP_SYS_ADMIN).
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fake_smolvm {

// HOST:GUEST[:ro|:rw], parsed from the right as the real CLI does.
struct Volume {
  std::string host;
  std::string guest;
  bool read_only = false;
};
std::optional<Volume> parse_volume(const std::string& spec);

// Where a guest directory lives, seen from inside the guest namespace: a path that is a
// directory there stays as it is (the fake's guest sees the host tree), anything else
// maps to GUEST_FS/<path>, created on demand. Volume mount points and workdirs both use
// this rule, so `-w GUEST` always lands in the volume mounted for GUEST.
std::filesystem::path guest_dir_on_host(const std::filesystem::path& guest_fs, const std::string& guest_dir);

// Child side, right after fork: moves the calling process into a new private mount
// namespace and mounts the volumes there. Returns the error line for the user (without
// "Error: ") when it cannot.
std::optional<std::string> build_guest_mounts(const std::filesystem::path& guest_fs,
                                              const std::vector<std::string>& volumes);

// Parent side: an fd on the mount namespace of a running machine's stand-in VMM, which
// pins it for as long as the fd is open; children join it with join_guest_namespace.
class GuestNamespace {
 public:
  GuestNamespace() = default;
  explicit GuestNamespace(int fd) : fd_(fd) {}
  ~GuestNamespace();
  GuestNamespace(GuestNamespace&& other) noexcept;
  GuestNamespace& operator=(GuestNamespace&& other) noexcept;
  GuestNamespace(const GuestNamespace&) = delete;
  GuestNamespace& operator=(const GuestNamespace&) = delete;

  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

struct GuestNamespaceOpen {
  GuestNamespace ns;
  std::string problem;  // empty on success
};
GuestNamespaceOpen open_guest_namespace(pid_t vmm);

// Child side: enters the namespace behind `ns_fd`, or, with no running VMM to join
// (-1, FAKE_SMOLVM_NOTRUNNING_IS_ERROR=0), a throwaway one built like start's. Either way
// a `mount` run by the guest command can never reach the host. Keeps the caller's cwd
// when it exists in the guest. Returns the error line on failure.
std::optional<std::string> enter_guest(int ns_fd, const std::filesystem::path& guest_fs,
                                       const std::vector<std::string>& volumes);

}  // namespace fake_smolvm
