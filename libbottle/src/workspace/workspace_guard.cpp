#include "bottle/workspace/workspace_guard.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <system_error>

#include "bottle/core/error.hpp"
#include "bottle/ops/resume.hpp"
#include "bottle/workspace/workspace_sentinel.hpp"

namespace bottle {

namespace fs = std::filesystem;

const std::vector<std::string>& default_protected_names() {
  static const std::vector<std::string> names = {
      // git: submodule definitions (where `git submodule update` fetches from)
      ".gitmodules",
      // agents: Claude Code's project settings, hooks, commands, agents and skills,
      // its MCP servers; Codex's project config and rules; shared agent skills
      ".claude", ".mcp.json", ".codex", ".agents",
      // editors: tasks that run on folder open, settings that point at binaries
      ".vscode", ".idea", ".devcontainer",
      // environment loaders and hook managers that run work-tree files on the host
      ".envrc", "mise.toml", ".mise.toml", ".husky", ".pre-commit-config.yaml", "lefthook.yml", ".lefthook.yml",
      // a workspace that is a home directory
      ".gitconfig", ".bashrc", ".bash_profile", ".zshrc", ".zprofile", ".profile", ".ripgreprc"};
  return names;
}

const std::vector<std::string>& git_dir_protected_names() {
  static const std::vector<std::string> names = {"config", "config.worktree", "commondir", "hooks",
                                                 "info",   "worktrees"};
  return names;
}

const std::vector<std::string>& placeholder_directories() {
  static const std::vector<std::string> names = {".git",    ".claude", ".codex",        ".agents",
                                                 ".vscode", ".idea",   ".devcontainer", ".husky"};
  return names;
}

ProtectionPolicy protection_policy(const BottleSpec& spec) {
  return {.extra = spec.protected_paths, .unprotected = spec.unsafe_unprotected_paths};
}

namespace {

std::string join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

std::string parent_of(const std::string& relative) {
  const auto slash = relative.rfind('/');
  return slash == std::string::npos ? std::string() : relative.substr(0, slash);
}

std::size_t depth(const std::string& relative) { return std::count(relative.begin(), relative.end(), '/'); }

bool is_below(const std::string& path, const std::string& ancestor) {
  return path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
         path[ancestor.size()] == '/';
}

EntryKind kind_at(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (ec || status.type() == fs::file_type::not_found) return EntryKind::missing;
  switch (status.type()) {
    case fs::file_type::regular: return EntryKind::file;
    case fs::file_type::directory: return EntryKind::directory;
    case fs::file_type::symlink: return EntryKind::symlink;
    default: return EntryKind::other;
  }
}

// A directory git would take for a bare repository.
bool looks_like_git_dir(const fs::path& dir) {
  return kind_at(dir / "HEAD") == EntryKind::file && kind_at(dir / "objects") == EntryKind::directory &&
         kind_at(dir / "refs") == EntryKind::directory;
}

// The workspace-relative git directory a `.git` file points at, or "" when it
// points outside the workspace (the bottle cannot reach that one).
std::string gitfile_target(const fs::path& root, const fs::path& gitfile) {
  std::ifstream in(gitfile);
  std::string line;
  if (!std::getline(in, line) || line.rfind("gitdir: ", 0) != 0) return {};
  fs::path target(line.substr(8));
  if (target.is_relative()) target = gitfile.parent_path() / target;
  const fs::path relative = target.lexically_normal().lexically_relative(root.lexically_normal());
  std::string text = relative.generic_string();
  if (text.empty() || text == "." || text.rfind("..", 0) == 0) return {};
  return text;
}

// Submodule git directories live under <git dir>/modules/<name>, names may nest.
void find_module_dirs(const fs::path& root, const std::string& git_dir, std::vector<std::string>& out) {
  const fs::path modules = root / git_dir / "modules";
  if (kind_at(modules) != EntryKind::directory) return;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(modules, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (kind_at(it->path() / "HEAD") != EntryKind::file) continue;
    const std::string found = it->path().lexically_relative(root).generic_string();
    out.push_back(found);
    it.disable_recursion_pending();
    find_module_dirs(root, found, out);
  }
}

void sort_unique(std::vector<std::string>& items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
}

bool unprotected(const ProtectionPolicy& policy, const std::string& name) {
  return std::find(policy.unprotected.begin(), policy.unprotected.end(), name) != policy.unprotected.end();
}

}  // namespace

WorkspaceScan scan_workspace(const fs::path& root, const ProtectionPolicy& policy) {
  WorkspaceScan scan;
  std::error_code ec;
  if (kind_at(root) != EntryKind::directory)
    throw Error(ErrorKind::io, fmt::format("workspace {}: not a directory", root.string()));
  if (looks_like_git_dir(root)) scan.git_dirs.emplace_back("");
  auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw Error(ErrorKind::io, fmt::format("workspace {}: cannot read it: {}", root.string(), ec.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw Error(ErrorKind::io, fmt::format("workspace {}: cannot read it: {}", root.string(), ec.message()));
    // Most entries are ordinary files: their type comes from the directory read
    // (no stat) and they need no relative path. A workspace with node_modules holds
    // hundreds of thousands, and start walks it more than once.
    const fs::path& path = it->path();
    const fs::path filename = path.filename();  // a value: a reference into the temporary would dangle
    const std::string& name = filename.native();
    // The sentinel's quarantine: unreadable to git, and nothing to protect.
    if (name.find(quarantine_marker) != std::string::npos) {
      it.disable_recursion_pending();
      continue;
    }
    const bool is_git = name == ".git";
    // Anything but a directory (a symlink is not followed) holds nothing to look into.
    if (!is_git && (it->is_symlink(ec) || !it->is_directory(ec))) {
      ec.clear();
      continue;
    }
    const std::string relative = path.lexically_relative(root).generic_string();
    const EntryKind kind = kind_at(path);
    if (is_git) {
      scan.entries[relative] = kind;
      // An empty `.git` (a placeholder) is no repository: git walks past it.
      if (kind == EntryKind::directory && !looks_like_git_dir(path)) {
        it.disable_recursion_pending();
        continue;
      }
      scan.work_trees.push_back(parent_of(relative));
      if (kind == EntryKind::directory) {
        scan.git_dirs.push_back(relative);
        it.disable_recursion_pending();
      } else if (kind == EntryKind::file) {
        if (const std::string target = gitfile_target(root, path);
            !target.empty() && kind_at(root / target) == EntryKind::directory)
          scan.git_dirs.push_back(target);
      }
    } else if (kind == EntryKind::directory && looks_like_git_dir(path)) {
      scan.git_dirs.push_back(relative);
      it.disable_recursion_pending();
    }
  }
  scan.work_trees.emplace_back("");
  const std::vector<std::string> top_git_dirs = scan.git_dirs;
  for (const auto& git_dir : top_git_dirs) find_module_dirs(root, git_dir, scan.git_dirs);
  sort_unique(scan.work_trees);
  sort_unique(scan.git_dirs);

  const auto look = [&](const std::string& relative) { scan.entries[relative] = kind_at(root / relative); };
  for (const auto& tree : scan.work_trees) {
    look(join(tree, ".git"));
    for (const auto& name : default_protected_names()) look(join(tree, name));
  }
  for (const auto& extra : policy.extra) look(extra);
  for (const auto& git_dir : scan.git_dirs) {
    look(git_dir);
    for (const auto& name : git_dir_protected_names()) look(join(git_dir, name));
  }
  return scan;
}

std::vector<GuardPath> plan_protection(const WorkspaceScan& scan, const ProtectionPolicy& policy) {
  std::map<std::string, bool> read_only;  // path -> read-only (else only a mount point)
  const auto kind_of = [&](const std::string& relative) {
    const auto it = scan.entries.find(relative);
    return it == scan.entries.end() ? EntryKind::missing : it->second;
  };
  const auto protect = [&](const std::string& relative, bool ro) {
    switch (kind_of(relative)) {
      case EntryKind::missing: return;
      case EntryKind::file:
      case EntryKind::directory: break;
      case EntryKind::symlink:
        throw Error(ErrorKind::isolation,
                    fmt::format("workspace: {} is a symlink, and bottle cannot protect a symlink (replace it with "
                                "the file or directory itself, or name it in unsafe_unprotected_paths)",
                                relative));
      case EntryKind::other:
        throw Error(ErrorKind::isolation,
                    fmt::format("workspace: {} is neither a file nor a directory; bottle cannot protect it", relative));
    }
    auto [it, inserted] = read_only.emplace(relative, ro);
    if (!inserted) it->second = it->second || ro;
  };

  for (const auto& tree : scan.work_trees) {
    for (const auto& name : default_protected_names())
      if (!unprotected(policy, name)) protect(join(tree, name), true);
    // A `.git` file (submodule, linked worktree) says where the git directory is;
    // a `.git` directory that is no git directory is a placeholder.
    const std::string dot_git = join(tree, ".git");
    if (std::find(scan.git_dirs.begin(), scan.git_dirs.end(), dot_git) == scan.git_dirs.end()) protect(dot_git, true);
  }
  for (const auto& extra : policy.extra) protect(extra, true);
  for (const auto& git_dir : scan.git_dirs) {
    if (!git_dir.empty()) protect(git_dir, false);
    for (const auto& name : git_dir_protected_names())
      if (!unprotected(policy, ".git/" + name)) protect(join(git_dir, name), true);
  }

  // Every directory on the way to a protected path becomes a mount point too:
  // renaming a parent would otherwise carry the mounts away and free the name.
  std::vector<std::string> paths;
  paths.reserve(read_only.size());
  for (const auto& [path, ro] : read_only) paths.push_back(path);
  for (const auto& path : paths)
    for (std::string up = parent_of(path); !up.empty(); up = parent_of(up)) read_only.emplace(up, false);

  std::vector<GuardPath> plan;
  for (const auto& entry : read_only) {
    // Below a read-only directory everything is read-only already, and a writable
    // mount there would undo it. (No structured binding: clang 14 cannot capture one.)
    const std::string& path = entry.first;
    const bool covered = std::any_of(read_only.begin(), read_only.end(),
                                     [&](const auto& other) { return other.second && is_below(path, other.first); });
    if (!covered) plan.push_back({path, entry.second});
  }
  std::stable_sort(plan.begin(), plan.end(),
                   [](const GuardPath& a, const GuardPath& b) { return depth(a.relative) < depth(b.relative); });
  return plan;
}

std::vector<std::string> make_placeholders(const BottleSpec& spec) {
  std::vector<std::string> made;
  const auto fail = [](const fs::path& path, const std::string& why) {
    throw Error(ErrorKind::isolation, fmt::format("workspace: cannot create {} to protect it: {}", path.string(), why));
  };
  for (const auto& workspace : spec.workspaces) {
    if (workspace.read_only) continue;
    const fs::path root(workspace.host);
    for (const auto& name : placeholder_directories()) {
      const fs::path path = root / name;
      if (kind_at(path) != EntryKind::missing) continue;
      std::error_code ec;
      if (!fs::create_directory(path, ec) || ec) fail(path, ec ? ec.message() : "it appeared meanwhile");
      made.push_back(path.string());
    }
    const ProtectionPolicy policy = protection_policy(spec);
    for (const auto& git_dir : scan_workspace(root, policy).git_dirs) {
      const fs::path path = root / git_dir / "commondir";
      if (kind_at(path) != EntryKind::missing) continue;
      // O_EXCL: never write through something that appeared meanwhile.
      std::FILE* file = std::fopen(path.c_str(), "wx");
      if (file == nullptr) fail(path, std::strerror(errno));
      const bool written = std::fputs(std::string(commondir_placeholder).c_str(), file) >= 0;
      if (std::fclose(file) != 0 || !written) fail(path, "write failed");
      made.push_back(path.string());
    }
  }
  return made;
}

void remove_placeholders(const std::vector<std::string>& paths) noexcept {
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    const fs::path path(*it);
    std::error_code ec;
    if (path.filename() == "commondir") {
      std::ifstream in(path);
      std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (kind_at(path) == EntryKind::file && content == commondir_placeholder) fs::remove(path, ec);
    } else if (kind_at(path) == EntryKind::directory && fs::is_empty(path, ec) && !ec) {
      fs::remove(path, ec);
    }
  }
}

std::vector<GuardMount> guard_mounts(const BottleSpec& spec) {
  const ProtectionPolicy policy = protection_policy(spec);
  std::vector<GuardMount> mounts;
  for (const auto& workspace : spec.workspaces) {
    if (workspace.read_only) continue;  // nothing in it can change
    const auto plan = plan_protection(scan_workspace(workspace.host, policy), policy);
    for (const auto& guarded : plan) {
      GuardMount mount{.host = workspace.host + "/" + guarded.relative,
                       .guest = workspace.guest + "/" + guarded.relative,
                       .read_only = guarded.read_only};
      for (const std::string* path : {&mount.host, &mount.guest})
        if (const auto problem = path_problem(*path))
          throw Error(ErrorKind::isolation,
                      fmt::format("workspace: cannot protect {}: the path {}", guarded.relative, *problem));
      mounts.push_back(std::move(mount));
    }
  }
  return mounts;
}

std::string render_protection(const BottleSpec& spec) {
  const auto list = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : " ") + name;
    return text.empty() ? std::string("(none)") : text;
  };
  std::string text = fmt::format(
      "read-only at the root of each writable workspace and of every git work tree in it:\n  {}\n"
      "read-only in every git directory (.git, submodules' .git/modules/*, bare repositories):\n  {}\n"
      "a `.git` file (gitdir: pointer) is read-only; git directories, and every directory on the way\n"
      "to a protected path, cannot be renamed or removed\n"
      "added by this spec (protected_paths): {}\n"
      "left writable by this spec (unsafe_unprotected_paths): {}\n",
      list(default_protected_names()), list(git_dir_protected_names()), list(spec.protected_paths),
      list(spec.unsafe_unprotected_paths));
  for (const auto& workspace : spec.workspaces) {
    if (workspace.read_only) {
      text += fmt::format("{}: read-only workspace, nothing in it can change\n", workspace.host);
      continue;
    }
    const ProtectionPolicy policy = protection_policy(spec);
    text += fmt::format("{}:\n", workspace.host);
    for (const auto& guarded : plan_protection(scan_workspace(workspace.host, policy), policy))
      text += fmt::format("  {} {}\n", guarded.read_only ? "read-only " : "immovable ", guarded.relative);
  }
  return text;
}

std::set<std::string> mount_points(std::string_view mountinfo) {
  std::set<std::string> points;
  std::size_t start = 0;
  while (start < mountinfo.size()) {
    auto end = mountinfo.find('\n', start);
    if (end == std::string_view::npos) end = mountinfo.size();
    const std::string_view line = mountinfo.substr(start, end - start);
    start = end + 1;
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": field 5.
    std::size_t field_start = 0;
    for (int field = 0; field < 4 && field_start != std::string_view::npos; ++field) {
      field_start = line.find(' ', field_start);
      if (field_start != std::string_view::npos) ++field_start;
    }
    if (field_start == std::string_view::npos) continue;
    const std::string_view raw = line.substr(field_start, line.find(' ', field_start) - field_start);
    std::string point;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const bool octal = raw[i] == '\\' && i + 3 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '3';
      if (octal) {
        point += static_cast<char>((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
        i += 3;
      } else {
        point += raw[i];
      }
    }
    points.insert(point);
  }
  return points;
}

std::string guest_protection_script(const std::vector<GuardMount>& mounts) {
  // Checked again in the guest: the agent may have swapped a path for a symlink
  // since the host looked, and a bind would then follow it.
  std::string script =
      "set -eu\n"
      "at() { if [ -L \"$1\" ] || [ ! -e \"$1\" ]; then echo \"bottle: cannot protect $1\" >&2; exit 6; fi\n"
      "  mount --bind \"$1\" \"$1\"; }\n"
      "ro() { at \"$1\"; mount -o remount,bind,ro \"$1\"; }\n";
  for (const auto& mount : mounts)
    script += fmt::format("{} {}\n", mount.read_only ? "ro" : "at", shell_quote(mount.guest));
  return script;
}

}  // namespace bottle
