#pragma once
// The workspace sentinel: what mounts cannot prevent, made harmless as it happens.
//
// A mount covers a name that exists; a repository the agent creates in a
// subdirectory (`git init sub`, a `.git` file, a bare-layout directory) is a new
// name, and host git run inside that subdirectory would load its configuration.
// While a bottle runs, a host process (`bottle-cli guard NAME`, supervised like
// pipelock) watches each writable workspace with inotify and quarantines every new
// repository the moment it appears: the entry is renamed to
// "<name>.quarantined-by-bottle-<n>" and its mode set to 0, so host git can neither
// find nor read it. Each quarantine is one JSON line in the bottle's state
// (sentinel_events_file), which stop, attach, check and the dashboard report.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bottle {

/// Where a bottle's sentinel records what it quarantined.
inline constexpr std::string_view sentinel_events_file = "workspace-events.jsonl";
/// What a quarantined entry's new name contains.
inline constexpr std::string_view quarantine_marker = ".quarantined-by-bottle-";

struct SentinelEvent {
  std::string path;         ///< the new repository, relative to its workspace
  std::string quarantined;  ///< what it was renamed to (relative), "" when that failed
  bool operator==(const SentinelEvent&) const = default;
};

class WorkspaceSentinel {
 public:
  /// `roots`: the workspaces' host directories. `allowed`: absolute paths of the
  /// repositories (`.git` entries and git directories) that existed at start and are
  /// protected by mounts. `on_event` is called for each quarantine.
  WorkspaceSentinel(std::vector<std::filesystem::path> roots, std::set<std::string> allowed,
                    std::function<void(const SentinelEvent&)> on_event);
  ~WorkspaceSentinel();
  WorkspaceSentinel(const WorkspaceSentinel&) = delete;
  WorkspaceSentinel& operator=(const WorkspaceSentinel&) = delete;

  /// Watch every directory below the roots and quarantine what is there already
  /// but not allowed. Throws Error(isolation) when inotify cannot be set up at all.
  /// Returns how many directories could not be watched (the watch limit).
  std::size_t arm();
  /// Handle events until `stop` is set (checked at least every `tick_ms`) or
  /// `keep_going` returns false.
  void run(const std::atomic<bool>& stop, const std::function<bool()>& keep_going, int tick_ms = 250);

 private:
  void watch_tree(const std::filesystem::path& dir);
  void examine(const std::filesystem::path& path);
  void quarantine(const std::filesystem::path& path);
  std::string relative(const std::filesystem::path& path) const;

  std::vector<std::filesystem::path> roots_;
  std::set<std::string> allowed_;
  std::function<void(const SentinelEvent&)> on_event_;
  int fd_ = -1;
  std::map<int, std::filesystem::path> watches_;
  std::size_t unwatched_ = 0;
  unsigned counter_ = 0;
};

/// Append one event to a bottle's events file (JSON lines, 0600). Throws Error(io).
void append_sentinel_event(const std::filesystem::path& file, const SentinelEvent& event);
/// The events recorded so far; none when the file does not exist. Throws Error(io)
/// on a malformed file.
std::vector<SentinelEvent> read_sentinel_events(const std::filesystem::path& file);

/// True when git would take `path` for a repository or git directory: a `.git`
/// entry (directory or file), or a directory with HEAD, objects/ and refs/.
bool is_repository_entry(const std::filesystem::path& path);

}  // namespace bottle
