// The workspace must not be a way out of the bottle (issue 12).
//
// A real Docker bottle, and the same on real Podman (each test runs on both
// engines; image bottle-test-git:latest: the agent has a real git), shares a host
// workspace owned by uid 1000, the same uid as the bottle's `node` user. From inside, as the agent, the tests plant
// every vector of reference/workspace-threats.md §6; each planted program would touch its own marker file in
// /tmp/bottle-escape-<pid>-<variant>/ on the host. Then real host git runs as the workspace owner (setpriv, not root, a
// clean environment) in the repository and in every directory with a repository of its own. A marker on the host proves
// planted code ran outside the bottle: the host's /tmp is not mounted in the bottle, and the tests check that the
// bottle cannot create a marker itself, and that the host side does see a marker when a vector runs.
//
// The rig also checks that ordinary agent work (edit, add, commit, branch,
// checkout, stash, rebase) still works and reaches the host repository, and what
// the CLI reports (`check NAME --workspace`, `stop`): see namespace `contract`.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_harness.hpp"
#include "host_git.hpp"
#include "podman_harness.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* git_image = "bottle-test-git:latest";

// ---------------------------------------------------------------------------
// The CLI contract for workspace protection. Everything that depends on how
// bottle-cli reports or refuses is here, so it is adjusted in one place.
// ---------------------------------------------------------------------------
namespace contract {

/// `check NAME --workspace`: exit 0 when nothing changed, 6 when something did.
constexpr int check_clean_exit = 0;
constexpr int check_changed_exit = 6;
/// One stdout line per change: "workspace: <relative path>: <change>".
constexpr const char* line_prefix = "workspace: ";
/// `stop NAME` prints the same lines on stderr with one of these prefixes, and
/// exits 0. (The brief said "bottle: warning: "; the CLI's other warnings say
/// "bottle-cli: warning: ".)
const std::vector<std::string> stop_prefixes = {"bottle: warning: ", "bottle-cli: warning: "};
/// A repository the agent makes while the bottle runs is renamed by bottle's
/// sentinel to "<name><marker><n>" (and made unreadable), and reported under its
/// original name.
constexpr const char* quarantine_marker = ".quarantined-by-bottle-";
/// A protected path that cannot be protected: create/start fail with this exit.
constexpr int unprotectable_exit = 6;

/// A change to a path with one of these components must be reported by `check`
/// when the bottle did not prevent it (the list of issue 12). Changes that
/// ordinary git work makes under .git (objects, refs, logs, the index) are not
/// asked for: see `ordinary_git_state`.
const std::vector<std::string> protected_components = {".git",   ".gitmodules", ".claude", ".mcp.json",
                                                       ".codex", ".vscode",     ".idea",   ".envrc"};
inline bool ordinary_git_state(const std::string& rel) {
  // Below a .git (also .git/worktrees/<id>, .git/modules/<name>): what commit,
  // checkout, merge, rebase and fetch write.
  static const std::vector<std::string> dirs = {"objects", "refs", "logs", "rebase-merge", "rebase-apply"};
  static const std::vector<std::string> files = {"index",          "HEAD",        "ORIG_HEAD",  "FETCH_HEAD",
                                                 "COMMIT_EDITMSG", "packed-refs", "AUTO_MERGE", "MERGE_HEAD",
                                                 "MERGE_MSG",      "MERGE_MODE"};
  std::vector<std::string> parts;
  std::istringstream in(rel);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  bool in_git = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == ".git") {
      in_git = true;
      continue;
    }
    if (!in_git) continue;
    if (std::find(dirs.begin(), dirs.end(), parts[i]) != dirs.end() && i + 1 < parts.size()) return true;
    if (i + 1 == parts.size() && std::find(files.begin(), files.end(), parts[i]) != files.end()) return true;
  }
  return false;
}
inline bool is_protected(const std::string& rel) {
  if (ordinary_git_state(rel)) return false;
  std::istringstream parts(rel);
  std::string part;
  while (std::getline(parts, part, '/'))
    if (std::find(protected_components.begin(), protected_components.end(), part) != protected_components.end())
      return true;
  return false;
}

/// Files the user had before the bottle started, which the agent must not be able
/// to change (prevention; there is no host program in this rig that would load
/// them, so the content is the evidence).
const std::vector<std::string> existing_protected_files = {".claude/settings.json", ".mcp.json", ".codex/config.toml",
                                                           ".vscode/tasks.json",    ".envrc",    ".idea/misc.xml"};
/// Protected names the agent must not be able to create.
const std::vector<std::string> new_protected_files = {
    ".claude/settings.local.json", ".claude/commands/v.md", ".claude/agents/v.md",          ".claude/hooks/v.sh",
    ".codex/rules/v.rules",        ".vscode/settings.json", ".idea/runConfigurations/v.xml"};

struct Change {
  std::string path;
  std::string change;
};

/// The "workspace: <path>: <change>" lines of `text`, after stripping `prefix`.
inline std::vector<Change> parse_lines(const std::string& text, const std::string& prefix = {}) {
  std::vector<Change> out;
  std::istringstream lines(text);
  std::string line;
  const std::string head = prefix + line_prefix;
  while (std::getline(lines, line)) {
    if (line.rfind(head, 0) != 0) continue;
    const auto rest = line.substr(head.size());
    const auto colon = rest.rfind(": ");
    if (colon == std::string::npos) continue;
    out.push_back({rest.substr(0, colon), rest.substr(colon + 2)});
  }
  return out;
}

/// A reported path covers a changed one when it is the same, an ancestor (a
/// replaced `.git` covers everything under it) or a descendant.
inline bool covers(const std::vector<Change>& reported, const std::string& changed) {
  for (const auto& r : reported) {
    const std::string p = r.path.size() > 1 && r.path.back() == '/' ? r.path.substr(0, r.path.size() - 1) : r.path;
    if (p == changed || changed.rfind(p + "/", 0) == 0 || p.rfind(changed + "/", 0) == 0) return true;
  }
  return false;
}

}  // namespace contract

// ---------------------------------------------------------------------------
// The host side: a repository like a real user's, and host git run over it.
// ---------------------------------------------------------------------------

// Run as the owner with ROOT set: $ROOT/upstream (a plain repo outside the
// workspace) and $ROOT/repo (the workspace): agent and editor settings, husky
// files, nested repositories, two real submodules and two linked worktrees.
constexpr const char* setup_repo_script = R"SH(
set -eu
R=$ROOT/repo
git init -q -b main "$ROOT/upstream"
cd "$ROOT/upstream" && echo lib > lib.txt && git add . && git commit -qm upstream
git init -q -b main "$R" && cd "$R"
mkdir -p .claude .vscode .codex .idea .husky src
printf '{ "permissions": { "allow": ["Bash(npm test)"] } }\n' > .claude/settings.json
printf '{ "version": "2.0.0", "tasks": [] }\n' > .vscode/tasks.json
printf '{ "mcpServers": {} }\n' > .mcp.json
printf 'export NODE_ENV=development\n' > .envrc
printf 'model = "gpt-5"\n' > .codex/config.toml
printf '<project version="4"/>\n' > .idea/misc.xml
printf '#!/bin/sh\nnpm test\n' > .husky/pre-commit && chmod +x .husky/pre-commit
printf '# demo\n' > README.md
printf 'int main(void) { return 0; }\n' > src/main.c
git add -A && git commit -qm initial
# Nested repositories (vendored checkouts).
for d in sub/nested lib/inner; do
  git init -q -b main "$d" && (cd "$d" && echo "$d" > f.txt && git add . && git commit -qm "$d")
done
# A JS subproject whose hooks live in its work tree (husky style).
git init -q -b main web
(cd web && mkdir .husky && printf '#!/bin/sh\nexit 0\n' > .husky/pre-commit && chmod +x .husky/pre-commit &&
  echo '{}' > package.json && git config core.hooksPath .husky && git add -A && git commit -qm web)
# Real submodules: sm/.git is the file "gitdir: ../.git/modules/sm".
git -c protocol.file.allow=always submodule --quiet add "$ROOT/upstream" sm
git -c protocol.file.allow=always submodule --quiet add "$ROOT/upstream" sm2
git commit -qm submodules
# Linked worktrees inside the work tree (.git/worktrees/<id>/commondir).
git worktree add -q wt -b wtb
git worktree add -q wt2 -b wt2b
test "$(cat sm/.git)" = "gitdir: ../.git/modules/sm"
echo SETUP-OK
)SH";

// Host git over each directory given, as a user (or a prompt) would run it.
// Statuses are ignored: only the markers count. PAGER=cat keeps git from
// starting less on the pseudo-terminal when nothing is planted; a planted
// core.pager still wins over PAGER. `script` gives `git log -p` the terminal a
// pager needs. `git commit` without -m runs core.editor (there is no terminal
// and no EDITOR, so without a planted editor it just fails).
constexpr const char* host_git_script = R"SH(
t() { "$@" </dev/null >/dev/null 2>&1; echo "$? $*"; }
tt() { t timeout 20 "$@"; }
for d in "$@"; do
  cd "$R/$d" 2>/dev/null || continue
  echo "== $d"
  t git status
  t git diff
  tt script -qec 'git log -p -3' /dev/null
  if [ "$d" = . ]; then
    t git merge --ff-only vmerge
    tt script -qec 'git log -p -3' /dev/null
    t sh -c 'git add -- .gitattributes *.v*'
    t git diff --cached
    tt git commit --allow-empty
    tt git fetch vssh
    tt git fetch vup
    t git submodule update
  fi
  t git add -A
  t git commit -m host-commit
  t git checkout -b host-x
  t git commit --allow-empty -m host-x
  [ "$d" = . ] && t git checkout -
  # A marker made while git ran here is renamed <marker>@<dir>, so the report
  # names every directory where it ran (and it can appear again elsewhere).
  for f in "$M"/*; do
    case "$f" in *@*) ;; *) [ -e "$f" ] && mv "$f" "$f@$(printf %s "$d" | tr / :)" ;; esac
  done
done
true
)SH";

// ---------------------------------------------------------------------------
// The agent side: ordinary work, and the vectors.
// ---------------------------------------------------------------------------

constexpr const char* agent_identity =
    "export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@bottle.invalid "
    "GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@bottle.invalid\n";

// Ordinary agent work in /workspace. It also leaves what the host triggers use:
// a branch `vmerge` (the host fast-forwards to it: post-merge, smudge) with a
// .gitattributes that routes data files through diff/filter drivers that the
// vectors define later, and data.vt for `log -p` (textconv).
constexpr const char* ordinary_work_script = R"SH(
set -eu
echo 'agent line' >> README.md
git add README.md && git commit -qm 'agent: edit README'
git branch agent-b && git checkout -q agent-b
echo b > b.txt && git add b.txt && git commit -qm 'agent: add b.txt on agent-b'
git checkout -q main
echo 'int x;' >> src/main.c && git stash -q && git stash pop -q && git commit -qam 'agent: after stash'
git rebase -q main agent-b
git checkout -q main
git checkout -q -b vmerge
printf '*.vf filter=vfilter\n*.vt diff=vtext\n*.vinc filter=vinc\n*.vincif filter=vincif\n*.vwtc filter=vwtc\n' > .gitattributes
echo data > data.vf && echo text > data.vt
git add .gitattributes data.vf data.vt && git commit -qm 'agent: data files'
git checkout -q main
echo WORK-OK
)SH";

enum class Kind {
  host_git,      ///< host git runs it: a marker on the host is an escape
  agent_config,  ///< loaded by a host agent, editor or direnv: prevention/detection only
};

struct Vector {
  const char* name;  ///< the shell function v_<name> plants it; markers start with the name
  Kind kind;
  const char* plants;   ///< what it plants (for the report)
  const char* trigger;  ///< the host command that would run it
};

// The vectors of workspace-threats.md §6, in the order they are planted (the
// renames last: they carry what was planted before).
const std::vector<Vector> vectors = {
    {"cfg-fsmonitor", Kind::host_git, ".git/config core.fsmonitor", "git status/diff/add/commit"},
    {"cfg-pager", Kind::host_git, ".git/config core.pager", "git log -p on a terminal"},
    {"cfg-editor", Kind::host_git, ".git/config core.editor", "git commit without -m"},
    {"cfg-diff-external", Kind::host_git, ".git/config diff.external + an edit", "git diff"},
    {"cfg-filter", Kind::host_git, ".git/config filter.vfilter.clean/smudge (+ .gitattributes)",
     "git add (clean), git merge/checkout (smudge)"},
    {"cfg-textconv", Kind::host_git, ".git/config diff.vtext.textconv (+ .gitattributes)", "git log -p"},
    {"cfg-include", Kind::host_git, ".git/config include.path -> ../.vinc.cfg in the work tree", "git add"},
    {"cfg-includeif", Kind::host_git, ".git/config includeIf.gitdir:/.path -> ../.vincif.cfg", "git add"},
    {"cfg-sshcommand", Kind::host_git, ".git/config core.sshCommand + ssh remote", "git fetch vssh"},
    {"cfg-uploadpack", Kind::host_git, ".git/config remote.vup.uploadpack (local remote)", "git fetch vup"},
    {"cfg-gpg", Kind::host_git, ".git/config gpg.program (work-tree script) + commit.gpgSign", "git commit"},
    {"cfg-worktreeconfig", Kind::host_git, "extensions.worktreeConfig + .git/config.worktree", "git add"},
    {"hook-pre-commit", Kind::host_git, ".git/hooks/pre-commit", "git commit"},
    {"hook-post-checkout", Kind::host_git, ".git/hooks/post-checkout", "git checkout -b"},
    {"hook-post-merge", Kind::host_git, ".git/hooks/post-merge", "git merge"},
    {"hook-reference-transaction", Kind::host_git, ".git/hooks/reference-transaction", "git checkout -b, commit"},
    {"wt-commondir", Kind::host_git, ".git/worktrees/wt/commondir -> planted .vcommon", "git status in wt"},
    {"wt2-config-worktree", Kind::host_git, ".git/worktrees/wt2/config.worktree core.fsmonitor", "git status in wt2"},
    {"modules-config", Kind::host_git, ".git/modules/sm/config core.fsmonitor", "git status (root, sm)"},
    {"gitfile-redirect", Kind::host_git, "sm2/.git -> gitdir: ../.vevil (planted)", "git status (root, sm2)"},
    {"nested-fsmonitor", Kind::host_git, "sub/nested/.git/config core.fsmonitor", "git status in sub/nested"},
    {"nested-hookspath", Kind::host_git, "sub/nested/.git/config core.hooksPath -> work-tree .vhooks",
     "git commit/checkout in sub/nested"},
    {"nested-commondir", Kind::host_git, "lib/inner/.git/commondir -> planted .vcommon2", "git status in lib/inner"},
    {"husky-edit", Kind::host_git, "web/.husky/pre-commit (web's hooksPath is .husky)", "git commit in web"},
    {"new-repo", Kind::host_git, "git init newdir + core.fsmonitor", "git status in newdir"},
    {"new-gitfile", Kind::host_git, "newgf/.git file -> planted gitdir .vnewgd", "git status in newgf"},
    {"bare-repo", Kind::host_git, "bare x.git with core.worktree=.. + core.fsmonitor", "git status in x.git"},
    {"claude-settings", Kind::agent_config, ".claude/settings.json hooks", "claude on the host"},
    {"claude-settings-local", Kind::agent_config, ".claude/settings.local.json (new)", "claude on the host"},
    {"claude-commands", Kind::agent_config, ".claude/commands/v.md (new)", "claude on the host"},
    {"claude-agents", Kind::agent_config, ".claude/agents/v.md (new)", "claude on the host"},
    {"claude-hooks-dir", Kind::agent_config, ".claude/hooks/v.sh (new)", "claude on the host"},
    {"mcp-json", Kind::agent_config, ".mcp.json server command", "claude on the host"},
    {"codex-config", Kind::agent_config, ".codex/config.toml [mcp_servers.v]", "codex on the host"},
    {"codex-rules", Kind::agent_config, ".codex/rules/v.rules (new)", "codex on the host"},
    {"vscode-tasks", Kind::agent_config, ".vscode/tasks.json runOn folderOpen", "VS Code opening the folder"},
    {"vscode-settings", Kind::agent_config, ".vscode/settings.json (new)", "VS Code"},
    {"idea-run-config", Kind::agent_config, ".idea/runConfigurations/v.xml (new)", "JetBrains IDE"},
    {"envrc", Kind::agent_config, ".envrc edit", "direnv"},
    {"rename-claude", Kind::agent_config, "mv .claude .claude-old; new .claude/settings.json", "claude on the host"},
    {"rename-vscode", Kind::agent_config, "mv .vscode .vscode-old; new .vscode/tasks.json", "VS Code"},
    {"rename-sub", Kind::host_git, "mv sub sub-old; sub/nested/.git copied + core.fsmonitor",
     "git status in sub/nested"},
    {"rename-git", Kind::host_git, "mv .git .git-old; cp -a .git-old .git; .git/hooks/prepare-commit-msg",
     "git commit"},
};

// Planted after the host run, alone: git itself refuses a .gitmodules with
// `update = !cmd` and then fails every command in the repository.
const Vector gitmodules_vector = {"gitmodules-update", Kind::host_git, ".gitmodules submodule.sm.update = !cmd",
                                  "git submodule update (must stay rejected by git)"};

// One shell function per vector; $M is the marker directory on the host, $H
// the workspace's host path (an agent reads it from wt/.git), $U the upstream
// repository's host path (from .gitmodules). `run NAME...` prints
// "PLANTED NAME" or "REFUSED NAME: <first error>" for each.
constexpr const char* plant_library = R"SH(
hook() { printf '#!/bin/sh\ntouch %s/%s\n' "$M" "$2" > "$1" && chmod +x "$1"; }
cfg() { git config --file "$@"; }
v_cfg_fsmonitor() { cfg .git/config core.fsmonitor "touch $M/cfg-fsmonitor; echo"; }
v_cfg_pager() { cfg .git/config core.pager "touch $M/cfg-pager; cat"; }
v_cfg_editor() { cfg .git/config core.editor "touch $M/cfg-editor; true"; }
v_cfg_diff_external() { cfg .git/config diff.external "touch $M/cfg-diff-external; true" && echo edit >> README.md; }
v_cfg_filter() { cfg .git/config filter.vfilter.clean "touch $M/cfg-filter-clean; cat" &&
  cfg .git/config filter.vfilter.smudge "touch $M/cfg-filter-smudge; cat" && echo new > new.vf; }
v_cfg_textconv() { cfg .git/config diff.vtext.textconv "touch $M/cfg-textconv; cat"; }
v_cfg_include() { cfg .vinc.cfg filter.vinc.clean "touch $M/cfg-include; cat" && echo x > a.vinc &&
  cfg .git/config include.path ../.vinc.cfg; }
v_cfg_includeif() { cfg .vincif.cfg filter.vincif.clean "touch $M/cfg-includeif; cat" && echo x > a.vincif &&
  cfg .git/config includeIf.gitdir:/.path ../.vincif.cfg; }
v_cfg_sshcommand() { cfg .git/config core.sshCommand "touch $M/cfg-sshcommand; false" &&
  cfg .git/config remote.vssh.url ssh://vssh.invalid/x.git; }
v_cfg_uploadpack() { cfg .git/config remote.vup.url "$U" &&
  cfg .git/config remote.vup.uploadpack "touch $M/cfg-uploadpack; git-upload-pack"; }
v_cfg_gpg() { mkdir -p tools && printf '#!/bin/sh\ntouch %s/cfg-gpg\nexit 1\n' "$M" > tools/vgpg &&
  chmod +x tools/vgpg && cfg .git/config gpg.program "$H/tools/vgpg" && cfg .git/config commit.gpgSign true; }
v_cfg_worktreeconfig() { cfg .git/config extensions.worktreeConfig true &&
  cfg .git/config.worktree filter.vwtc.clean "touch $M/cfg-worktreeconfig; cat" && echo x > a.vwtc; }
v_hook_pre_commit() { hook .git/hooks/pre-commit hook-pre-commit; }
v_hook_post_checkout() { hook .git/hooks/post-checkout hook-post-checkout; }
v_hook_post_merge() { hook .git/hooks/post-merge hook-post-merge; }
v_hook_reference_transaction() { hook .git/hooks/reference-transaction hook-reference-transaction; }
v_wt_commondir() { git init -q --bare .vcommon && cfg .vcommon/config core.fsmonitor "touch $M/wt-commondir; echo" &&
  echo ../../../.vcommon > .git/worktrees/wt/commondir; }
v_wt2_config_worktree() { cfg .git/config extensions.worktreeConfig true &&
  cfg .git/worktrees/wt2/config.worktree core.fsmonitor "touch $M/wt2-config-worktree; echo"; }
v_modules_config() { cfg .git/modules/sm/config core.fsmonitor "touch $M/modules-config; echo"; }
v_gitfile_redirect() { cp -a .git/modules/sm2 .vevil && cfg .vevil/config core.worktree ../sm2 &&
  cfg .vevil/config core.fsmonitor "touch $M/gitfile-redirect; echo" && echo 'gitdir: ../.vevil' > sm2/.git; }
v_nested_fsmonitor() { cfg sub/nested/.git/config core.fsmonitor "touch $M/nested-fsmonitor; echo"; }
v_nested_hookspath() { mkdir -p sub/nested/.vhooks && hook sub/nested/.vhooks/pre-commit nested-hookspath &&
  hook sub/nested/.vhooks/post-checkout nested-hookspath && cfg sub/nested/.git/config core.hooksPath .vhooks; }
v_nested_commondir() { git init -q --bare .vcommon2 &&
  cfg .vcommon2/config core.fsmonitor "touch $M/nested-commondir; echo" &&
  echo ../../../.vcommon2 > lib/inner/.git/commondir; }
v_husky_edit() { hook web/.husky/pre-commit husky-edit; }
v_new_repo() { git init -q newdir && cfg newdir/.git/config core.fsmonitor "touch $M/new-repo; echo"; }
v_new_gitfile() { git init -q --bare .vnewgd && cfg .vnewgd/config core.bare false &&
  cfg .vnewgd/config core.worktree ../newgf && cfg .vnewgd/config core.fsmonitor "touch $M/new-gitfile; echo" &&
  mkdir -p newgf && echo 'gitdir: ../.vnewgd' > newgf/.git; }
v_bare_repo() { git init -q --bare x.git && cfg x.git/config core.bare false && cfg x.git/config core.worktree .. &&
  cfg x.git/config core.fsmonitor "touch $M/bare-repo; echo"; }
v_gitmodules_update() { cfg .gitmodules submodule.sm.update "!touch $M/gitmodules-update"; }
v_claude_settings() {
  printf '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch %s/claude-settings"}]}]}}\n' "$M" \
    > .claude/settings.json; }
v_claude_settings_local() {
  printf '{"enableAllProjectMcpServers":true,"statusLine":{"type":"command","command":"touch %s/claude-settings-local"}}\n' \
    "$M" > .claude/settings.local.json; }
v_claude_commands() { mkdir -p .claude/commands && echo "run: touch $M/claude-commands" > .claude/commands/v.md; }
v_claude_agents() { mkdir -p .claude/agents && echo "run: touch $M/claude-agents" > .claude/agents/v.md; }
v_claude_hooks_dir() { mkdir -p .claude/hooks && hook .claude/hooks/v.sh claude-hooks-dir; }
v_mcp_json() { printf '{"mcpServers":{"v":{"command":"sh","args":["-c","touch %s/mcp-json"]}}}\n' "$M" > .mcp.json; }
v_codex_config() { printf '[mcp_servers.v]\ncommand = "sh"\nargs = ["-c", "touch %s/codex-config"]\n' "$M" \
  >> .codex/config.toml; }
v_codex_rules() { mkdir -p .codex/rules && echo 'prefix_rule(pattern=["sh"], decision="allow")' > .codex/rules/v.rules; }
v_vscode_tasks() {
  printf '{"version":"2.0.0","tasks":[{"label":"v","type":"shell","command":"touch %s/vscode-tasks","runOptions":{"runOn":"folderOpen"}}]}\n' \
    "$M" > .vscode/tasks.json; }
v_vscode_settings() { echo '{"git.path":"tools/vgpg"}' > .vscode/settings.json; }
v_idea_run_config() { mkdir -p .idea/runConfigurations &&
  echo '<component name="ProjectRunConfigurationManager"/>' > .idea/runConfigurations/v.xml; }
v_envrc() { printf 'touch %s/envrc\n' "$M" >> .envrc; }
v_rename_claude() { mv .claude .claude-old && mkdir .claude &&
  printf '{"apiKeyHelper":"touch %s/rename-claude"}\n' "$M" > .claude/settings.json; }
v_rename_vscode() { mv .vscode .vscode-old && mkdir .vscode &&
  printf '{"version":"2.0.0","tasks":[{"label":"v","type":"shell","command":"touch %s/rename-vscode","runOptions":{"runOn":"folderOpen"}}]}\n' \
    "$M" > .vscode/tasks.json; }
v_rename_sub() { mv sub sub-old && mkdir -p sub/nested && cp -a sub-old/nested/.git sub/nested/.git &&
  cfg sub/nested/.git/config core.fsmonitor "touch $M/rename-sub; echo"; }
v_rename_git() { mv .git .git-old && cp -a .git-old .git && hook .git/hooks/prepare-commit-msg rename-git; }
run() {
  for v in "$@"; do
    f="v_$(echo "$v" | tr - _)"
    if ! command -v "$f" >/dev/null 2>&1; then echo "REFUSED $v: NO SUCH VECTOR"; continue; fi
    if err=$(cd /workspace && "$f" 2>&1 >/dev/null); then echo "PLANTED $v"
    else echo "REFUSED $v: $(printf '%s' "$err" | tr '\n' ' ' | cut -c1-200)"; fi
  done
}
)SH";

// ---------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The engine this run of a test uses: every test runs on Docker and on Podman.
std::string engine_under_test(IntegrationHome& home) {
  const std::string backend = GENERATE(as<std::string>{}, "docker", "podman");
  if (backend == "podman") use_podman(home, {git_image, "bottle-egress:latest"});
  return backend;
}

// `bottle-cli create ARGS...` on `backend`.
std::vector<std::string> create_on(const std::string& backend, std::vector<std::string> args) {
  args.insert(args.begin(), {"create", "--backend", backend});
  return args;
}

// Whatever happens in the test, the bottle goes away.
struct BottleGuard {
  IntegrationHome& home;
  std::string name;
  ~BottleGuard() {
    home.cli({"rm", "-f", name});
    bottle::SystemRunner r;
    r.run({.argv = {"docker", "rm", "-f", "bottle-" + name, "bottle-" + name + "-egress"}});
    r.run({.argv = {"docker", "network", "rm", "bottle-" + name + "-net"}});
  }
};

// The marker directory on the host, writable by the owner only; the bottle does
// not see the host's /tmp.
struct Markers {
  host_git::OwnedTempDir dir;
  explicit Markers(const std::string& variant)
      : dir(fs::path("/tmp") / ("bottle-escape-" + std::to_string(::getpid()) + "-" + variant), 0755) {}
  const fs::path& path() const { return dir.path(); }
  std::vector<std::string> present() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path())) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

struct PlantResult {
  std::map<std::string, std::string> refused;  // vector -> first error
  std::set<std::string> planted;
  std::string raw;
};

PlantResult parse_plants(const std::string& out) {
  PlantResult r;
  r.raw = out;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("PLANTED ", 0) == 0) r.planted.insert(line.substr(8));
    if (line.rfind("REFUSED ", 0) == 0) {
      const auto rest = line.substr(8);
      const auto colon = rest.find(':');
      r.refused[rest.substr(0, colon)] = colon == std::string::npos ? "" : rest.substr(colon + 2);
    }
  }
  return r;
}

std::string plant_prelude(const fs::path& markers, const fs::path& host_repo, const fs::path& upstream) {
  return "M=" + shell_quote(markers.string()) + " H=" + shell_quote(host_repo.string()) +
         " U=" + shell_quote(upstream.string()) + "\n" + plant_library;
}

PlantResult plant(IntegrationHome& home, const std::string& name, const std::string& prelude,
                  const std::vector<Vector>& which) {
  std::string script = prelude + "\nrun";
  for (const auto& v : which) script += std::string(" ") + v.name;
  script += "\n";
  const auto r = home.cli({"exec", name, "--", "sh", "-c", script});
  INFO("plant exec stderr: " << r.err);
  CHECK(r.ok());
  return parse_plants(r.out);
}

// Reports, per vector, what the bottle did with it (shown with the assertions).
std::string plant_report(const std::vector<Vector>& which, const PlantResult& p) {
  std::ostringstream s;
  for (const auto& v : which) {
    const auto it = p.refused.find(v.name);
    s << "  " << v.name << ": "
      << (it != p.refused.end()     ? "refused (" + it->second + ")"
          : p.planted.count(v.name) ? "planted"
                                    : "no result")
      << "\n";
  }
  return s.str();
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

bottle::ProcessResult run_host_git(const fs::path& owner_home, const fs::path& repo, const fs::path& markers) {
  std::string script = host_git_script;
  const auto dirs = host_git::git_directories(repo);
  std::string args;
  for (const auto& d : dirs) args += " " + shell_quote(d);
  // "$@" is the directory list.
  return host_git::run_as_owner(owner_home, "set --" + args + "\n" + script,
                                {{"R", repo.string()}, {"M", markers.string()}, {"PAGER", "cat"}});
}

// A rig that does not see host execution proves nothing: the same host run over a
// scratch repository whose fsmonitor the owner set must leave a marker.
void require_rig_sees_execution(const fs::path& owner_home, const fs::path& scratch, const Markers& markers) {
  const auto r = host_git::run_as_owner(
      owner_home, "set -e; git init -q " + shell_quote(scratch.string()) + " && cd " + shell_quote(scratch.string()) +
                      " && git config core.fsmonitor " +
                      shell_quote("touch " + (markers.path() / "rig-control").string() + "; echo") +
                      " && echo x > f && git add f && git status >/dev/null 2>&1; true");
  INFO(r.err);
  REQUIRE(fs::exists(markers.path() / "rig-control"));
  fs::remove(markers.path() / "rig-control");
  fs::remove_all(scratch);
}

// The bottle cannot make a host marker itself: its /tmp is its own.
void require_bottle_cannot_mark(IntegrationHome& home, const std::string& name, const Markers& markers) {
  const auto r = home.cli({"exec", name, "--", "sh", "-c",
                           "mkdir -p " + shell_quote(markers.path().string()) + " && touch " +
                               shell_quote((markers.path() / "from-bottle").string())});
  INFO(r.err);
  REQUIRE(r.ok());  // it made a file of that name, in the bottle's own /tmp
  REQUIRE_FALSE(fs::exists(markers.path() / "from-bottle"));
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> markers_of(const std::vector<std::string>& present, const Vector& v) {
  std::vector<std::string> out;
  for (const auto& m : present)
    // "<name>" or "<name>-<part>", with "@<dir>" once the host run renamed it.
    if (const auto base = m.substr(0, m.find('@')); base == v.name || base.rfind(std::string(v.name) + "-", 0) == 0)
      out.push_back(m);
  return out;
}

struct Clock {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  void lap(const char* what) {
    const auto now = std::chrono::steady_clock::now();
    std::cerr << "[workspace] " << what << ": "
              << std::chrono::duration_cast<std::chrono::milliseconds>(now - t0).count() << " ms\n";
    t0 = now;
  }
};

// The changed paths whose ancestors did not change (a new `.git` stands for
// everything under it).
std::vector<std::string> topmost(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    const bool under =
        std::any_of(out.begin(), out.end(), [&](const std::string& q) { return p.rfind(q + "/", 0) == 0; });
    if (!under) out.push_back(p);
  }
  return out;
}

// Detection: every change to a protected path that the bottle did not prevent is
// in `check --workspace` (the caller asserts that `stop` repeats it).
std::vector<std::string> require_reported(IntegrationHome& home, const std::string& name,
                                          const std::vector<std::string>& changed) {
  std::vector<std::string> protected_changes;
  for (const auto& c : changed) {
    if (const auto q = c.find(contract::quarantine_marker); q != std::string::npos)
      protected_changes.push_back(c.substr(0, q));  // a new repository, quarantined
    else if (contract::is_protected(c)) protected_changes.push_back(c);
  }
  const auto must = topmost(protected_changes);
  const auto r = home.cli({"check", name, "--workspace"});
  INFO("contract: check --workspace: exit " << r.code << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  INFO("protected paths the bottle let change:\n  " << join(must, "\n  "));
  const auto reported = contract::parse_lines(r.out);
  CHECK(r.code == (must.empty() ? contract::check_clean_exit : contract::check_changed_exit));
  std::vector<std::string> unreported;
  for (const auto& c : must)
    if (!contract::covers(reported, c)) unreported.push_back(c);
  CHECK(join(unreported, "\n") == "");
  const auto json = home.cli({"check", name, "--workspace", "--json"});
  INFO("check --workspace --json: " << json.out << json.err);
  CHECK(json.code == r.code);
  try {
    // Lines are "changes" plus, when the CLI lists them apart, "unprotected".
    const auto doc = boost::json::parse(json.out).at("workspace").as_object();
    std::size_t entries = doc.at("changes").as_array().size();
    if (const auto* loose = doc.if_contains("unprotected")) entries += loose->as_array().size();
    CHECK(entries == reported.size());
  } catch (const std::exception& e) { FAIL_CHECK("not {\"workspace\":{\"changes\":[...]}}: " << e.what()); }
  return must;
}

// The host-git vectors whose markers are on the host, one line each; a marker
// "<name>@<dir>" ran when host git ran in <dir> (":" stands for "/").
std::string fired_report(const std::vector<Vector>& which, const std::vector<std::string>& present) {
  std::ostringstream s;
  for (const auto& v : which) {
    const auto m = markers_of(present, v);
    if (!m.empty()) s << v.name << " (" << v.plants << "; runs on " << v.trigger << "): " << join(m) << "\n";
  }
  std::vector<std::string> other;  // a marker no vector claims is still planted code that ran
  for (const auto& m : present)
    if (std::none_of(which.begin(), which.end(), [&](const Vector& v) { return !markers_of({m}, v).empty(); }))
      other.push_back(m);
  if (!other.empty()) s << "other markers: " << join(other) << "\n";
  return s.str();
}

}  // namespace

TEST_CASE("workspace: a git repo bottle: no planted vector runs in host git, ordinary work still works",
          "[docker][podman][integration][workspace]") {
  Clock clock;
  host_git::OwnedTempDir root("bottle-ws");
  const auto repo = root.path() / "repo";
  const auto upstream = root.path() / "upstream";
  const auto owner_home = root.path() / "home";
  host_git::write_owner_gitconfig(owner_home);
  auto setup = host_git::run_as_owner(owner_home, setup_repo_script, {{"ROOT", root.path().string()}});
  INFO(setup.out << setup.err);
  REQUIRE(setup.ok());
  Markers markers("repo");
  require_rig_sees_execution(owner_home, root.path() / "scratch", markers);
  clock.lap("host repo set up");

  IntegrationHome home;
  const std::string backend = engine_under_test(home);
  const std::string name = unique_bottle_name("it-ws-repo");
  BottleGuard guard{home, name};
  auto r = home.cli(create_on(backend, {"--name", name, "--image", git_image, "--no-egress", "-w", repo.string()}));
  INFO(r.err);
  REQUIRE(r.ok());
  require_bottle_cannot_mark(home, name, markers);
  clock.lap("bottle created");

  // --- Ordinary agent work, and the host sees it. ---
  r = home.cli({"exec", name, "--", "sh", "-c", std::string(agent_identity) + ordinary_work_script});
  INFO("ordinary work: " << r.out << r.err);
  REQUIRE(r.ok());
  REQUIRE_THAT(r.out, Catch::Contains("WORK-OK"));
  auto log = host_git::run_as_owner(owner_home, "git log --format=%s main agent-b vmerge", {}, repo);
  INFO(log.err);
  REQUIRE(log.ok());
  for (const char* subject :
       {"agent: edit README", "agent: add b.txt on agent-b", "agent: after stash", "agent: data files", "submodules"})
    CHECK_THAT(log.out, Catch::Contains(subject));
  // The rebase was linear: agent-b sits on top of main.
  auto base = host_git::run_as_owner(owner_home, "git merge-base --is-ancestor main agent-b && echo LINEAR", {}, repo);
  CHECK_THAT(base.out, Catch::Contains("LINEAR"));
  {
    INFO("contract: ordinary work is not a workspace change");
    const auto c = home.cli({"check", name, "--workspace"});
    INFO(c.out << c.err);
    CHECK(c.code == contract::check_clean_exit);
    CHECK(contract::parse_lines(c.out).empty());
  }
  clock.lap("ordinary work");

  // --- Plant every vector from inside. ---
  const auto before = host_git::snapshot(repo);
  std::map<std::string, std::string> before_text;
  for (const auto& f : contract::existing_protected_files) before_text[f] = read_text(repo / f);
  const auto plants = plant(home, name, plant_prelude(markers.path(), repo, upstream), vectors);
  std::cerr << "[workspace] what the bottle did with each vector:\n" << plant_report(vectors, plants);
  std::vector<std::string> no_result;
  for (const auto& v : vectors)
    if (plants.planted.count(v.name) + plants.refused.count(v.name) != 1) no_result.push_back(v.name);
  CHECK(join(no_result) == "");
  const auto after = host_git::snapshot(repo);
  const auto changed = host_git::changed_paths(before, after);
  clock.lap("planted");

  // --- Detection (contract). ---
  const auto must_report = require_reported(home, name, changed);

  // --- Host git as the owner, everywhere a repository is. ---
  const auto host = run_host_git(owner_home, repo, markers.path());
  clock.lap("host git run");
  CHECK(host.ok());
  const auto present = markers.present();
  const auto fired = fired_report(vectors, present);
  if (!fired.empty()) std::cerr << "[workspace] PLANTED CODE RAN ON THE HOST:\n" << fired;
  {
    INFO("host git (exit status, command, per directory):\n" << host.out << host.err);
    CHECK(fired == "");
  }

  // --- Prevention of agent and editor settings (contract). ---
  {
    std::vector<std::string> changed_files, created_files;
    for (const auto& f : contract::existing_protected_files)
      if (read_text(repo / f) != before_text[f]) changed_files.push_back(f);
    for (const auto& f : contract::new_protected_files)
      if (fs::exists(repo / f)) created_files.push_back(f);
    INFO("contract: the agent could change existing protected files / create new ones");
    CHECK(join(changed_files) == "");
    CHECK(join(created_files) == "");
  }

  // --- .gitmodules `update = !cmd`: git itself must keep refusing it. ---
  {
    const auto late = plant(home, name, plant_prelude(markers.path(), repo, upstream), {gitmodules_vector});
    INFO(plant_report({gitmodules_vector}, late));
    host_git::run_as_owner(owner_home, "git submodule update; git submodule update --init sm; true", {}, repo);
    CHECK_FALSE(fs::exists(markers.path() / "gitmodules-update"));
  }

  // --- stop reports on stderr what check reported (contract). ---
  r = home.cli({"stop", name});
  INFO("stop: " << r.err);
  CHECK(r.ok());
  std::vector<contract::Change> at_stop;
  for (const auto& prefix : contract::stop_prefixes)
    for (auto& c : contract::parse_lines(r.err, prefix)) at_stop.push_back(std::move(c));
  std::vector<std::string> not_at_stop;
  for (const auto& c : must_report)
    if (!contract::covers(at_stop, c)) not_at_stop.push_back(c);
  INFO("contract: stop did not report these protected paths the bottle let change");
  CHECK(join(not_at_stop, "\n") == "");
  clock.lap("checked");
}

TEST_CASE("workspace: a read-only workspace refuses every plant", "[docker][podman][integration][workspace]") {
  host_git::OwnedTempDir root("bottle-ws");
  const auto repo = root.path() / "repo";
  const auto upstream = root.path() / "upstream";
  const auto owner_home = root.path() / "home";
  host_git::write_owner_gitconfig(owner_home);
  auto setup = host_git::run_as_owner(owner_home, setup_repo_script, {{"ROOT", root.path().string()}});
  INFO(setup.out << setup.err);
  REQUIRE(setup.ok());
  Markers markers("ro");

  IntegrationHome home;
  const std::string backend = engine_under_test(home);
  const std::string name = unique_bottle_name("it-ws-ro");
  BottleGuard guard{home, name};
  auto r = home.cli(create_on(
      backend, {"--name", name, "--image", git_image, "--no-egress", "-w", repo.string() + ":/workspace:ro"}));
  INFO(r.err);
  REQUIRE(r.ok());
  require_bottle_cannot_mark(home, name, markers);

  const auto before = host_git::snapshot(repo);
  std::vector<Vector> all = vectors;
  all.push_back(gitmodules_vector);
  const auto plants = plant(home, name, plant_prelude(markers.path(), repo, upstream), all);
  INFO("what the bottle did with each vector:\n" << plant_report(all, plants));
  std::vector<std::string> not_refused;
  for (const auto& v : all)
    if (plants.refused.count(v.name) != 1) not_refused.push_back(v.name);
  CHECK(join(not_refused) == "");
  const auto changed = host_git::changed_paths(before, host_git::snapshot(repo));
  INFO("changed on the host: " << join(changed));
  CHECK(changed.empty());

  const auto host = run_host_git(owner_home, repo, markers.path());
  {
    INFO("host git:\n" << host.out << host.err);
    CHECK(join(markers.present()) == "");
  }
  {
    INFO("contract: nothing to report on a read-only workspace");
    const auto c = home.cli({"check", name, "--workspace"});
    INFO(c.out << c.err);
    CHECK(c.code == contract::check_clean_exit);
  }
}

TEST_CASE("workspace: a workspace that is not a repo (egress on): git init inside never runs on the host",
          "[docker][podman][integration][workspace]") {
  host_git::OwnedTempDir root("bottle-ws");
  const auto dir = root.path() / "plain";
  const auto owner_home = root.path() / "home";
  host_git::write_owner_gitconfig(owner_home);
  fs::create_directories(dir / "notes");
  std::ofstream(dir / "notes" / "todo.txt") << "nothing yet\n";
  host_git::chown_tree(dir, host_git::owner_uid);
  Markers markers("plain");

  IntegrationHome home;
  const std::string backend = engine_under_test(home);
  const std::string name = unique_bottle_name("it-ws-plain");
  BottleGuard guard{home, name};
  auto r = home.cli(create_on(backend, {"--name", name, "--image", git_image, "-w", dir.string()}));  // egress on
  INFO(r.err);
  REQUIRE(r.ok());
  require_bottle_cannot_mark(home, name, markers);

  const auto before = host_git::snapshot(dir);
  // git init at the root (and in a subdirectory), with the config and hooks an
  // attacker would give it, then an ordinary first commit.
  const std::string script = "M=" + shell_quote(markers.path().string()) + "\n" + agent_identity + R"SH(
hook() { printf '#!/bin/sh\ntouch %s/%s\n' "$M" "$2" > "$1" && chmod +x "$1"; }
try() { n=$1; shift; if err=$("$@" 2>&1 >/dev/null); then echo "PLANTED $n"; else echo "REFUSED $n: $(printf '%s' "$err" | tr '\n' ' ' | cut -c1-200)"; fi; }
root_repo() { git init -q . && git config core.fsmonitor "touch $M/init-root-fsmonitor; echo" &&
  hook .git/hooks/pre-commit init-root-hook && hook .git/hooks/post-checkout init-root-hook &&
  git add -A && git -c core.fsmonitor=false -c core.hooksPath=/dev/null commit -qm 'agent: first commit'; }
sub_repo() { mkdir -p notes && git init -q notes && git -C notes config core.fsmonitor "touch $M/init-sub-fsmonitor; echo"; }
envrc() { printf 'touch %s/envrc\n' "$M" > .envrc; }
claude() { mkdir -p .claude && printf '{"apiKeyHelper":"touch %s/claude"}\n' "$M" > .claude/settings.json; }
cd /workspace
try init-root root_repo
try init-sub sub_repo
try envrc envrc
try claude claude
)SH";
  r = home.cli({"exec", name, "--", "sh", "-c", script});
  INFO("plants: " << r.out << r.err);
  const auto changed = host_git::changed_paths(before, host_git::snapshot(dir));
  require_reported(home, name, changed);

  const auto host = host_git::run_as_owner(owner_home, R"SH(
for d in . notes; do
  cd "$R/$d" || continue
  for c in "git status" "git add -A" "git commit -m host" "git checkout -b host-x" "git log -1"; do
    timeout 20 $c </dev/null >/dev/null 2>&1; echo "$? $d: $c"
  done
done
)SH",
                                           {{"R", dir.string()}, {"PAGER", "cat"}});
  INFO("host git:\n" << host.out << host.err);
  CHECK(join(markers.present()) == "");

  r = home.cli({"stop", name});
  INFO(r.err);
  CHECK(r.ok());
}

TEST_CASE("workspace: a protected name that is a symlink cannot be protected: create fails, naming it",
          "[docker][podman][integration][workspace]") {
  host_git::OwnedTempDir root("bottle-ws");
  const auto repo = root.path() / "repo";
  const auto owner_home = root.path() / "home";
  host_git::write_owner_gitconfig(owner_home);
  const auto setup = host_git::run_as_owner(owner_home, R"SH(
set -e
git init -q -b main repo && cd repo && mkdir editor && echo '{}' > editor/tasks.json && ln -s editor .vscode
git add -A && git commit -qm symlinked
)SH",
                                            {}, root.path());
  INFO(setup.err);
  REQUIRE(setup.ok());

  IntegrationHome home;
  const std::string backend = engine_under_test(home);
  const std::string name = unique_bottle_name("it-ws-link");
  BottleGuard guard{home, name};
  const auto r =
      home.cli(create_on(backend, {"--name", name, "--image", git_image, "--no-egress", "-w", repo.string()}));
  INFO("contract: create with a symlinked .vscode: exit " << r.code << "\n" << r.out << r.err);
  CHECK(r.code == contract::unprotectable_exit);
  CHECK_THAT(r.err, Catch::Contains(".vscode"));
}

TEST_CASE("workspace: a prompt file the agent turns into a symlink is not followed: no host file enters the bottle",
          "[docker][podman][integration][workspace]") {
  host_git::OwnedTempDir root("bottle-ws");
  const auto dir = root.path() / "work";
  fs::create_directories(dir);
  std::ofstream(dir / "PROMPT.md") << "be brief\n";
  host_git::chown_tree(dir, host_git::owner_uid);
  // What the agent wants: a host file outside every workspace (a login, a key).
  const auto secret = root.path() / "credentials.json";
  const std::string secret_text = "host-secret-" + std::to_string(::getpid());
  std::ofstream(secret) << secret_text << "\n";

  IntegrationHome home;
  const std::string backend = engine_under_test(home);
  const std::string name = unique_bottle_name("it-ws-prompt");
  BottleGuard guard{home, name};
  auto r = home.cli(create_on(backend, {"--name", name, "--image", git_image, "--no-egress", "-w",
                                        dir.string() + ":/workspace", "--prompt-file", (dir / "PROMPT.md").string()}));
  INFO(r.err);
  REQUIRE(r.ok());
  const auto prompt_in_bottle = [&] {
    const auto cat = home.cli({"exec", name, "--", "cat", "/etc/bottle/prompt.md"});
    INFO(cat.err);
    CHECK(cat.ok());
    return cat.out;
  };
  CHECK(prompt_in_bottle() == "be brief\n");
  r = home.cli({"exec", name, "--", "sh", "-c", "echo changed > /etc/bottle/prompt.md"});
  CHECK_FALSE(r.ok());
  CHECK(prompt_in_bottle() == "be brief\n");

  // The agent swaps the file it can write for a link to the host file.
  r = home.cli({"exec", name, "--", "sh", "-c",
                "cd /workspace && rm PROMPT.md && ln -s " + shell_quote(secret.string()) + " PROMPT.md"});
  INFO(r.err);
  REQUIRE(r.ok());
  REQUIRE(fs::is_symlink(dir / "PROMPT.md"));
  r = home.cli({"stop", name});
  REQUIRE(r.ok());
  r = home.cli({"start", name});
  INFO("start with the prompt file a link: exit " << r.code << "\n" << r.out << r.err);
  CHECK(r.code == contract::unprotectable_exit);
  CHECK_THAT(r.err, Catch::Contains("prompt_file: " + (dir / "PROMPT.md").string() +
                                    ": the path goes through a symbolic link"));
  CHECK(r.out.find(secret_text) == std::string::npos);
  CHECK(r.err.find(secret_text) == std::string::npos);
  const auto row = home.cli({"ls"});
  CHECK(row.out.find(name) != std::string::npos);

  // The user puts a real file back: the next start carries it, and nothing else.
  fs::remove(dir / "PROMPT.md");
  std::ofstream(dir / "PROMPT.md") << "be briefer\n";
  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(prompt_in_bottle() == "be briefer\n");
  r = home.cli({"exec", name, "--", "sh", "-c", "grep -rs " + shell_quote(secret_text) + " /etc /tmp /home; true"});
  CHECK(r.out.empty());
}
