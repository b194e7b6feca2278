#pragma once
// Clone mode, the pure part: names, validation, the hardened host git argvs, the
// scripts run inside the bottle, and the parsers of what they print. Nothing here
// runs anything (ops/clone_ops.hpp does).
//
// The boundary: host git only ever reads the user's own repository and bundle
// files (pack data plus a list of refs). It never opens the bottle's clone, so no
// config, hook, attribute or work-tree file the agent wrote is read on the host.
// Everything that touches the clone runs inside the bottle, as the agent user.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/spec/spec.hpp"

namespace bottle {

using Argv = std::vector<std::string>;

/// Where the clone is inside the bottle.
inline constexpr std::string_view clone_guest_path = "/workspace";
/// The ref namespace fetched branches land in on the host: refs/bottles/NAME/BRANCH.
inline constexpr std::string_view fetched_ref_prefix = "refs/bottles/";

/// "bottle/NAME": the agent's branch when the spec names none.
std::string default_clone_branch(std::string_view bottle_name);
/// The Docker volume that holds a bottle's clone: "bottle-NAME-repo".
std::string clone_volume_name(std::string_view bottle_name);

/// What is wrong with `name` as a branch name; nullopt when fine. Stricter than
/// git check-ref-format: 1-200 of [A-Za-z0-9._/-], no leading '-' or '/', no "..",
/// "//", "@{", no component starting with '.' or ending with ".lock", no trailing
/// '/' or '.'. Every branch bottle puts in an argv or a ref passes this.
std::optional<std::string> branch_name_problem(std::string_view name);
void validate_branch_name(std::string_view name, std::string_view field);
/// A revision as the user gives it (--base): 1-200 printable ASCII characters
/// without spaces, not starting with '-'. git resolves it at create.
void validate_revision(std::string_view rev, std::string_view field);
/// A full commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
bool is_commit_id(std::string_view text);
/// Spec-level checks of $.repo (called by validate_spec): path, branch, base,
/// backend, and no workspace mounted where the clone goes.
void validate_repo_spec(const BottleSpec& spec);

/// The environment every host git call runs in (with EnvPolicy::clean): no system
/// or global config, no prompts, no replace refs, C locale, GIT_DIR fixed so git
/// never discovers a repository by walking directories.
std::map<std::string, std::string> host_git_env(const std::string& git_dir);
/// `git -c ...hardening... ARGS`: hooks off (core.hooksPath=/dev/null), fsmonitor
/// off, every transport but file/bundle refused, fsck of received objects, no
/// submodule recursion, no pager, no external diff or textconv.
Argv host_git_argv(const std::vector<std::string>& args);

/// host_git_env() without GIT_DIR, for the probe of a path the user gave:
/// discovery may not walk above `path` (GIT_CEILING_DIRECTORIES is its parent).
std::map<std::string, std::string> host_git_probe_env(const std::string& path);
/// Host: "true|false" (bare?), then the absolute git dir of `path`, run with
/// host_git_probe_env(path). A bare repository is refused by
/// safe.bareRepository=explicit (the caller tells it from "not a repository").
Argv host_repo_probe_argv(const std::string& path);
/// Host: the top of the work tree `path` is in.
Argv host_toplevel_argv(const std::string& path);
/// Host: the commit `rev` names (rev-parse --verify --end-of-options REV^{commit}).
Argv host_resolve_argv(const std::string& rev);
/// Host: whether the work tree has uncommitted changes (status --porcelain).
Argv host_status_argv(const std::string& work_tree);
/// Host: a bundle of the user's branches, tags and HEAD, written to `file`.
Argv host_bundle_create_argv(const std::string& file);
/// Host: verify a bundle from a bottle against the repository (prerequisites present).
Argv host_bundle_verify_argv(const std::string& file);
/// Host: an empty bare repository at `dir` (no templates) to try a bundle in first:
/// `git bundle verify` checks only the header, so the pack is indexed there, with
/// the user's objects as alternates, before the user's repository sees it.
Argv host_quarantine_init_argv(const std::string& dir);
/// Host: the refs a bundle carries ("<id> <ref>" lines).
Argv host_bundle_heads_argv(const std::string& file);
/// Host: fetch every branch in the bundle to refs/bottles/NAME/*, forced (the
/// agent may rebase), never touching refs/heads.
Argv host_fetch_argv(const std::string& file, std::string_view bottle_name);
/// Host: the fetched refs of a bottle ("<ref> <id>" lines).
Argv host_fetched_refs_argv(std::string_view bottle_name);
/// Host: a new local branch `branch` at `start` (fails when it exists).
Argv host_branch_argv(const std::string& branch, const std::string& start);
/// Host: the diff from `base` to `ref`, with no external program.
Argv host_diff_argv(const std::string& base, const std::string& ref);

/// Guest (root): make the empty clone volume the agent user's. $1: user.
std::string guest_clone_prepare_script();
/// Guest (agent user): read a bundle on stdin, clone it into the workspace with no
/// hooks, keep the host's branches as host/*, check out $1 (branch) at $2 (base)
/// as the only local branch,
/// set a committer identity for $3 (bottle name).
std::string guest_clone_script();
/// The end every clone script shares, run in /workspace once the clone exists: a
/// committer identity for $3 (bottle name), then $1 (branch) at $2 (base) as the only
/// local branch.
std::string guest_clone_finish_script();
/// Guest (agent user): print "dirty N" and one "branch NAME ID AHEAD" per local
/// branch (AHEAD: commits not in $1, the base).
std::string guest_status_script();
/// Guest (agent user): commit everything uncommitted as a WIP commit (no hooks).
std::string guest_wip_script();
/// Guest (agent user): write a bundle of the refs in "$@" (refs/heads/..., then
/// ^BASE) to stdout.
std::string guest_bundle_script();

struct CloneBranch {
  std::string name;
  std::string commit;
  std::size_t ahead = 0;  ///< commits not in the base
  bool operator==(const CloneBranch&) const = default;
};
struct CloneStatus {
  std::size_t dirty = 0;  ///< uncommitted paths (modified, staged or untracked)
  std::vector<CloneBranch> branches;
  bool operator==(const CloneStatus&) const = default;
};
/// Parse guest_status_script()'s output. It comes from the bottle: anything that is
/// not exactly the expected lines (a branch name branch_name_problem() rejects, an
/// id that is not a commit id) is Error(backend).
CloneStatus parse_clone_status(std::string_view output);

/// Parse `git bundle list-heads`: (id, ref) pairs. Error(isolation) unless every
/// ref is refs/heads/<branch name> with a commit id: a bundle carrying anything
/// else is refused.
std::vector<std::pair<std::string, std::string>> parse_bundle_heads(std::string_view output);
/// Parse host_fetched_refs_argv()'s output into branch -> id.
std::map<std::string, std::string> parse_fetched_refs(std::string_view output, std::string_view bottle_name);

/// Branches ahead of the base whose tip is not what the host fetched last.
std::vector<CloneBranch> unfetched_branches(const CloneStatus& status,
                                            const std::map<std::string, std::string>& fetched);
/// "3 uncommitted paths; branch bottle/x: 2 commits not fetched", or "" when
/// nothing would be lost.
std::string describe_unfetched_work(const CloneStatus& status, const std::vector<CloneBranch>& unfetched);

}  // namespace bottle
