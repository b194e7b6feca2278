// Clone mode with the real Docker engine and real git: several bottles on one host
// repository, each in its own clone, their work fetched back through the bundle
// gate; rm that would lose work; planted git config and hooks that never run on
// the host; a corrupt bundle refused.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/ops/clone_ops.hpp"
#include "bottle/workspace/object_cache.hpp"
#include "cli_harness.hpp"
#include "clone_harness.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* git_image = "bottle-test-git:latest";

using clone_test::git;
using clone_test::make_host_repo;
using clone_test::run;
using clone_test::write;

struct Bottles {
  IntegrationHome& home;
  std::vector<std::string> names;
  std::string cache = {};  ///< the repository's object cache volume, removed last
  ~Bottles() {
    for (const auto& name : names) {
      home.cli({"rm", "--force", name});
      run({"docker", "rm", "-f", "bottle-" + name});
      run({"docker", "network", "rm", "bottle-" + name + "-net"});
      run({"docker", "volume", "rm", "bottle-" + name + "-repo"});
    }
    if (!cache.empty()) run({"docker", "volume", "rm", cache});
  }
};

bool volume_exists(const std::string& name) { return run({"docker", "volume", "inspect", name}).ok(); }

}  // namespace

TEST_CASE("clone mode: bad --repo, --base and --branch are refused, nothing created", "[docker][integration][clone]") {
  IntegrationHome home;
  const fs::path repo = make_host_repo(home.path());
  const std::string name = unique_bottle_name("it-clone-bad");
  Bottles guard{home, {name}};

  const fs::path plain = home.path() / "plain";
  fs::create_directories(plain);
  auto r = home.cli({"create", "--name", name, "--image", git_image, "--no-egress", "--repo", plain.string()});
  CHECK(r.code == 3);
  CHECK(r.err.find("$.repo.path: " + plain.string() + ": not a git repository") != std::string::npos);

  const fs::path bare = home.path() / "bare.git";
  git(home.path(), {"init", "-q", "--bare", bare.string()});
  r = home.cli({"create", "--name", name, "--image", git_image, "--no-egress", "--repo", bare.string()});
  CHECK(r.code == 3);
  CHECK(r.err.find("is a bare repository") != std::string::npos);

  r = home.cli({"create", "--name", name, "--image", git_image, "--no-egress", "--repo", (repo / "src").string()});
  CHECK(r.code == 3);
  // Discovery stops at the given path's parent: a subdirectory is no repository.
  CHECK(r.err.find((repo / "src").string() + ": not a git repository") != std::string::npos);

  r = home.cli({"create", "--name", name, "--image", git_image, "--no-egress", "--repo", repo.string(), "--base",
                "no-such-rev"});
  CHECK(r.code == 3);
  CHECK(r.err.find("$.repo.base: 'no-such-rev' is not a commit") != std::string::npos);

  r = home.cli(
      {"create", "--name", name, "--image", git_image, "--no-egress", "--repo", repo.string(), "--branch", "a..b"});
  CHECK(r.code == 3);
  CHECK(r.err.find("--branch: must not contain") != std::string::npos);

  r = home.cli({"ls", "--json"});
  CHECK(r.out.find(name) == std::string::npos);
  CHECK_FALSE(volume_exists("bottle-" + name + "-repo"));
  CHECK_FALSE(run({"docker", "inspect", "bottle-" + name}).ok());
}

TEST_CASE("clone mode: three bottles on one repo, work fetched back, the user's branch never moves",
          "[docker][integration][clone]") {
  IntegrationHome home;
  const fs::path repo = make_host_repo(home.path());
  write(repo / "scratch.txt", "host work in progress\n");  // untracked: the clone has no copy
  const std::string head_before = git(repo, {"rev-parse", "HEAD"});
  const std::string status_before = git(repo, {"status", "--porcelain"});
  // Planted config in the bottle writes here if it ever runs on the host.
  const fs::path marker = home.path() / "host-marker";

  std::vector<std::string> names;
  for (int i = 1; i <= 3; ++i) names.push_back(unique_bottle_name("it-clone" + std::to_string(i)));
  Bottles guard{home, names, bottle::object_cache_volume_name(repo.string())};
  for (const auto& name : names) {
    const auto r = home.cli({"create", "--name", name, "--image", git_image, "--no-egress", "--repo", repo.string()});
    INFO(name << ": " << r.out << r.err);
    REQUIRE(r.ok());
    CHECK(r.err.find("has uncommitted changes; they are not in the clone") != std::string::npos);
    CHECK(volume_exists("bottle-" + name + "-repo"));
  }

  // Each agent: full git in its own clone, on its own branch.
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    const auto r =
        home.cli({"exec", names[i], "--", "sh", "-c",
                  "set -e; test \"$(git branch --show-current)\" = bottle/" + names[i] + "; test ! -e scratch.txt; " +
                      "git branch -r | grep -q host/main; echo agent" + n + " > agent" + n + ".txt; git add agent" + n +
                      ".txt; git commit -qm 'agent " + n + "'; git log --oneline | wc -l"});
    INFO(r.out << r.err);
    REQUIRE(r.ok());
    CHECK(r.out == "3\n");
  }
  // The third agent plants everything that would run if host git read its clone.
  const std::string plant =
      "set -e; m=" + marker.string() +
      "\n"
      "git config core.fsmonitor \"touch $m-fsmonitor\"\n"
      "git config core.pager \"touch $m-pager\"\n"
      "git config diff.external \"touch $m-diffext\"\n"
      "git config filter.evil.clean \"touch $m-clean; cat\"\n"
      "git config filter.evil.smudge \"touch $m-smudge; cat\"\n"
      "git config diff.evil.textconv \"touch $m-textconv; cat\"\n"
      "git config uploadpack.packObjectsHook \"touch $m-packhook\"\n"
      "mkdir -p .git/hooks\n"
      "for h in post-checkout reference-transaction pre-push post-merge; do\n"
      "  printf '#!/bin/sh\\ntouch %s-%s\\n' \"$m\" \"$h\" > .git/hooks/$h; chmod +x .git/hooks/$h\n"
      "done\n"
      "printf '* filter=evil diff=evil\\n' > .gitattributes\n"
      "echo planted > planted.txt\n"
      "git add .gitattributes planted.txt\n"
      "git -c core.hooksPath=/dev/null commit -qm planted\n";
  auto r = home.cli({"exec", names[2], "--", "sh", "-c", plant});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  // Control: the planted vectors are live. Inside the bottle (where the same path
  // is made), git runs them; so a marker on the host could only come from host git.
  r = home.cli({"exec", names[2], "--", "sh", "-c",
                "mkdir -p " + home.path().string() + " && git status >/dev/null 2>&1; git checkout -q -b probe; " +
                    "git checkout -q -; git branch -q -D probe; ls " + home.path().string()});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(r.out.find("host-marker-fsmonitor") != std::string::npos);
  CHECK(r.out.find("host-marker-post-checkout") != std::string::npos);
  CHECK(r.out.find("host-marker-reference-transaction") != std::string::npos);

  // rm of a running one needs --force, and says what that would lose.
  r = home.cli({"rm", names[0]});
  CHECK(r.code == 5);
  CHECK(r.err.find("is running; stop it first or use --force (--force would lose: branch bottle/" + names[0] +
                   ": 1 commit ahead of the base, not fetched)") != std::string::npos);
  // rm of a stopped bottle with unfetched work is refused, and says what it would lose.
  REQUIRE(home.cli({"stop", names[0]}).ok());
  r = home.cli({"rm", names[0]});
  CHECK(r.code == 5);
  CHECK(r.err.find("branch bottle/" + names[0] + ": 1 commit ahead of the base, not fetched") != std::string::npos);
  CHECK(volume_exists("bottle-" + names[0] + "-repo"));
  REQUIRE(home.cli({"start", names[0]}).ok());

  // Two fetches at once both succeed.
  {
    bottle::SystemRunner runner;
    auto first = runner.start({.argv = {test_paths::bottle_cli, "fetch", names[0]}, .env = home.env()});
    auto second = runner.start({.argv = {test_paths::bottle_cli, "fetch", names[1]}, .env = home.env()});
    const auto a = first->wait();
    const auto b = second->wait();
    INFO(a.out << a.err << b.out << b.err);
    CHECK(a.ok());
    CHECK(b.ok());
  }
  // Two fetches of one bottle at once (the CLI and the dashboard's f) take turns: both
  // ask for a WIP commit of the same uncommitted file; the first makes it, the second
  // finds nothing left to commit. Without the turn-taking one of them fails.
  {
    REQUIRE(home.cli({"exec", names[1], "--", "sh", "-c", "echo wip > wip.txt"}).ok());
    bottle::SystemRunner runner;
    auto first =
        runner.start({.argv = {test_paths::bottle_cli, "fetch", "--include-uncommitted", names[1]}, .env = home.env()});
    auto second =
        runner.start({.argv = {test_paths::bottle_cli, "fetch", "--include-uncommitted", names[1]}, .env = home.env()});
    const auto a = first->wait();
    const auto b = second->wait();
    INFO(a.out << a.err << b.out << b.err);
    CHECK(a.ok());
    CHECK(b.ok());
    r = home.cli({"exec", names[1], "--", "sh", "-c", "git status --porcelain | wc -l; git log --oneline | wc -l"});
    CHECK(r.out == "0\n4\n");
  }
  r = home.cli({"fetch", names[2], "--into", "review3"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(r.out.find("fetched bottle/" + names[2] + " -> refs/bottles/" + names[2] + "/bottle/" + names[2] +
                   " (2 commits ahead of the base)") != std::string::npos);
  r = home.cli({"fetch", names[2], "--into", "review3"});
  CHECK(r.code == 5);
  CHECK(r.err.find("branch review3 already exists") != std::string::npos);

  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string ref = "refs/bottles/" + names[i] + "/bottle/" + names[i];
    CHECK(git(repo, {"show", ref + ":agent" + std::to_string(i + 1) + ".txt"}) == "agent" + std::to_string(i + 1));
    CHECK(git(repo, {"merge-base", ref, "main"}) == head_before);
  }
  CHECK(git(repo, {"rev-parse", "review3"}) ==
        git(repo, {"rev-parse", "refs/bottles/" + names[2] + "/bottle/" + names[2]}));
  // The user's checked-out branch and work tree did not move.
  CHECK(git(repo, {"symbolic-ref", "HEAD"}) == "refs/heads/main");
  CHECK(git(repo, {"rev-parse", "HEAD"}) == head_before);
  CHECK(git(repo, {"status", "--porcelain"}) == status_before);

  // diff: the agent's change against its base, computed on the host.
  r = home.cli({"diff", names[2]});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(r.out.find("+agent3") != std::string::npos);
  CHECK(r.out.find("+planted") != std::string::npos);

  // Nothing planted in the clone ran on the host during fetch or diff.
  std::vector<std::string> ran;
  for (const auto& e : fs::directory_iterator(home.path()))
    if (e.path().filename().string().rfind("host-marker", 0) == 0) ran.push_back(e.path().filename().string());
  CHECK(ran.empty());

  // Uncommitted work is reported, and --include-uncommitted brings it as a WIP commit.
  REQUIRE(home.cli({"exec", names[0], "--", "sh", "-c", "echo wip > wip.txt"}).ok());
  r = home.cli({"fetch", names[0]});
  CHECK(r.ok());
  CHECK(r.err.find("1 uncommitted path that were not fetched") != std::string::npos);
  r = home.cli({"fetch", names[0], "--include-uncommitted"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(git(repo, {"show", "refs/bottles/" + names[0] + "/bottle/" + names[0] + ":wip.txt"}) == "wip");

  // Everything fetched: rm of the stopped bottle goes through, and takes its volume.
  REQUIRE(home.cli({"stop", names[0]}).ok());
  r = home.cli({"rm", names[0]});
  INFO(r.err);
  CHECK(r.ok());
  CHECK_FALSE(volume_exists("bottle-" + names[0] + "-repo"));
  // Uncommitted work alone also blocks rm; --force overrides.
  REQUIRE(home.cli({"exec", names[1], "--", "sh", "-c", "echo x >> agent2.txt"}).ok());
  REQUIRE(home.cli({"stop", names[1]}).ok());
  r = home.cli({"rm", names[1]});
  CHECK(r.code == 5);
  CHECK(r.err.find("1 uncommitted path") != std::string::npos);
  CHECK(home.cli({"rm", "--force", names[1]}).ok());
  CHECK_FALSE(volume_exists("bottle-" + names[1] + "-repo"));
}

TEST_CASE("clone mode: a corrupt bundle is refused and the host repo is untouched", "[integration][clone]") {
  IntegrationHome home;
  const fs::path repo = make_host_repo(home.path());
  const fs::path agent = home.path() / "agent";
  git(home.path(), {"clone", "-q", repo.string(), agent.string()});
  git(agent, {"checkout", "-q", "-b", "work"});
  write(agent / "new.txt", std::string(4096, 'x') + "\n");
  git(agent, {"add", "new.txt"});
  git(agent, {"-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "work"});
  const fs::path good = home.path() / "good.bundle";
  git(agent, {"bundle", "create", "-q", good.string(), "refs/heads/work", "^main"});

  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 200);
  const auto snapshot = [&] {
    std::string all = git(repo, {"for-each-ref"});
    for (const auto& e : fs::recursive_directory_iterator(repo / ".git" / "objects")) all += e.path().string() + "\n";
    return all;
  };
  const std::string before = snapshot();
  bottle::SystemRunner runner;
  const std::string git_dir = (repo / ".git").string();
  const auto corrupt_with = [&](const std::string& variant, const std::string& data) {
    const fs::path file = home.path() / (variant + ".bundle");
    std::ofstream(file, std::ios::binary) << data;
    try {
      bottle::import_bundle(runner, git_dir, file, "b1");
      FAIL(variant << ": the corrupt bundle was accepted");
    } catch (const bottle::Error& e) {
      INFO(variant << ": " << e.what());
      CHECK(e.kind() == bottle::ErrorKind::isolation);
      CHECK(std::string(e.what()).find("nothing was fetched") != std::string::npos);
    }
    CHECK(snapshot() == before);
  };
  std::string flipped = bytes;
  flipped[flipped.size() - 30] = static_cast<char>(flipped[flipped.size() - 30] ^ 0x55);
  corrupt_with("flipped", flipped);
  corrupt_with("truncated", bytes.substr(0, bytes.size() - 40));
  corrupt_with("garbage", "not a bundle at all\n");

  // The intact bundle goes through: the gate refuses corruption, not work.
  const auto heads = bottle::import_bundle(runner, git_dir, good, "b1");
  REQUIRE(heads.size() == 1);
  CHECK(heads[0].second == "refs/heads/work");
  CHECK(git(repo, {"show", "refs/bottles/b1/work:new.txt"}).size() == 4096);
}
