#include "fake_smolvm_guest_ns.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace fake_smolvm {

namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

// A bind remount replaces every per-mount flag, so the source's nosuid/nodev/noexec and
// atime flags are carried over; only read-only is added.
unsigned long kept_mount_flags(const fs::path& target) {
  struct statvfs info {};
  if (statvfs(target.c_str(), &info) != 0) { return 0; }
  unsigned long flags = 0;
  const std::pair<unsigned long, unsigned long> mapping[] = {
      {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
  };
  for (const auto& [statvfs_flag, mount_flag] : mapping) {
    if ((info.f_flag & statvfs_flag) != 0) { flags |= mount_flag; }
  }
  return flags;
}

// The real CLI refuses these at create (src/data/storage.rs HostMount::new); the fake
// accepts them there, as it always has, and refuses them when the VM would mount them.
std::optional<std::string> source_problem(const std::string& host) {
  struct stat info {};
  if (stat(host.c_str(), &info) != 0) { return "mount source not found: " + host; }
  if (!S_ISDIR(info.st_mode)) {
    return "mount operation failed: validate host path: source path on host must be a directory "
           "(virtiofs limitation): " +
           host;
  }
  return std::nullopt;
}

std::optional<std::string> mount_volume(const fs::path& guest_fs, const std::string& spec) {
  const auto volume = parse_volume(spec);
  if (!volume) { return "invalid mount specification '" + spec + "': expected HOST:GUEST[:ro]"; }
  if (auto problem = source_problem(volume->host)) { return problem; }
  const fs::path target = guest_dir_on_host(guest_fs, volume->guest);
  const std::string where = volume->host + " at " + target.string();
  // Recursive, as virtiofs shows the host's submounts of a shared directory.
  if (mount(volume->host.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return "mount operation failed: bind " + where + ": " + errno_text();
  }
  if (volume->read_only && mount(nullptr, target.c_str(), nullptr,
                                 MS_REMOUNT | MS_BIND | MS_RDONLY | kept_mount_flags(target), nullptr) != 0) {
    return "mount operation failed: read-only " + where + ": " + errno_text();
  }
  return std::nullopt;
}

bool same_namespace(int ns_fd, const char* kind) {
  struct stat ours {};
  struct stat theirs {};
  const std::string self = std::string("/proc/self/ns/") + kind;
  return stat(self.c_str(), &ours) == 0 && fstat(ns_fd, &theirs) == 0 && ours.st_dev == theirs.st_dev &&
         ours.st_ino == theirs.st_ino;
}

int open_namespace(pid_t vmm, const char* kind, std::string& problem) {
  const std::string path = "/proc/" + std::to_string(vmm) + "/ns/" + kind;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) { problem = "cannot open " + path + ": " + errno_text(); }
  return fd;
}

// The VM's own root disk. The guest sees every top-level entry of the host's root (its
// tools, /tmp, the test's directories), bound in, but the root itself is `disk`: a
// directory that guest root creates at the top level (mkdir /workspace) lands there, on
// the machine's disk, never in the host's root, and stays until the machine is deleted.
std::optional<std::string> build_guest_root(const fs::path& disk) {
  const auto failed = [&](const std::string& what) {
    return "agent operation failed: start machine: guest root disk " + disk.string() + ": " + what;
  };
  std::error_code error;
  fs::create_directories(disk, error);
  if (error) { return failed("create: " + error.message()); }
  // pivot_root needs the new root to be a mount point of its own.
  if (mount(disk.c_str(), disk.c_str(), nullptr, MS_BIND, nullptr) != 0) { return failed("bind: " + errno_text()); }
  for (const auto& entry : fs::directory_iterator("/", error)) {
    const fs::path target = disk / entry.path().filename();
    std::error_code ignored;
    if (entry.is_symlink(ignored)) {
      if (!fs::exists(fs::symlink_status(target, ignored))) {
        fs::create_symlink(fs::read_symlink(entry.path(), ignored), target, ignored);
      }
      continue;
    }
    if (entry.is_directory(ignored)) {
      fs::create_directory(target, ignored);
    } else if (!fs::exists(target, ignored)) {
      const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd >= 0) { close(fd); }
    }
    if (mount(entry.path().c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      return failed("bind " + entry.path().string() + ": " + errno_text());
    }
  }
  if (error) { return failed("list /: " + error.message()); }
  const fs::path old_root = disk / ".fake-smolvm-host-root";
  fs::create_directory(old_root, error);
  if (syscall(SYS_pivot_root, disk.c_str(), old_root.c_str()) != 0) { return failed("pivot_root: " + errno_text()); }
  if (chdir("/") != 0 || umount2("/.fake-smolvm-host-root", MNT_DETACH) != 0) {
    return failed("detach the host root: " + errno_text());
  }
  rmdir("/.fake-smolvm-host-root");
  return std::nullopt;
}

}  // namespace

fs::path guest_root_disk(const fs::path& guest_fs) { return guest_fs / ".root-disk"; }

std::optional<Volume> parse_volume(const std::string& spec) {
  Volume volume;
  std::string rest = spec;
  if (const auto last = rest.rfind(':'); last != std::string::npos) {
    const std::string mode = rest.substr(last + 1);
    if (mode == "ro" || mode == "rw") {
      volume.read_only = mode == "ro";
      rest.resize(last);
    }
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) { return std::nullopt; }
  volume.host = rest.substr(0, colon);
  volume.guest = rest.substr(colon + 1);
  return volume;
}

fs::path guest_dir_on_host(const fs::path& guest_fs, const std::string& guest_dir) {
  std::error_code error;
  if (fs::is_directory(guest_dir, error)) { return guest_dir; }
  std::string relative = guest_dir;
  while (relative.starts_with('/')) { relative.erase(0, 1); }
  fs::path mapped = guest_fs / relative;
  fs::create_directories(mapped, error);
  return mapped;
}

std::optional<std::string> build_guest_mounts(const fs::path& guest_fs, const std::vector<std::string>& volumes) {
  if (unshare(CLONE_NEWNS) != 0) {
    return "agent operation failed: start machine: the fake smolvm needs root (CAP_SYS_ADMIN) for guest "
           "mounts: unshare(CLONE_NEWNS): " +
           errno_text();
  }
  // Private before anything is mounted: without it the bind mounts below would
  // propagate back into the host's shared mounts.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return "agent operation failed: start machine: making the guest mount namespace private: " + errno_text();
  }
  if (auto problem = build_guest_root(guest_root_disk(guest_fs))) { return problem; }
  for (const auto& spec : volumes) {
    if (auto problem = mount_volume(guest_fs, spec)) { return problem; }
  }
  return std::nullopt;
}

std::optional<std::string> build_guest_network() {
  if (unshare(CLONE_NEWNET) != 0) {
    return "agent operation failed: start machine: the fake smolvm needs root (CAP_SYS_ADMIN) for a guest "
           "without --net: unshare(CLONE_NEWNET): " +
           errno_text();
  }
  // A new network namespace starts with loopback down; a VM's kernel brings it up.
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  if (up) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    up = ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  }
  const std::string problem = up ? "" : errno_text();
  if (fd >= 0) { close(fd); }
  if (!up) { return "agent operation failed: start machine: bringing up the guest loopback: " + problem; }
  return std::nullopt;
}

GuestNamespace::~GuestNamespace() {
  if (fd_ >= 0) { close(fd_); }
  if (net_fd_ >= 0) { close(net_fd_); }
}

GuestNamespace::GuestNamespace(GuestNamespace&& other) noexcept : fd_(other.fd_), net_fd_(other.net_fd_) {
  other.fd_ = -1;
  other.net_fd_ = -1;
}

GuestNamespace& GuestNamespace::operator=(GuestNamespace&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) { close(fd_); }
    if (net_fd_ >= 0) { close(net_fd_); }
    fd_ = other.fd_;
    net_fd_ = other.net_fd_;
    other.fd_ = -1;
    other.net_fd_ = -1;
  }
  return *this;
}

GuestNamespaceOpen open_guest_namespace(pid_t vmm, bool own_network) {
  std::string problem;
  const int fd = open_namespace(vmm, "mnt", problem);
  if (fd < 0) { return {GuestNamespace(), problem}; }
  const int net_fd = own_network ? open_namespace(vmm, "net", problem) : -1;
  GuestNamespace ns(fd, net_fd);
  if (own_network && net_fd < 0) { return {GuestNamespace(), problem}; }
  // Joining our own namespace would let a guest `mount` land on the host.
  if (same_namespace(fd, "mnt")) {
    return {GuestNamespace(), "the VM (PID " + std::to_string(vmm) +
                                  ") has no guest mount namespace of its own; stop and start the machine"};
  }
  // Ours is the host's network: a guest without --net must never be given it.
  if (own_network && same_namespace(net_fd, "net")) {
    return {GuestNamespace(), "the VM (PID " + std::to_string(vmm) +
                                  ") has no guest network namespace of its own; stop and start the machine"};
  }
  return {std::move(ns), ""};
}

std::optional<std::string> enter_guest(int ns_fd, int net_fd, const fs::path& guest_fs,
                                       const std::vector<std::string>& volumes, bool own_network) {
  std::error_code error;
  const fs::path cwd = fs::current_path(error);
  if (ns_fd >= 0) {
    if (own_network && net_fd < 0) { return "no guest network namespace to join"; }
    if (own_network && setns(net_fd, CLONE_NEWNET) != 0) {
      return "cannot join the guest network namespace: " + errno_text();
    }
    if (setns(ns_fd, CLONE_NEWNS) != 0) { return "cannot join the guest mount namespace: " + errno_text(); }
  } else if (auto problem = build_guest_mounts(guest_fs, volumes)) {
    return problem;
  } else if (own_network) {
    if (auto net_problem = build_guest_network()) { return net_problem; }
  }
  // setns resets the cwd to the namespace root; re-resolve the caller's by path, so
  // it shows what the guest has mounted there.
  if (cwd.empty() || chdir(cwd.c_str()) != 0) { [[maybe_unused]] const int ignored = chdir("/"); }
  return std::nullopt;
}

}  // namespace fake_smolvm
