#include "bottle/workspace/clone_repo.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <filesystem>

#include "bottle/core/error.hpp"
#include "bottle/workspace/clone_vm.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace {

[[noreturn]] void spec_error(std::string_view field, std::string_view problem) {
  detail::throw_field_error("spec", field, problem);
}

// Bottle output is untrusted: a line it prints that is not what the script prints
// is a failure, quoted back harmlessly.
[[noreturn]] void bad_output(std::string_view what, std::string_view line) {
  throw Error(ErrorKind::backend, fmt::format("{}: unexpected line '{}'", what, detail::printable(line)));
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return lines;
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  while (!line.empty()) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    const auto end = line.find(' ');
    words.push_back(line.substr(0, end));
    line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  }
  return words;
}

std::optional<std::size_t> count_of(std::string_view text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string default_clone_branch(std::string_view bottle_name) { return fmt::format("bottle/{}", bottle_name); }

std::string clone_volume_name(std::string_view bottle_name) { return fmt::format("bottle-{}-repo", bottle_name); }

std::optional<std::string> branch_name_problem(std::string_view name) {
  if (name.empty() || name.size() > 200) return "must be 1-200 characters";
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '/' || c == '-';
  });
  if (!chars_ok) return "may contain only letters, digits, '.', '_', '/' and '-'";
  if (name.front() == '-' || name.front() == '/') return "must not start with '-' or '/'";
  if (name.back() == '/' || name.back() == '.') return "must not end with '/' or '.'";
  if (name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos)
    return "must not contain \"..\" or \"//\"";
  if (name == "HEAD") return "must not be HEAD";
  std::string_view rest = name;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.front() == '.') return "no component may start with '.'";
    if (part.size() >= 5 && part.substr(part.size() - 5) == ".lock") return "no component may end with \".lock\"";
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return std::nullopt;
}

void validate_branch_name(std::string_view name, std::string_view field) {
  if (auto problem = branch_name_problem(name)) spec_error(field, *problem);
}

void validate_revision(std::string_view rev, std::string_view field) {
  if (rev.empty() || rev.size() > 200) spec_error(field, "must be 1-200 characters");
  if (rev.front() == '-') spec_error(field, "must not start with '-'");
  if (!std::all_of(rev.begin(), rev.end(), [](char c) { return c > ' ' && c < 0x7f; }))
    spec_error(field, "must be printable ASCII without spaces");
}

bool is_commit_id(std::string_view text) {
  return (text.size() == 40 || text.size() == 64) &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void validate_repo_spec(const BottleSpec& spec) {
  const RepoSpec& repo = *spec.repo;
  validate_path(repo.path, "$.repo.path");
  if (!repo.branch.empty()) validate_branch_name(repo.branch, "$.repo.branch");
  if (!repo.base.empty()) validate_revision(repo.base, "$.repo.base");
  for (std::size_t i = 0; i < spec.workspaces.size(); ++i) {
    if (spec.workspaces[i].guest == clone_guest_path)
      spec_error(fmt::format("$.workspaces[{}].guest", i),
                 fmt::format("clone mode puts the clone at {}; mount this workspace elsewhere", clone_guest_path));
    if (spec.backend == BackendKind::smolmachines && clone_on_host_mount(spec.workspaces[i].guest))
      spec_error(fmt::format("$.workspaces[{}].guest", i),
                 fmt::format("on smolmachines the clone is made on the VM's own disk at {}; a workspace mounted at "
                             "{} would put it in a host directory instead",
                             clone_guest_path, spec.workspaces[i].guest));
  }
}

std::map<std::string, std::string> host_git_env(const std::string& git_dir) {
  std::map<std::string, std::string> env{{"GIT_CONFIG_NOSYSTEM", "1"},
                                         {"GIT_CONFIG_GLOBAL", "/dev/null"},
                                         {"GIT_TERMINAL_PROMPT", "0"},
                                         {"GIT_NO_REPLACE_OBJECTS", "1"},
                                         {"GIT_ATTR_NOSYSTEM", "1"},
                                         {"GIT_OPTIONAL_LOCKS", "0"},
                                         {"LC_ALL", "C"},
                                         {"HOME", "/nonexistent"}};
  if (!git_dir.empty()) env["GIT_DIR"] = git_dir;
  return env;
}

Argv host_git_argv(const std::vector<std::string>& args) {
  Argv argv{"git", "--no-pager",
            "-c",  "core.hooksPath=/dev/null",
            "-c",  "core.fsmonitor=false",
            "-c",  "protocol.allow=never",
            "-c",  "protocol.file.allow=always",
            "-c",  "transfer.fsckObjects=true",
            "-c",  "fetch.recurseSubmodules=false",
            "-c",  "submodule.recurse=false",
            "-c",  "safe.bareRepository=explicit",
            "-c",  "gc.auto=0",
            "-c",  "maintenance.auto=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::map<std::string, std::string> host_git_probe_env(const std::string& path) {
  auto env = host_git_env("");
  env["GIT_CEILING_DIRECTORIES"] = std::filesystem::path(path).parent_path().string();
  return env;
}

Argv host_repo_probe_argv(const std::string& path) {
  return host_git_argv({"-C", path, "rev-parse", "--is-bare-repository", "--absolute-git-dir"});
}

Argv host_toplevel_argv(const std::string& path) { return host_git_argv({"-C", path, "rev-parse", "--show-toplevel"}); }

Argv host_resolve_argv(const std::string& rev) {
  return host_git_argv({"rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"});
}

Argv host_status_argv(const std::string& work_tree) {
  return host_git_argv({"--work-tree=" + work_tree, "status", "--porcelain"});
}

Argv host_bundle_create_argv(const std::string& file) {
  return host_git_argv({"bundle", "create", "-q", file, "--branches", "--tags", "HEAD"});
}

Argv host_bundle_verify_argv(const std::string& file) { return host_git_argv({"bundle", "verify", "-q", file}); }

Argv host_quarantine_init_argv(const std::string& dir) {
  return host_git_argv({"init", "-q", "--bare", "--template=", dir});
}

Argv host_bundle_heads_argv(const std::string& file) { return host_git_argv({"bundle", "list-heads", file}); }

Argv host_fetch_argv(const std::string& file, std::string_view bottle_name) {
  return host_git_argv({"fetch", "--quiet", "--no-write-fetch-head", "--no-recurse-submodules", "--no-tags",
                        "--no-auto-maintenance", file,
                        fmt::format("+refs/heads/*:{}{}/*", fetched_ref_prefix, bottle_name)});
}

Argv host_fetched_refs_argv(std::string_view bottle_name) {
  return host_git_argv(
      {"for-each-ref", "--format=%(refname) %(objectname)", fmt::format("{}{}/", fetched_ref_prefix, bottle_name)});
}

Argv host_branch_argv(const std::string& branch, const std::string& start) {
  // An empty old value: the ref must not exist yet, so a user's branch never moves.
  return host_git_argv({"update-ref", "-m", "bottle-cli fetch --into", "refs/heads/" + branch, start, ""});
}

Argv host_diff_argv(const std::string& base, const std::string& ref) {
  return host_git_argv({"diff", "--no-ext-diff", "--no-textconv", "--no-color", base, ref, "--"});
}

std::string guest_clone_prepare_script() { return "set -eu; chown \"$1:$(id -g \"$1\")\" /workspace"; }

std::string guest_clone_script() {
  // --template= : no sample hooks, nothing but what git needs. The host's branches
  // stay as host/* for rebasing; the remote's config goes, so nothing points back;
  // the only local branch is the agent's, so every other one is the agent's own.
  return "set -eu\n"
         "b=$(mktemp /tmp/bottle-clone.XXXXXX)\n"
         "trap 'rm -f \"$b\"' EXIT\n"
         "cat > \"$b\"\n"
         "git clone -q --template= --no-checkout -o host \"$b\" /workspace\n"
         "cd /workspace\n"
         "git config --remove-section remote.host\n" +
         guest_clone_finish_script();
}

std::string guest_clone_finish_script() {
  return "git config user.name \"$3 (bottle)\"\n"
         "git config user.email \"$3@bottle.invalid\"\n"
         "git checkout -q -b \"$1\" \"$2\"\n"
         "git for-each-ref --format='%(refname:short)' refs/heads | while read -r b; do\n"
         "  [ \"$b\" = \"$1\" ] || git branch -q -D \"$b\"\n"
         "done\n";
}

std::string guest_status_script() {
  return "set -eu\n"
         "cd /workspace\n"
         "n=$(git status --porcelain | wc -l)\n"
         "printf 'dirty %s\\n' $n\n"
         "git for-each-ref --format='%(refname) %(objectname)' refs/heads | while read -r ref id; do\n"
         "  printf 'branch %s %s %s\\n' \"${ref#refs/heads/}\" \"$id\" \"$(git rev-list --count \"$id\" --not "
         "\"$1\")\"\n"
         "done\n";
}

std::string guest_wip_script() {
  return "set -eu\n"
         "cd /workspace\n"
         "git add -A\n"
         "git -c core.hooksPath=/dev/null commit -q --no-verify -m 'WIP: uncommitted work (bottle-cli fetch "
         "--include-uncommitted)'\n";
}

std::string guest_bundle_script() { return "set -eu\ncd /workspace\ngit bundle create -q - \"$@\"\n"; }

CloneStatus parse_clone_status(std::string_view output) {
  constexpr std::string_view what = "clone status from the bottle";
  CloneStatus status;
  const auto lines = lines_of(output);
  if (lines.empty()) throw Error(ErrorKind::backend, fmt::format("{}: no output", what));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto words = words_of(lines[i]);
    if (i == 0) {
      if (words.size() != 2 || words[0] != "dirty" || !count_of(words[1])) bad_output(what, lines[i]);
      status.dirty = *count_of(words[1]);
      continue;
    }
    if (words.size() != 4 || words[0] != "branch" || branch_name_problem(words[1]) || !is_commit_id(words[2]) ||
        !count_of(words[3]))
      bad_output(what, lines[i]);
    status.branches.push_back(
        CloneBranch{.name = std::string(words[1]), .commit = std::string(words[2]), .ahead = *count_of(words[3])});
  }
  return status;
}

std::vector<std::pair<std::string, std::string>> parse_bundle_heads(std::string_view output) {
  std::vector<std::pair<std::string, std::string>> heads;
  for (const auto line : lines_of(output)) {
    const auto words = words_of(line);
    const bool ok = words.size() == 2 && is_commit_id(words[0]) && words[1].substr(0, 11) == "refs/heads/" &&
                    !branch_name_problem(words[1].substr(11));
    if (!ok)
      throw Error(ErrorKind::isolation,
                  fmt::format("fetch: the bundle from the bottle carries '{}', not a branch; refused",
                              detail::printable(line)));
    heads.emplace_back(words[0], words[1]);
  }
  if (heads.empty()) throw Error(ErrorKind::isolation, "fetch: the bundle from the bottle carries no branch; refused");
  return heads;
}

std::map<std::string, std::string> parse_fetched_refs(std::string_view output, std::string_view bottle_name) {
  const std::string prefix = fmt::format("{}{}/", fetched_ref_prefix, bottle_name);
  std::map<std::string, std::string> fetched;
  for (const auto line : lines_of(output)) {
    const auto words = words_of(line);
    if (words.size() != 2 || words[0].substr(0, prefix.size()) != prefix || !is_commit_id(words[1]))
      bad_output("git for-each-ref", line);
    fetched[std::string(words[0].substr(prefix.size()))] = std::string(words[1]);
  }
  return fetched;
}

std::vector<CloneBranch> unfetched_branches(const CloneStatus& status,
                                            const std::map<std::string, std::string>& fetched) {
  std::vector<CloneBranch> unfetched;
  for (const auto& branch : status.branches) {
    if (branch.ahead == 0) continue;
    const auto it = fetched.find(branch.name);
    if (it == fetched.end() || it->second != branch.commit) unfetched.push_back(branch);
  }
  return unfetched;
}

std::string describe_unfetched_work(const CloneStatus& status, const std::vector<CloneBranch>& unfetched) {
  std::vector<std::string> parts;
  if (status.dirty > 0)
    parts.push_back(fmt::format("{} uncommitted path{}", status.dirty, status.dirty == 1 ? "" : "s"));
  for (const auto& branch : unfetched)
    parts.push_back(fmt::format("branch {}: {} commit{} ahead of the base, not fetched", branch.name, branch.ahead,
                                branch.ahead == 1 ? "" : "s"));
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : "; ") + part;
  return text;
}

}  // namespace bottle
