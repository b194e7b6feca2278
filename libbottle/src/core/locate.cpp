#include "bottle/core/locate.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

bool is_executable_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

fs::path current_executable() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(ErrorKind::internal, "cannot read /proc/self/exe: " + ec.message());
  return exe;
}

namespace {

// The first executable file of `candidates`, or of `env` when that is set.
fs::path locate_helper(const Host& host, Var env, std::string_view what, const std::vector<fs::path>& candidates) {
  if (fs::path from_env = host.absolute_path(env); !from_env.empty()) {
    if (is_executable_file(from_env)) return from_env;
    throw Error(ErrorKind::not_found,
                fmt::format("{} not found: {}={} is not an executable file", what, info(env).name, from_env.string()));
  }
  std::string looked;
  for (const auto& c : candidates) {
    if (is_executable_file(c)) return fs::weakly_canonical(c);
    looked += (looked.empty() ? "" : ", ") + c.string();
  }
  throw Error(ErrorKind::not_found, fmt::format("{} not found (looked at {}; set {})", what, looked, info(env).name));
}

}  // namespace

fs::path locate_pty_resize(const Host& host) {
  const fs::path exe_dir = current_executable().parent_path();
  return locate_helper(host, Var::bottle_pty_resize, "pty-resize wrapper",
                       {exe_dir.parent_path() / BOTTLE_LIBEXEC_RELDIR / "pty-resize",
                        exe_dir / "pty-resize",  // build tree: all executables in one dir
                        fs::path(BOTTLE_INSTALL_PREFIX) / BOTTLE_LIBEXEC_RELDIR / "pty-resize"});
}

fs::path locate_bottle_egress(const Host& host) {
  const fs::path exe_dir = current_executable().parent_path();
  return locate_helper(host, Var::bottle_egress, "bottle-egress",
                       {exe_dir / "bottle-egress", fs::path(BOTTLE_INSTALL_PREFIX) / "bin" / "bottle-egress"});
}

fs::path find_on_path(const Host& host, std::string_view name) {
  const std::string path = host.env_or(Var::path, "");
  std::string_view rest = path;
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    // Relative PATH entries would make the result depend on the cwd.
    if (dir.empty() || dir.front() != '/') continue;
    fs::path candidate = fs::path(dir) / name;
    if (is_executable_file(candidate)) return candidate;
  }
  return {};
}

std::string bottle_version() { return BOTTLE_VERSION; }

}  // namespace bottle
