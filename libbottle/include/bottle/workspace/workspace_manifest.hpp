#pragma once
// Detection, next to workspace_guard's prevention: a fingerprint of every path of a
// workspace that protection is about, taken when a bottle starts and compared
// later (at stop, when attach returns, in the dashboard, by `check --workspace`).
// It reports what mounts cannot prevent: names created where nothing existed (a
// new nested repository, `.git/commondir`, a `.claude/` that was missing) and
// changes made while a protection was detached (a host program replaced the file).

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bottle/spec/spec.hpp"
#include "bottle/workspace/workspace_guard.hpp"

namespace bottle {

/// path relative to the workspace -> fingerprint ("dir", "file <sha256> <mode>",
/// "symlink <target>", ...). Content never leaves the fingerprint.
using WorkspaceFingerprints = std::map<std::string, std::string>;

/// One workspace's fingerprints, keyed by its host path.
struct WorkspaceManifest {
  std::map<std::string, WorkspaceFingerprints> workspaces;
  bool operator==(const WorkspaceManifest&) const = default;
};

/// Fingerprint the scan's candidate paths (and everything below those that are
/// directories, git directories' object stores excepted) under `root`.
WorkspaceFingerprints fingerprint_workspace(const std::filesystem::path& root, const WorkspaceScan& scan);

/// The manifest of every writable workspace of `spec`.
WorkspaceManifest take_manifest(const BottleSpec& spec);

struct WorkspaceChange {
  std::string path;    ///< relative to its workspace (prefixed with the workspace when there are several)
  std::string change;  ///< "created", "modified", "removed" or "replaced" (its kind changed)
  bool operator==(const WorkspaceChange&) const = default;
};

/// What differs between two manifests, sorted by path. Pure.
std::vector<WorkspaceChange> compare_manifests(const WorkspaceManifest& before, const WorkspaceManifest& after);

/// "workspace: PATH: CHANGE" (PATH with control characters escaped).
std::string format_change(const WorkspaceChange& change);

/// JSON codec for the state file. parse throws Error(io) on a malformed file.
std::string manifest_to_json(const WorkspaceManifest& manifest);
WorkspaceManifest manifest_from_json(std::string_view text);

}  // namespace bottle
