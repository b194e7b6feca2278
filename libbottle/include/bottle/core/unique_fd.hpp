#pragma once
// UniqueFd: sole owner of one POSIX file descriptor; closes it when destroyed or
// reset. -1 means "none". Movable, not copyable.

#include <unistd.h>

#include <utility>

namespace bottle {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  int get() const { return fd_; }
  /// The descriptor, no longer owned (the caller closes it, e.g. to see close's error).
  int release() { return std::exchange(fd_, -1); }
  /// Close the owned descriptor (if any) and own `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace bottle
