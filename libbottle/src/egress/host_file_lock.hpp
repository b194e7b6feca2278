#pragma once
// The single-refresher lock on a host login file (internal to libbottle): one refresh
// at a time across threads, bottles' egress and the host's ensure-fresh, with no lock
// file left in the user's credential directory (the lock is an flock on the login
// file itself). Same protocol as tests/oracle/egress-addon/bottle_broker.py's host_lock, so the
// Python and C++ brokers exclude each other.

#include <chrono>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "bottle/core/unique_fd.hpp"

namespace bottle::detail {

class HostFileLock {
 public:
  /// Locks `host_file` (symlinks resolved: the write-back replaces the target). The
  /// write-back renames a new file over the path, and a lock held on the old inode
  /// does not exclude whoever opens the path afterwards: so the lock counts only once
  /// the path still names the locked inode, else it is taken again on the new file.
  /// Throws HostFileLock::Unavailable when `timeout` passes first or the file cannot
  /// be opened; its what() names no secret.
  HostFileLock(const std::filesystem::path& host_file, std::chrono::milliseconds timeout);
  HostFileLock(const HostFileLock&) = delete;
  HostFileLock& operator=(const HostFileLock&) = delete;
  ~HostFileLock();

  struct Unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 private:
  std::timed_mutex* thread_lock_ = nullptr;
  UniqueFd fd_;
};

}  // namespace bottle::detail
