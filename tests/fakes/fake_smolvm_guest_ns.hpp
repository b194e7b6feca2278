// The guest's mount table. A real VM sees its `-v` volumes as virtiofs mounts in its own
// kernel, so a `mount` made by guest root stays inside the VM until it stops. The fake
// models that with one Linux mount namespace per running machine, held by the stand-in
// VMM: start builds it (volumes bind-mounted, `:ro` ones read-only), every exec joins it,
// stop kills the VMM and the namespace dies with it. The host's mount table is never
// touched, which is why building the namespace needs root (CAP_SYS_ADMIN).
//
// The guest's root. A real VM has its own root disk: what guest root makes at the top
// level (mkdir /workspace) is on that disk, never on the host. The fake gives each
// machine a root directory of its own (guest_root_disk, kept until delete), binds every
// top-level entry of the host's root into it, and pivots into it; so the guest still
// sees the host's tools and directories, but a new top-level directory lands on the
// machine's disk.
//
// The guest's network. A real VM created without `--net` has no NIC at all: only its
// own loopback, up. The fake gives such a machine its own network namespace the same
// way (built by start next to the mount namespace, held by the VMM, joined by every
// exec), so a guest probe sees no host and no public address. A machine created with
// `--net` stays in the host's network namespace: the fake has no NIC to give it, and the
// egress tests need its traffic to reach the relay on the host's loopback.
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

// The machine's root disk: GUEST_FS/.root-disk (removed with GUEST_FS at delete).
std::filesystem::path guest_root_disk(const std::filesystem::path& guest_fs);

// Child side, right after fork: moves the calling process into a new private mount
// namespace whose root is the machine's root disk, and mounts the volumes there. Returns the error line for the user
// (without "Error: ") when it cannot.
std::optional<std::string> build_guest_mounts(const std::filesystem::path& guest_fs,
                                              const std::vector<std::string>& volumes);

// Child side, right after build_guest_mounts, for a machine without `--net`: moves the
// calling process into a new network namespace with only loopback, brought up. Returns
// the error line for the user (without "Error: ") when it cannot.
std::optional<std::string> build_guest_network();

// Parent side: fds on the mount namespace of a running machine's stand-in VMM and, for a
// machine without `--net`, on its network namespace (-1 otherwise), which pin them for
// as long as the fds are open; children join them with enter_guest.
class GuestNamespace {
 public:
  GuestNamespace() = default;
  explicit GuestNamespace(int fd, int net_fd = -1) : fd_(fd), net_fd_(net_fd) {}
  ~GuestNamespace();
  GuestNamespace(GuestNamespace&& other) noexcept;
  GuestNamespace& operator=(GuestNamespace&& other) noexcept;
  GuestNamespace(const GuestNamespace&) = delete;
  GuestNamespace& operator=(const GuestNamespace&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] int net_fd() const { return net_fd_; }

 private:
  int fd_ = -1;
  int net_fd_ = -1;
};

struct GuestNamespaceOpen {
  GuestNamespace ns;
  std::string problem;  // empty on success
};
// `own_network`: the machine has no `--net`, so its VMM must hold a network namespace
// of its own; one that shares ours is refused, never joined as the host's network.
GuestNamespaceOpen open_guest_namespace(pid_t vmm, bool own_network);

// Child side: enters the namespaces behind `ns_fd` and `net_fd`, or, with no running VMM
// to join (ns_fd -1, FAKE_SMOLVM_NOTRUNNING_IS_ERROR=0), throwaway ones built like
// start's. Either way a `mount` run by the guest command can never reach the host, and
// with `own_network` neither can a connection. Keeps the caller's cwd when it exists in
// the guest. Returns the error line on failure.
std::optional<std::string> enter_guest(int ns_fd, int net_fd, const std::filesystem::path& guest_fs,
                                       const std::vector<std::string>& volumes, bool own_network);

}  // namespace fake_smolvm
