#pragma once
// What the clone-mode integration tests share: running a host program, host git in a
// test repository, and writing a file of it.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"

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

/// The markers in `dir` whose name starts with `prefix`: what host git ran.
inline std::vector<std::string> markers_that_ran(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> ran;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ran.push_back(e.path().filename().string());
  return ran;
}

}  // namespace clone_test
