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

}  // namespace clone_test
