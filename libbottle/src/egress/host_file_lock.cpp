#include "egress/host_file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace bottle::detail {

namespace {

using Clock = std::chrono::steady_clock;

// One mutex per host file for the life of the process: flock excludes other open
// file descriptions, not other threads sharing one, and each thread opens its own.
std::timed_mutex& thread_lock_for(const std::string& path) {
  static std::mutex guard;
  static std::map<std::string, std::unique_ptr<std::timed_mutex>> locks;
  const std::lock_guard<std::mutex> hold(guard);
  auto& slot = locks[path];
  if (!slot) slot = std::make_unique<std::timed_mutex>();
  return *slot;
}

std::string reason(const char* what) { return std::string(what) + " (" + std::strerror(errno) + ")"; }

void flock_until(int fd, Clock::time_point deadline) {
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return;
    if ((errno != EWOULDBLOCK && errno != EINTR) || Clock::now() > deadline)
      throw HostFileLock::Unavailable("lock timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool same_inode(int fd, const std::string& path) {
  struct stat held {};
  struct stat current {};
  if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &current) != 0)
    throw HostFileLock::Unavailable(reason("cannot lock host credential file"));
  return held.st_dev == current.st_dev && held.st_ino == current.st_ino;
}

}  // namespace

HostFileLock::HostFileLock(const std::filesystem::path& host_file, std::chrono::milliseconds timeout) {
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(host_file, ec);
  const std::string path = (ec ? host_file : resolved).string();
  const Clock::time_point deadline = Clock::now() + timeout;
  std::timed_mutex& mutex = thread_lock_for(path);
  if (!mutex.try_lock_until(deadline)) throw Unavailable("lock timeout");
  try {
    for (;;) {
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) throw Unavailable(reason("cannot open host credential file to lock it"));
      flock_until(fd.get(), deadline);
      if (same_inode(fd.get(), path)) {
        fd_ = std::move(fd);
        break;
      }
      // Replaced while we waited: lock the new file instead.
    }
  } catch (...) {
    mutex.unlock();
    throw;
  }
  thread_lock_ = &mutex;
}

HostFileLock::~HostFileLock() {
  fd_.reset();  // closing the descriptor releases the flock
  thread_lock_->unlock();
}

}  // namespace bottle::detail
