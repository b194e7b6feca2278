#pragma once
// What the clone-mode integration tests share: running a host program, host git in a
// test repository, and writing a file of it.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "cli_harness.hpp"

namespace clone_test {

namespace fs = std::filesystem;

inline bottle::ProcessResult run(const std::vector<std::string>& argv, const std::string& cwd = {}) {
  bottle::SystemRunner runner;
  return runner.run({.argv = argv, .cwd = cwd});
}

/// `git -C repo ARGS`, which must succeed; its stdout without trailing newlines.
inline std::string git(const fs::path& repo, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"git", "-C", repo.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run(argv);
  INFO("git " << args.front() << ": " << r.err);
  REQUIRE(r.ok());
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

/// A host repository ROOT/repo with two commits on main (README, then src/a.txt),
/// checked out.
inline fs::path make_host_repo(const fs::path& root) {
  const fs::path repo = root / "repo";
  fs::create_directories(repo);
  git(repo, {"init", "-q", "-b", "main"});
  git(repo, {"config", "user.name", "host"});
  git(repo, {"config", "user.email", "host@example.invalid"});
  write(repo / "README", "hello\n");
  git(repo, {"add", "README"});
  git(repo, {"commit", "-q", "-m", "first"});
  write(repo / "src" / "a.txt", "a\n");
  git(repo, {"add", "src"});
  git(repo, {"commit", "-q", "-m", "second"});
  return repo;
}

/// Run as the agent in /workspace of the bottle of `branch` (uid 1000), after
/// `checks`: commits agentN.txt on its own branch, then prints `ls` and the number of
/// commits.
inline std::string agent_commit_script(const std::string& branch, std::size_t n, const std::string& checks = {}) {
  const std::string file = "agent" + std::to_string(n) + ".txt";
  return "set -e; test \"$(pwd)\" = /workspace; test \"$(id -u)\" = 1000; " + checks +
         "test \"$(git branch --show-current)\" = " + branch + "; echo agent" + std::to_string(n) + " > " + file +
         "; git add " + file + "; git commit -qm 'agent " + std::to_string(n) + "'; ls; git log --oneline | wc -l";
}

/// Run in a clone: config and hooks that would each touch MARKER-<what> on the host
/// if host git ever ran them.
inline std::string plant_host_markers_script(const fs::path& marker) {
  return "set -e; m=" + marker.string() +
         "\n"
         "git config core.fsmonitor \"touch $m-fsmonitor\"\n"
         "git config core.pager \"touch $m-pager\"\n"
         "git config uploadpack.packObjectsHook \"touch $m-packhook\"\n"
         "mkdir -p .git/hooks\n"
         "for h in post-checkout reference-transaction; do\n"
         "  printf '#!/bin/sh\\ntouch %s-%s\\n' \"$m\" \"$h\" > .git/hooks/$h; chmod +x .git/hooks/$h\n"
         "done\n";
}

/// Removes every bottle of `names` (rm --force) when the test ends, however it ends.
struct BottlesCleanup {
  IntegrationHome& home;
  std::vector<std::string> names;
  ~BottlesCleanup() {
    for (const auto& name : names) home.cli({"rm", "--force", name});
  }
};

/// In each of `names` (clone-mode bottles of make_host_repo's repository), bottle
/// i's agent commits agent<i+1>.txt on its own branch (agent_commit_script, after
/// `checks`) and sees only that next to the repository's own files.
inline void agents_commit_on_their_branches(IntegrationHome& home, const std::vector<std::string>& names,
                                            const std::string& checks = {}) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    const auto r =
        home.cli({"exec", names[i], "--", "sh", "-c", agent_commit_script("bottle/" + names[i], i + 1, checks)});
    INFO(r.out << r.err);
    REQUIRE(r.ok());
    CHECK(r.out == "README\nagent" + n + ".txt\nsrc\n3\n");
  }
}

/// Bottle `name`'s agent plants plant_host_markers_script(marker) in its clone.
inline void plant_host_markers(IntegrationHome& home, const std::string& name, const fs::path& marker) {
  const auto r = home.cli({"exec", name, "--", "sh", "-c", plant_host_markers_script(marker)});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
}

/// `fetch` of each of `names` (after agents_commit_on_their_branches): the agent's
/// branch arrives as refs/bottles/NAME/BRANCH, holds its file, and starts at `base`.
inline void fetch_each(IntegrationHome& home, const fs::path& repo, const std::vector<std::string>& names,
                       const std::string& base) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto r = home.cli({"fetch", names[i]});
    INFO(r.out << r.err);
    REQUIRE(r.ok());
    const std::string ref = "refs/bottles/" + names[i] + "/bottle/" + names[i];
    const std::string n = std::to_string(i + 1);
    CHECK(git(repo, {"show", ref + ":agent" + n + ".txt"}) == "agent" + n);
    CHECK(git(repo, {"merge-base", ref, "main"}) == base);
  }
}

/// The markers in `dir` whose name starts with `prefix`: what host git ran.
inline std::vector<std::string> markers_that_ran(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> ran;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ran.push_back(e.path().filename().string());
  return ran;
}

}  // namespace clone_test
