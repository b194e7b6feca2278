#pragma once
// Workspace protection: the paths of a shared workspace that host programs load as
// configuration or execute (git config and hooks, agent and editor project
// settings, direnv, ...) are made read-only and immovable inside the bottle.
//
// Three steps, kept apart so the middle one is pure:
//   scan_workspace()     reads the host directory: which protected paths exist,
//                        where the git work trees and git directories are;
//   plan_protection()    turns that into mounts: a read-only bind of each protected
//                        path over itself, and a read-write bind of each directory
//                        on the way to one (a mount point cannot be renamed or
//                        removed, so `mv .git .git-old` and friends fail with EBUSY);
//   guard_mounts()       places the plan at the workspace's host and guest paths.
// Docker applies the mounts at `docker create`; smolmachines applies them inside
// the guest at every start (guest_protection_script), where the agent user cannot
// undo them. SECURITY.md lists every vector and the test that covers it.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bottle/spec/spec.hpp"

namespace bottle {

/// Names protected at the workspace root and at the root of every git work tree in
/// it (relative paths; a directory protects everything below it). `.git` itself is
/// handled by the git-directory rules.
const std::vector<std::string>& default_protected_names();

/// Inside every git directory: what is read-only (when it exists). The directory
/// itself, and the modules/ of submodules, stay writable for ordinary git work.
const std::vector<std::string>& git_dir_protected_names();

enum class EntryKind { missing, file, directory, symlink, other };

/// What scan_workspace() found. Paths are relative to the workspace root, '/'
/// separated, "" for the root itself.
struct WorkspaceScan {
  std::vector<std::string> work_trees;  ///< "" when the root is one; "sub/nested", ...
  std::vector<std::string> git_dirs;    ///< ".git", ".git/modules/sm", "x.git", ...
  /// Every candidate path that was looked at, with what it is.
  std::map<std::string, EntryKind> entries;
  bool operator==(const WorkspaceScan&) const = default;
};

/// One protected path: a bind mount of the path over itself.
struct GuardPath {
  std::string relative;   ///< relative to the workspace root
  bool read_only = true;  ///< false: only made a mount point (immovable, still writable)
  bool operator==(const GuardPath&) const = default;
};

/// Directories made (empty) at a writable workspace's root when they are missing,
/// so that they exist to be protected: a mount can only cover a name that exists,
/// and these are the ones whose creation alone would be an escape (agent and editor
/// settings; `.git` where the workspace is not a repository, which is how `git init`
/// inside the bottle is refused). Empty directories are invisible to git.
const std::vector<std::string>& placeholder_directories();

/// The content of the `commondir` file put in every git directory that has none.
/// "." names the git directory itself, which is what git assumes without the file,
/// so git behaves exactly as before; but read-only, it cannot be rewritten to point
/// git at a configuration the agent wrote.
inline constexpr std::string_view commondir_placeholder = ".\n";

/// Create the missing placeholders in the writable workspaces of `spec` (the
/// directories above, and `commondir` in each git directory). Returns the paths
/// it created, for remove_placeholders(). Throws Error(isolation) naming the path
/// when one cannot be created.
std::vector<std::string> make_placeholders(const BottleSpec& spec);

/// Remove placeholders made by make_placeholders() that are still exactly what was
/// made (an empty directory, a commondir of "."); anything else is left alone.
void remove_placeholders(const std::vector<std::string>& paths) noexcept;

/// What the user said about protection in the spec.
struct ProtectionPolicy {
  std::vector<std::string> extra;        ///< spec.protected_paths
  std::vector<std::string> unprotected;  ///< spec.unsafe_unprotected_paths
};
ProtectionPolicy protection_policy(const BottleSpec& spec);

/// Read the workspace at `root`: the work trees and git directories in it (a walk
/// that does not follow symlinks nor enter git directories), and the kind of every
/// candidate path of the policy. Throws Error(io) when `root` cannot be read.
WorkspaceScan scan_workspace(const std::filesystem::path& root, const ProtectionPolicy& policy);

/// The protected paths for a scan, shallowest first, each once. Pure. Throws
/// Error(isolation) naming the path when one cannot be protected (a symlink, or
/// something that is neither a file nor a directory).
std::vector<GuardPath> plan_protection(const WorkspaceScan& scan, const ProtectionPolicy& policy);

/// A protected path placed at a workspace's host and guest paths.
struct GuardMount {
  std::string host;
  std::string guest;
  bool read_only = true;
  bool operator==(const GuardMount&) const = default;
};

/// Every mount of a bottle's workspace protection: scan and plan each writable
/// workspace (read-only ones need nothing). Throws Error(isolation) naming the path
/// when something cannot be protected, or when a mount path could not travel to the
/// engine (path_problem()).
std::vector<GuardMount> guard_mounts(const BottleSpec& spec);

/// What `config show --protected` prints: the rules, the spec's additions and
/// removals, and for each writable workspace the paths protected in it today.
std::string render_protection(const BottleSpec& spec);

/// The mount points listed in /proc/self/mountinfo text (octal escapes decoded).
std::set<std::string> mount_points(std::string_view mountinfo);

/// The shell script (run as root in a guest that can mount, i.e. a VM) that applies
/// `mounts` by their guest paths, failing on the first one it cannot apply. Pure.
std::string guest_protection_script(const std::vector<GuardMount>& mounts);

}  // namespace bottle
