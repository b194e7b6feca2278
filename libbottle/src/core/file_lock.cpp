#include "core/file_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"

namespace bottle {

FileLock::FileLock(const std::filesystem::path& path) {
  make_private_dirs(path.parent_path());
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd_.get() < 0) throw Error(ErrorKind::io, fmt::format("{}: {}", path.string(), std::strerror(errno)));
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    throw Error(ErrorKind::io, fmt::format("flock {}: {}", path.string(), std::strerror(errno)));
  }
}

}  // namespace bottle
