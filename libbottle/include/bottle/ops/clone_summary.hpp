#pragma once
// A clone-mode bottle at a glance, for the dashboard: its branch, how far the agent
// got past the base, and whether anything would be lost if it were removed now
// (uncommitted paths, commits the host has not fetched). Reading it means an exec
// into the running bottle, so callers do it rarely (the dashboard worker: every
// clone_summary_interval, and after a fetch).

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "bottle/backends/backend.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/spec/spec.hpp"
#include "bottle/workspace/clone_repo.hpp"

namespace bottle {

struct CloneSummary {
  enum class Read {
    not_read,  ///< the bottle is not running (or was not looked at yet): only the branch is known
    ok,        ///< ahead, dirty and unfetched hold what the bottle reported
    failed,    ///< the read failed (exec error, deadline, malformed output)
  };
  std::string branch;  ///< the spec's branch (RepoSpec::branch)
  Read read = Read::not_read;
  std::size_t ahead = 0;      ///< commits on `branch` not in the base (0 when the clone lacks the branch)
  std::size_t dirty = 0;      ///< uncommitted paths in the clone
  std::size_t unfetched = 0;  ///< branches with commits the host has not fetched (unfetched_branches)
  bool operator==(const CloneSummary&) const = default;
};

/// How often the dashboard worker reads a running bottle's clone.
inline constexpr std::chrono::seconds clone_summary_interval{10};

/// The summary of a clone whose state is `status`, with `fetched` the host's
/// refs/bottles/NAME/* (fetched_refs). Pure.
CloneSummary summarize_clone(const RepoSpec& repo, const CloneStatus& status,
                             const std::map<std::string, std::string>& fetched);

/// Read the running bottle's clone (read_clone_status, an exec under the engine's
/// deadline) and the host's fetched refs, and summarize them. Never throws for a
/// failed read: that is Read::failed. `spec` must be in clone mode.
CloneSummary read_clone_summary(Runner& runner, Backend& backend, const BottleSpec& spec);

}  // namespace bottle
