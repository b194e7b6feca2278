#include "bottle/spec/prompt_file.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "bottle/core/error.hpp"
#include "bottle/core/unique_fd.hpp"

namespace bottle {
namespace {

// Why a component could not be opened without following links: lstat tells a link
// from a missing name. The open that failed is what enforces; this only words it.
[[noreturn]] void refuse(int dir, const std::string& name, const std::string& path, std::string_view field, int error) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    throw Error(ErrorKind::isolation, std::string(field),
                fmt::format("{}: the path goes through a symbolic link ({}); bottle does not follow links to a "
                            "prompt file, since the agent may have made one in its workspace: give the file's own "
                            "path (realpath)",
                            path, name));
  if (error == ENOENT || error == ENOTDIR)
    throw Error(ErrorKind::invalid_input, std::string(field), fmt::format("{}: no such file", path));
  throw Error(ErrorKind::io, std::string(field), fmt::format("{}: cannot open: {}", path, std::strerror(error)));
}

// The directory holding the path's last component, reached from / through
// directories only, none of them a link.
UniqueFd open_parent(const std::string& path, std::string_view field) {
  UniqueFd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0)
    throw Error(ErrorKind::io, std::string(field), fmt::format("cannot open /: {}", std::strerror(errno)));
  const std::size_t last = path.rfind('/');
  for (std::size_t at = 1; at <= last;) {
    const std::size_t slash = path.find('/', at);
    const std::string name = path.substr(at, slash - at);
    at = slash + 1;
    if (name.empty() || name == ".") continue;
    UniqueFd next(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) refuse(dir.get(), name, path, field, errno);
    dir = std::move(next);
  }
  return dir;
}

}  // namespace

std::string read_prompt_file(const std::string& path, std::string_view field) {
  if (path.empty() || path.front() != '/')
    throw Error(ErrorKind::invalid_input, std::string(field), fmt::format("{}: must be an absolute path", path));
  const std::string name = path.substr(path.rfind('/') + 1);
  if (name.empty()) throw Error(ErrorKind::invalid_input, std::string(field), fmt::format("{}: not a file", path));
  const UniqueFd dir = open_parent(path, field);
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it.
  const UniqueFd file(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (file.get() < 0) refuse(dir.get(), name, path, field, errno);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0)
    throw Error(ErrorKind::io, std::string(field), fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorKind::invalid_input, std::string(field), fmt::format("{}: not a regular file", path));
  const auto too_large = [&] {
    return Error(ErrorKind::invalid_input, std::string(field),
                 fmt::format("{}: larger than {} bytes", path, max_prompt_file_bytes));
  };
  if (static_cast<std::size_t>(st.st_size) > max_prompt_file_bytes) throw too_large();
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(ErrorKind::io, std::string(field), fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    // The file may grow after fstat; the cap holds for what is read.
    if (text.size() > max_prompt_file_bytes) throw too_large();
  }
}

}  // namespace bottle
