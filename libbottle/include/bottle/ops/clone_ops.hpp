#pragma once
// Clone mode, the operations: check the host repository, fill the bottle's clone,
// read its state, and bring the agent's commits back through the bundle gate
// (workspace/clone_repo.hpp has the argvs and scripts, and says what host git may
// read). Bottles calls these at create, start and rm; the CLI at fetch and diff.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/workspace/clone_repo.hpp"

namespace bottle {

/// Check the host repository of `spec.repo` and fill in what the spec left out:
/// branch (default_clone_branch), base (HEAD) as a commit id. Error(invalid_input)
/// naming $.repo.path when it is not the top of a git work tree or is a bare
/// repository, $.repo.base when the base is no commit. A work tree with
/// uncommitted changes is fine: `warn` says they are not in the clone.
RepoSpec resolve_clone_repo(Runner& runner, const BottleSpec& spec,
                            const std::function<void(const std::string&)>& warn);

/// The absolute git directory of the host repository at `path`.
std::string host_git_dir(Runner& runner, const std::string& path);

/// Provisioning: at the bottle's first start, clone the host repository into its
/// clone volume (Docker) or onto the VM's disk (smolmachines) (a bundle made on the
/// host, sent in on exec stdin, cloned inside as the agent user) and
/// check out the branch at the base. Later starts find the marker and do nothing.
void populate_clone(Runner& runner, Backend& backend, const BottleSpec& spec, const StateDirs& dirs);

/// The clone's state, read inside the running bottle.
CloneStatus read_clone_status(Runner& runner, Backend& backend, const BottleSpec& spec);
/// What the host has fetched from this bottle: branch -> commit id.
std::map<std::string, std::string> fetched_refs(Runner& runner, const BottleSpec& spec);

/// Verify a bundle file and fetch its branches to refs/bottles/NAME/* in the host
/// repository whose git directory is `git_dir`. A bundle that fails `git bundle
/// verify` or carries anything but branches is refused (Error(isolation)) and the
/// repository is not changed. Returns the (id, ref) pairs it fetched.
std::vector<std::pair<std::string, std::string>> import_bundle(Runner& runner, const std::string& git_dir,
                                                               const std::filesystem::path& bundle,
                                                               std::string_view bottle_name);

struct FetchOptions {
  std::string into;  ///< a new host branch at the agent's branch; empty: none
  bool include_uncommitted = false;
};
struct FetchReport {
  std::vector<CloneBranch> fetched;  ///< branches ahead of the base, now on the host
  std::size_t uncommitted = 0;       ///< uncommitted paths left in the bottle
  bool wip_committed = false;        ///< --include-uncommitted made a WIP commit
};
/// `bottle-cli fetch`: bring every branch of the running bottle that is ahead of
/// its base to refs/bottles/NAME/*. The user's branches never move; `into` creates
/// a new one (Error(conflict) when it exists, checked before anything is fetched).
FetchReport fetch_clone(Runner& runner, Backend& backend, const BottleSpec& spec, const StateDirs& dirs,
                        const FetchOptions& options);
/// "" when fetch_clone has nothing to say; else its report as lines.
std::string describe_fetch(const BottleSpec& spec, const FetchReport& report);

/// The diff of the agent's branch (as last fetched) against its base, computed on
/// the host from the fetched refs. Error(not_found) when nothing was fetched yet.
std::string clone_diff(Runner& runner, const BottleSpec& spec);

/// What removing the bottle would lose (describe_unfetched_work), "" when nothing.
/// Reads the clone in the running bottle.
std::string clone_unfetched_work(Runner& runner, Backend& backend, const BottleSpec& spec);

}  // namespace bottle
