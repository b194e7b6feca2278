#include <catch2/catch.hpp>

#include <filesystem>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/frontend/cli_clone.hpp"
#include "bottle/spec/spec_overrides.hpp"
#include "bottle/workspace/clone_repo.hpp"
#include "error_of.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

BottleSpec clone_spec() {
  BottleSpec s = minimal_docker_spec();
  s.repo = RepoSpec{.path = "/src/api", .branch = "bottle/api", .base = std::string(40, 'a')};
  return s;
}

const std::string id_a(40, 'a');
const std::string id_b(40, 'b');

Argv hardened(std::vector<std::string> tail) {
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
  argv.insert(argv.end(), tail.begin(), tail.end());
  return argv;
}

}  // namespace

TEST_CASE("clone spec: repo round-trips through JSON and is absent when unset", "[clone][spec]") {
  const BottleSpec s = clone_spec();
  CHECK(parse_spec(spec_to_json(s)) == s);
  CHECK(spec_to_json(minimal_docker_spec()).find("\"repo\"") == std::string::npos);
  const BottleSpec parsed = parse_spec(R"({"name": "x", "repo": {"path": "/r"}})");
  REQUIRE(parsed.repo);
  CHECK(*parsed.repo == RepoSpec{.path = "/r", .branch = "", .base = ""});
  CHECK(parsed.guest_workdir() == "/workspace");
}

TEST_CASE("clone spec: every bad field is named", "[clone][spec]") {
  CHECK(error_of([] { parse_spec(R"({"name": "x", "repo": {}})"); }) == "spec: $.repo: missing key \"path\"");
  CHECK(error_of([] { parse_spec(R"({"name": "x", "repo": {"path": "/r", "remote": "u"}})"); }).find("$.repo") !=
        std::string::npos);
  CHECK(error_of([] { parse_spec(R"({"name": "x", "repo": {"path": "rel"}})"); }) ==
        "spec: $.repo.path: must be an absolute path");
  CHECK(error_of([] { parse_spec(R"({"name": "x", "repo": {"path": "/r", "branch": "-x"}})"); }) ==
        "spec: $.repo.branch: must not start with '-' or '/'");
  CHECK(error_of([] { parse_spec(R"({"name": "x", "repo": {"path": "/r", "base": "--upload-pack=x"}})"); }) ==
        "spec: $.repo.base: must not start with '-'");
  CHECK(error_of([] { parse_spec(R"({"name": "x", "repo": {"path": "/r", "base": "a b"}})"); }) ==
        "spec: $.repo.base: must be printable ASCII without spaces");
  CHECK(error_of([] { parse_spec(R"({"name": "x", "workspaces": [{"host": "/h"}], "repo": {"path": "/r"}})"); }) ==
        "spec: $.workspaces[0].guest: clone mode puts the clone at /workspace; mount this workspace elsewhere");
}

TEST_CASE("clone: branch names bottle accepts", "[clone][spec]") {
  CHECK_FALSE(branch_name_problem("bottle/api"));
  CHECK_FALSE(branch_name_problem("feature/x-1.2_y"));
  CHECK(branch_name_problem("") == "must be 1-200 characters");
  CHECK(branch_name_problem(std::string(201, 'a')) == "must be 1-200 characters");
  CHECK(branch_name_problem("a b") == "may contain only letters, digits, '.', '_', '/' and '-'");
  CHECK(branch_name_problem("a@{1}") == "may contain only letters, digits, '.', '_', '/' and '-'");
  CHECK(branch_name_problem("-x") == "must not start with '-' or '/'");
  CHECK(branch_name_problem("/x") == "must not start with '-' or '/'");
  CHECK(branch_name_problem("x/") == "must not end with '/' or '.'");
  CHECK(branch_name_problem("x.") == "must not end with '/' or '.'");
  CHECK(branch_name_problem("a..b") == "must not contain \"..\" or \"//\"");
  CHECK(branch_name_problem("a//b") == "must not contain \"..\" or \"//\"");
  CHECK(branch_name_problem("HEAD") == "must not be HEAD");
  CHECK(branch_name_problem("a/.hidden") == "no component may start with '.'");
  CHECK(branch_name_problem("a/b.lock/c") == "no component may end with \".lock\"");
  CHECK(default_clone_branch("api") == "bottle/api");
  CHECK(clone_volume_name("api") == "bottle-api-repo");
  CHECK(is_commit_id(id_a));
  CHECK(is_commit_id(std::string(64, '0')));
  CHECK_FALSE(is_commit_id(std::string(40, 'A')));
  CHECK_FALSE(is_commit_id("abc"));
}

TEST_CASE("clone: host git runs hardened, with no config but the user's repo", "[clone][argv]") {
  CHECK(host_git_env("/r/.git") == std::map<std::string, std::string>{{"GIT_ATTR_NOSYSTEM", "1"},
                                                                      {"GIT_CONFIG_GLOBAL", "/dev/null"},
                                                                      {"GIT_CONFIG_NOSYSTEM", "1"},
                                                                      {"GIT_DIR", "/r/.git"},
                                                                      {"GIT_NO_REPLACE_OBJECTS", "1"},
                                                                      {"GIT_OPTIONAL_LOCKS", "0"},
                                                                      {"GIT_TERMINAL_PROMPT", "0"},
                                                                      {"HOME", "/nonexistent"},
                                                                      {"LC_ALL", "C"}});
  auto probe_env = host_git_env("");
  CHECK(probe_env.count("GIT_DIR") == 0);
  probe_env["GIT_CEILING_DIRECTORIES"] = "/src";
  CHECK(host_git_probe_env("/src/api") == probe_env);
  CHECK(host_git_argv({"status"}) == hardened({"status"}));
  CHECK(host_repo_probe_argv("/src/api") ==
        hardened({"-C", "/src/api", "rev-parse", "--is-bare-repository", "--absolute-git-dir"}));
  CHECK(host_toplevel_argv("/src/api") == hardened({"-C", "/src/api", "rev-parse", "--show-toplevel"}));
  CHECK(host_resolve_argv("main") ==
        hardened({"rev-parse", "--verify", "--quiet", "--end-of-options", "main^{commit}"}));
  CHECK(host_status_argv("/src/api") == hardened({"--work-tree=/src/api", "status", "--porcelain"}));
  CHECK(host_bundle_create_argv("/s/b.bundle") ==
        hardened({"bundle", "create", "-q", "/s/b.bundle", "--branches", "--tags", "HEAD"}));
  CHECK(host_bundle_verify_argv("/s/b.bundle") == hardened({"bundle", "verify", "-q", "/s/b.bundle"}));
  CHECK(host_quarantine_init_argv("/s/q") == hardened({"init", "-q", "--bare", "--template=", "/s/q"}));
  CHECK(host_bundle_heads_argv("/s/b.bundle") == hardened({"bundle", "list-heads", "/s/b.bundle"}));
  CHECK(host_fetch_argv("/s/b.bundle", "api") ==
        hardened({"fetch", "--quiet", "--no-write-fetch-head", "--no-recurse-submodules", "--no-tags",
                  "--no-auto-maintenance", "/s/b.bundle", "+refs/heads/*:refs/bottles/api/*"}));
  CHECK(host_fetched_refs_argv("api") ==
        hardened({"for-each-ref", "--format=%(refname) %(objectname)", "refs/bottles/api/"}));
  CHECK(host_branch_argv("review", "refs/bottles/api/bottle/api") ==
        hardened(
            {"update-ref", "-m", "bottle-cli fetch --into", "refs/heads/review", "refs/bottles/api/bottle/api", ""}));
  CHECK(host_diff_argv(id_a, "refs/bottles/api/bottle/api") ==
        hardened({"diff", "--no-ext-diff", "--no-textconv", "--no-color", id_a, "refs/bottles/api/bottle/api", "--"}));
}

TEST_CASE("clone: the scripts run in the bottle", "[clone][argv]") {
  CHECK(guest_clone_prepare_script() == "set -eu; chown \"$1:$(id -g \"$1\")\" /workspace");
  CHECK(guest_clone_script() ==
        "set -eu\n"
        "b=$(mktemp /tmp/bottle-clone.XXXXXX)\n"
        "trap 'rm -f \"$b\"' EXIT\n"
        "cat > \"$b\"\n"
        "git clone -q --template= --no-checkout -o host \"$b\" /workspace\n"
        "cd /workspace\n"
        "git config --remove-section remote.host\n"
        "git config user.name \"$3 (bottle)\"\n"
        "git config user.email \"$3@bottle.invalid\"\n"
        "git checkout -q -b \"$1\" \"$2\"\n"
        "git for-each-ref --format='%(refname:short)' refs/heads | while read -r b; do\n"
        "  [ \"$b\" = \"$1\" ] || git branch -q -D \"$b\"\n"
        "done\n");
  CHECK(guest_status_script() ==
        "set -eu\n"
        "cd /workspace\n"
        "n=$(git status --porcelain | wc -l)\n"
        "printf 'dirty %s\\n' $n\n"
        "git for-each-ref --format='%(refname) %(objectname)' refs/heads | while read -r ref id; do\n"
        "  printf 'branch %s %s %s\\n' \"${ref#refs/heads/}\" \"$id\" \"$(git rev-list --count \"$id\" --not "
        "\"$1\")\"\n"
        "done\n");
  CHECK(guest_wip_script() ==
        "set -eu\ncd /workspace\ngit add -A\ngit -c core.hooksPath=/dev/null commit -q --no-verify -m 'WIP: "
        "uncommitted work (bottle-cli fetch --include-uncommitted)'\n");
  CHECK(guest_bundle_script() == "set -eu\ncd /workspace\ngit bundle create -q - \"$@\"\n");
}

TEST_CASE("clone: docker puts the clone in its own volume and removes it with the bottle", "[clone][docker][argv]") {
  const DockerCommands docker;
  const BottleSpec plain = minimal_docker_spec();
  const BottleSpec cloned = clone_spec();
  const auto plain_argvs = docker.create_argvs(plain, {});
  const auto argvs = docker.create_argvs(cloned, {});
  REQUIRE(argvs.size() == 3);
  CHECK(argvs[0] == plain_argvs[0]);
  CHECK(argvs[1] == Argv{"docker", "volume", "create", "--label", "io.bottle.managed=1", "--label",
                         "io.bottle.name=api", "bottle-api-repo"});
  Argv expected = plain_argvs[1];
  const auto at = std::find(expected.begin(), expected.end(), "--entrypoint");
  expected.insert(at, {"--mount", "type=volume,source=bottle-api-repo,target=/workspace", "--mount",
                       "type=volume,source=bottle-objects-7994907367ce8cdd,target=/bottle-objects,readonly"});
  CHECK(argvs[2] == expected);
  auto removes = docker.remove_argvs(plain);
  removes.push_back({"docker", "volume", "rm", "bottle-api-repo"});
  CHECK(docker.remove_argvs(cloned) == removes);
  CHECK(docker.is_gone(ProcessResult{.code = 1, .err = "Error: No such volume: bottle-api-repo"}));
  CHECK(docker.agent_argv(cloned, {}, false).prefix[3] == "/workspace");
}

TEST_CASE("clone: status from the bottle is parsed strictly", "[clone][parse]") {
  CHECK(parse_clone_status("dirty 2\nbranch bottle/api " + id_a + " 3\nbranch main " + id_b + " 0\n") ==
        CloneStatus{.dirty = 2,
                    .branches = {{.name = "bottle/api", .commit = id_a, .ahead = 3},
                                 {.name = "main", .commit = id_b, .ahead = 0}}});
  CHECK(parse_clone_status("dirty 0\n") == CloneStatus{});
  CHECK(error_of([] { parse_clone_status(""); }, ErrorKind::backend) == "clone status from the bottle: no output");
  CHECK(error_of([] { parse_clone_status("dirty x\n"); }, ErrorKind::backend) ==
        "clone status from the bottle: unexpected line 'dirty x'");
  CHECK(error_of([&] { parse_clone_status("dirty 0\nbranch -x " + id_a + " 1\n"); }, ErrorKind::backend) ==
        "clone status from the bottle: unexpected line 'branch -x " + id_a + " 1'");
  CHECK(error_of([] { parse_clone_status("dirty 0\nbranch a zz 1\n"); }, ErrorKind::backend) ==
        "clone status from the bottle: unexpected line 'branch a zz 1'");
  CHECK(error_of([] { parse_clone_status("dirty 0\n\x1b[2J\n"); }, ErrorKind::backend) ==
        "clone status from the bottle: unexpected line '\\x1b[2J'");
}

TEST_CASE("clone: a bundle may carry branches only", "[clone][parse]") {
  CHECK(parse_bundle_heads(id_a + " refs/heads/bottle/api\n" + id_b + " refs/heads/x\n") ==
        std::vector<std::pair<std::string, std::string>>{{id_a, "refs/heads/bottle/api"}, {id_b, "refs/heads/x"}});
  CHECK(error_of([&] { parse_bundle_heads(id_a + " refs/tags/v1\n"); }, ErrorKind::isolation) ==
        "fetch: the bundle from the bottle carries '" + id_a + " refs/tags/v1', not a branch; refused");
  CHECK(error_of([&] { parse_bundle_heads(id_a + " HEAD\n"); }, ErrorKind::isolation).find("refused") !=
        std::string::npos);
  CHECK(error_of([&] { parse_bundle_heads(id_a + " refs/heads/a..b\n"); }, ErrorKind::isolation).find("refused") !=
        std::string::npos);
  CHECK(error_of([] { parse_bundle_heads(""); }, ErrorKind::isolation) ==
        "fetch: the bundle from the bottle carries no branch; refused");
}

TEST_CASE("clone: fetched refs, unfetched work and what rm would lose", "[clone][parse]") {
  const auto fetched = parse_fetched_refs("refs/bottles/api/bottle/api " + id_a + "\n", "api");
  CHECK(fetched == std::map<std::string, std::string>{{"bottle/api", id_a}});
  CHECK(parse_fetched_refs("", "api").empty());
  CHECK(error_of([&] { parse_fetched_refs("refs/bottles/apix/y " + id_a + "\n", "api"); }, ErrorKind::backend) ==
        "git for-each-ref: unexpected line 'refs/bottles/apix/y " + id_a + "'");

  const CloneStatus status{.dirty = 0,
                           .branches = {{.name = "bottle/api", .commit = id_a, .ahead = 2},
                                        {.name = "main", .commit = id_b, .ahead = 0},
                                        {.name = "side", .commit = id_b, .ahead = 1}}};
  CHECK(unfetched_branches(status, fetched) == std::vector<CloneBranch>{{.name = "side", .commit = id_b, .ahead = 1}});
  CHECK(unfetched_branches(status, {{"bottle/api", id_b}, {"side", id_b}}) ==
        std::vector<CloneBranch>{{.name = "bottle/api", .commit = id_a, .ahead = 2}});
  CHECK(describe_unfetched_work(CloneStatus{.dirty = 3}, unfetched_branches(status, {})) ==
        "3 uncommitted paths; branch bottle/api: 2 commits ahead of the base, not fetched; branch side: 1 commit "
        "ahead of the base, not fetched");
  CHECK(describe_unfetched_work(CloneStatus{.dirty = 1}, {}) == "1 uncommitted path");
  CHECK(describe_unfetched_work(status, unfetched_branches(status, {{"bottle/api", id_a}, {"side", id_b}})).empty());
}

TEST_CASE("clone: fetch arguments", "[clone][cli]") {
  std::string name;
  FetchOptions o = parse_fetch_args({"api", "--into", "review/api", "--include-uncommitted"}, name);
  CHECK(name == "api");
  CHECK(o.into == "review/api");
  CHECK(o.include_uncommitted);
  name.clear();
  o = parse_fetch_args({"api"}, name);
  CHECK(o.into.empty());
  CHECK_FALSE(o.include_uncommitted);
  std::string n;
  CHECK(error_of([&] { parse_fetch_args({}, n); }, ErrorKind::usage) == "fetch: missing bottle NAME");
  n.clear();
  CHECK(error_of([&] { parse_fetch_args({"api", "--into"}, n); }, ErrorKind::usage) == "fetch: --into needs a BRANCH");
  n.clear();
  CHECK(error_of([&] { parse_fetch_args({"api", "--into", "-f"}, n); }) == "--into: must not start with '-' or '/'");
  n.clear();
  CHECK(error_of(
            [&] {
              parse_fetch_args({"api", "--into", "a", "--into", "b"}, n);
            },
            ErrorKind::usage) == "fetch: --into given twice");
  n.clear();
  CHECK(error_of(
            [&] {
              parse_fetch_args({"api", "--force"}, n);
            },
            ErrorKind::usage) == "fetch: unknown option '--force'");
  n.clear();
  CHECK(error_of(
            [&] {
              parse_fetch_args({"api", "b"}, n);
            },
            ErrorKind::usage) == "fetch: takes one bottle name, got 'b' too");
}

TEST_CASE("clone: --repo, --branch and --base flags", "[clone][cli]") {
  TempDir dir;
  const std::string repo = (dir.path() / "myrepo").string();
  std::filesystem::create_directories(repo);
  SpecOverrides o;
  Argv args{"--repo", "myrepo/", "--branch", "work/a", "--base", "main~2"};
  for (std::size_t i = 0; i < args.size(); ++i) REQUIRE(o.consume(args, i));
  const BottleSpec s = apply_overrides(BottleSpec{}, o, dir.path().string());
  REQUIRE(s.repo);
  CHECK(*s.repo == RepoSpec{.path = repo, .branch = "work/a", .base = "main~2"});
  CHECK(s.name == "myrepo-claude");
  CHECK(s.workspaces.empty());

  SpecOverrides no_repo;
  Argv branch_only{"--branch", "x"};
  std::size_t i = 0;
  REQUIRE(no_repo.consume(branch_only, i));
  CHECK(error_of([&] { apply_overrides(BottleSpec{}, no_repo, dir.path().string()); }, ErrorKind::usage) ==
        "--branch: needs --repo (clone mode)");

  SpecOverrides missing;
  missing.repo = "nope";
  CHECK(error_of([&] { apply_overrides(BottleSpec{}, missing, dir.path().string()); }) ==
        "--repo: " + (dir.path() / "nope").string() + ": not a directory");

  SpecOverrides bad_branch;
  bad_branch.repo = repo;
  bad_branch.branch = "a..b";
  CHECK(error_of([&] { apply_overrides(BottleSpec{}, bad_branch, dir.path().string()); }) ==
        "--branch: must not contain \"..\" or \"//\"");
  SpecOverrides bad_base;
  bad_base.repo = repo;
  bad_base.base = "-x";
  CHECK(error_of([&] { apply_overrides(BottleSpec{}, bad_base, dir.path().string()); }) ==
        "--base: must not start with '-'");
}
