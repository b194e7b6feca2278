#include "bottle/core/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "bottle/core/error.hpp"
#include "bottle/core/unique_fd.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_io(std::string_view action, const fs::path& path, int error) {
  throw Error(ErrorKind::io, fmt::format("could not {} {}: {}", action, path.string(), std::strerror(error)));
}

}  // namespace

StateDirs StateDirs::from_environment(const Host& host) {
  if (fs::path home = host.absolute_path(Var::bottle_home); !home.empty()) return {home / "config", home / "state"};
  fs::path user_home = host.absolute_path(Var::home);
  fs::path config = host.absolute_path(Var::xdg_config_home);
  fs::path state = host.absolute_path(Var::xdg_state_home);
  if ((config.empty() || state.empty()) && user_home.empty())
    throw Error(ErrorKind::invalid_input, "environment variable HOME: not set (needed to find bottle's directories)");
  if (config.empty()) config = user_home / ".config";
  if (state.empty()) state = user_home / ".local" / "state";
  return {config / "bottle", state / "bottle"};
}

fs::path StateDirs::bottle_state_dir(std::string_view name) const {
  validate_bottle_name(name);
  return state / "bottles" / std::string(name);
}

fs::path StateDirs::spec_path(std::string_view name) const {
  validate_bottle_name(name);
  return config / "bottles" / (std::string(name) + ".json");
}

void make_private_dirs(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) make_private_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_io("create directory", dir, errno);
}

namespace {

// "<dir>/.NAME.tmp-XXXXXX": the temporary files of write_file_atomic for NAME. The
// leading dot keeps them out of every listing bottle reads (e.g. SpecStore::load_all).
std::string temp_prefix(const fs::path& path) { return "." + path.filename().string() + ".tmp-"; }

// A writer killed between mkstemp and rename (SIGKILL, Ctrl-C, power loss) leaves
// its temporary file behind. Remove those of `path` that are old enough that no
// live writer can still be using them; a writer that was stopped for longer than
// that only sees its rename fail (ENOENT), the target stays whole either way.
void remove_stale_temps(const fs::path& dir, const fs::path& path) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const std::string prefix = temp_prefix(path);
  const auto now = std::chrono::system_clock::now();
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name(entry->d_name);
    if (name.size() != prefix.size() + 6 || name.substr(0, prefix.size()) != prefix) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto modified = std::chrono::system_clock::from_time_t(st.st_mtime);
    if (now - modified >= stale_temp_age) ::unlinkat(::dirfd(d), entry->d_name, 0);
  }
  ::closedir(d);
}

std::string byte_count(std::size_t bytes) {
  if (bytes % (std::size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view content, unsigned mode) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  make_private_dirs(dir);
  std::string temp = (dir / (temp_prefix(path) + "XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) throw_io("create a temporary file in", dir, errno);
  auto fail = [&](std::string_view action) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw_io(action, path, error);
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) fail("set permissions of");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("sync");
  if (::close(fd.release()) != 0) fail("close");
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("replace");
  // Make the rename itself durable.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  remove_stale_temps(dir, path);
}

std::string read_file(const fs::path& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) throw Error(ErrorKind::not_found, fmt::format("{}: no such file", path.string()));
    throw_io("read", path, error);
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("read", path, errno);  // e.g. EISDIR: a directory is not an empty file
    }
    if (n == 0) return text;
    if (static_cast<std::size_t>(n) > max_bytes - text.size())
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: is larger than {}, more than bottle reads from such a file", path.string(),
                              byte_count(max_bytes)));
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

bool SpecStore::exists(std::string_view name) const {
  const fs::path path = dirs_.spec_path(name);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    throw_io("look up", path, errno);
  }
  // Something is there: it must be a readable spec, or the caller (e.g. create)
  // would report a misleading conflict or, worse, treat the name as free.
  try {
    load(name);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found) throw;
    throw Error(ErrorKind::invalid_input,
                fmt::format("stored spec {} is a dangling symbolic link; fix or remove it", path.string()));
  }
  return true;
}

BottleSpec SpecStore::load(std::string_view name) const {
  const fs::path path = dirs_.spec_path(name);
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found)
      throw Error(ErrorKind::not_found, fmt::format("no bottle named \"{}\"", name));
    throw;
  }
  try {
    BottleSpec spec = parse_spec(text);
    if (spec.name != name)
      throw Error(ErrorKind::invalid_input,
                  fmt::format("spec: $.name: is \"{}\" but the file is for \"{}\"", spec.name, name));
    return spec;
  } catch (const Error& e) {
    throw Error(ErrorKind::invalid_input,
                fmt::format("stored spec {} is corrupt ({}); fix or remove it", path.string(), e.what()));
  }
}

void SpecStore::save(const BottleSpec& spec) const {
  validate_spec(spec);
  write_file_atomic(dirs_.spec_path(spec.name), spec_to_json(spec), 0600);
}

void SpecStore::remove(std::string_view name) const {
  std::error_code ec;
  fs::remove(dirs_.spec_path(name), ec);
  if (ec) throw Error(ErrorKind::io, fmt::format("could not remove the spec of {}: {}", name, ec.message()));
  fs::remove_all(dirs_.bottle_state_dir(name), ec);
  if (ec) throw Error(ErrorKind::io, fmt::format("could not remove the state of {}: {}", name, ec.message()));
}

std::vector<BottleSpec> SpecStore::load_all() const {
  std::vector<BottleSpec> specs;
  const fs::path dir = dirs_.config / "bottles";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return specs;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path& p = entry.path();
    if (p.extension() != ".json" || p.filename().string().front() == '.') continue;
    names.push_back(p.stem().string());
  }
  if (ec) throw Error(ErrorKind::io, fmt::format("could not list {}: {}", dir.string(), ec.message()));
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    try {
      validate_bottle_name(name);
    } catch (const Error&) {
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: not a valid bottle spec file name", (dir / (name + ".json")).string()));
    }
    specs.push_back(load(name));
  }
  return specs;
}

}  // namespace bottle
