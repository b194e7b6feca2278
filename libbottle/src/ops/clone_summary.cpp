#include "bottle/ops/clone_summary.hpp"

#include <exception>

#include "bottle/ops/clone_ops.hpp"

namespace bottle {

CloneSummary summarize_clone(const RepoSpec& repo, const CloneStatus& status,
                             const std::map<std::string, std::string>& fetched) {
  CloneSummary summary{.branch = repo.branch, .read = CloneSummary::Read::ok, .dirty = status.dirty};
  for (const auto& branch : status.branches)
    if (branch.name == repo.branch) summary.ahead = branch.ahead;
  summary.unfetched = unfetched_branches(status, fetched).size();
  return summary;
}

// A bottle whose clone cannot be read (hung exec, agent broke .git, image without
// git) must cost its own cell, not the dashboard's refresh: every failure is
// Read::failed.
CloneSummary read_clone_summary(Runner& runner, Backend& backend, const BottleSpec& spec) {
  CloneSummary failed{.branch = spec.repo ? spec.repo->branch : std::string(), .read = CloneSummary::Read::failed};
  if (!spec.repo) return failed;
  try {
    const CloneStatus status = read_clone_status(runner, backend, spec);
    return summarize_clone(*spec.repo, status, fetched_refs(runner, spec));
  } catch (const std::exception&) { return failed; }
}

}  // namespace bottle
