#pragma once
// Host side of the workspace-escape tests: temp trees owned by the workspace
// owner, shell scripts run as that owner (never as root), snapshots of a tree to
// see what a bottle changed, and the directories host git would treat as a repo.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"

namespace host_git {

namespace fs = std::filesystem;

/// The uid that owns the workspace on the host: the bottle's `node` user has the
/// same one, which is what makes a shared workspace dangerous.
inline constexpr int owner_uid = 1000;

/// chown -R, without following symlinks.
inline void chown_tree(const fs::path& root, int uid) {
  ::lchown(root.c_str(), uid, uid);
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it)
    ::lchown(it->path().c_str(), uid, uid);
}

/// A directory under /tmp owned by the workspace owner, removed with everything in
/// it when the test ends, however it ends.
class OwnedTempDir {
 public:
  explicit OwnedTempDir(const std::string& stem) {
    std::string pattern = (fs::temp_directory_path() / (stem + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    ::chmod(path_.c_str(), 0755);
    chown_tree(path_, owner_uid);
  }
  /// An exact path (e.g. the marker directory, whose name the planted code knows).
  OwnedTempDir(const fs::path& exact, int mode) : path_(exact) {
    std::error_code ec;
    fs::remove_all(path_, ec);
    fs::create_directories(path_);
    ::chmod(path_.c_str(), mode);
    chown_tree(path_, owner_uid);
  }
  ~OwnedTempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  OwnedTempDir(const OwnedTempDir&) = delete;
  OwnedTempDir& operator=(const OwnedTempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Runs `sh -c script` as the workspace owner, with nothing of the test's
/// environment: `env -i HOME=<home> PATH=/usr/bin:/bin` plus `vars`. No
/// GIT_* variable is set, so git reads the repository's config as it would for
/// the user (and safe.directory is not set anywhere).
inline bottle::ProcessResult run_as_owner(const fs::path& home, const std::string& script,
                                          const std::map<std::string, std::string>& vars = {},
                                          const fs::path& cwd = {}) {
  bottle::Command c;
  c.argv = {"setpriv",
            "--reuid=" + std::to_string(owner_uid),
            "--regid=" + std::to_string(owner_uid),
            "--clear-groups",
            "env",
            "-i",
            "HOME=" + home.string(),
            "PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : vars) c.argv.push_back(k + "=" + v);
  c.argv.insert(c.argv.end(), {"sh", "-c", script});
  c.cwd = cwd.string();
  bottle::SystemRunner runner;
  return runner.run(c);
}

/// A home for the owner's host git: user.name/email only (no safe.directory, no
/// hooks path, no pager).
inline void write_owner_gitconfig(const fs::path& home) {
  fs::create_directories(home);
  std::ofstream(home / ".gitconfig") << "[user]\n\tname = Host User\n\temail = host@example.invalid\n"
                                        "[init]\n\tdefaultBranch = main\n";
  chown_tree(home, owner_uid);
}

/// path (relative, generic form) -> what it is: type, mode, and for files a
/// content hash, for symlinks the target.
using Snapshot = std::map<std::string, std::string>;

inline std::string content_hash(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ULL;
    if (!in) break;
  }
  return std::to_string(h);
}

inline Snapshot snapshot(const fs::path& root) {
  Snapshot snap;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const auto rel = fs::relative(it->path(), root).generic_string();
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    std::ostringstream sig;
    sig << std::oct << (st.st_mode & 07777) << std::dec << ' ';
    if (S_ISLNK(st.st_mode)) sig << "link " << fs::read_symlink(it->path()).string();
    else if (S_ISDIR(st.st_mode)) sig << "dir";
    else if (S_ISREG(st.st_mode)) sig << "file " << st.st_size << ' ' << content_hash(it->path());
    else sig << "other";
    snap[rel] = sig.str();
  }
  return snap;
}

/// Paths that were created, removed or changed between two snapshots.
inline std::vector<std::string> changed_paths(const Snapshot& before, const Snapshot& after) {
  std::vector<std::string> out;
  for (const auto& [path, sig] : after) {
    const auto it = before.find(path);
    if (it == before.end() || it->second != sig) out.push_back(path);
  }
  for (const auto& [path, sig] : before)
    if (after.find(path) == after.end()) out.push_back(path);
  std::sort(out.begin(), out.end());
  return out;
}

inline bool looks_like_git_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "HEAD", ec) && fs::is_directory(dir / "objects", ec) &&
         fs::is_directory(dir / "refs", ec);
}

/// Every directory of the workspace where a user (or their prompt) running git
/// would get a repository of its own: the root, every directory holding a `.git`
/// (directory or file), and every directory that is itself a git dir (a bare
/// repository, a renamed `.git`). Relative paths, "." for the root. Does not go
/// into `.git` directories or git dirs.
inline std::vector<std::string> git_directories(const fs::path& root, int max_depth = 4) {
  std::set<std::string> dirs{"."};
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    std::error_code ec;
    if (it->is_symlink(ec) || !it->is_directory(ec)) continue;
    const auto& p = it->path();
    if (p.filename() == ".git") {
      dirs.insert(fs::relative(p.parent_path(), root).generic_string());
      it.disable_recursion_pending();
      continue;
    }
    if (fs::exists(p / ".git", ec)) dirs.insert(fs::relative(p, root).generic_string());
    if (looks_like_git_dir(p)) {
      dirs.insert(fs::relative(p, root).generic_string());
      it.disable_recursion_pending();
      continue;
    }
    if (it.depth() + 1 >= max_depth) it.disable_recursion_pending();
  }
  return {dirs.begin(), dirs.end()};
}

}  // namespace host_git
