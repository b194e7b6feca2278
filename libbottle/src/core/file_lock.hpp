#pragma once
// FileLock: an exclusive flock on a file in bottle's state, held for the object's life,
// so one operation at a time runs across processes (the CLI, the dashboard). The lock
// file is created 0600 (its directory 0700) and never removed: a waiter may hold it open.

#include <filesystem>

#include "bottle/core/unique_fd.hpp"

namespace bottle {

class FileLock {
 public:
  /// Blocks until the lock is held. Error(io) naming the file when it cannot be.
  explicit FileLock(const std::filesystem::path& path);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  UniqueFd fd_;
};

}  // namespace bottle
