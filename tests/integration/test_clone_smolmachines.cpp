// Clone mode on smolmachines, against the fake smolvm and real git: the clone is made
// on the VM's own disk from a host bundle sent through exec stdin, the agent's work
// comes back through the bundle gate (its bundle on exec stdout), rm refuses to lose
// unfetched work, and what the agent planted in its clone never runs on the host.
// The fake runs guest commands on this host with a root of the machine's own (its
// disk), so the agent user is `nobody` here.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "cli_harness.hpp"
#include "clone_harness.hpp"

namespace fs = std::filesystem;

namespace {

using clone_test::git;
using clone_test::run;
using clone_test::write;

std::vector<std::string> markers_in(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) found.push_back(e.path().filename().string());
  return found;
}

// Every smolvm argv the fake logged.
std::vector<std::vector<std::string>> logged_argvs(const IntegrationHome& home) {
  std::ifstream in(home.path() / "fake.log");
  std::vector<std::vector<std::string>> argvs;
  std::string line;
  while (std::getline(in, line)) {
    const auto v = boost::json::parse(line);
    const auto* argv = v.as_object().if_contains("argv");
    if (argv == nullptr) continue;
    std::vector<std::string> words;
    for (const auto& word : argv->as_array()) words.emplace_back(word.as_string());
    argvs.push_back(std::move(words));
  }
  return argvs;
}

}  // namespace

TEST_CASE("clone mode on smolmachines: the clone is on the VM disk and its work comes back through the gate",
          "[smolmachines][integration][clone]") {
  IntegrationHome home;
  home.use_fake_smolvm("1.9.2");
  const std::string name = unique_bottle_name("it-smol-clone");
  // The host repository: two commits on main, checked out, and host work in progress.
  const fs::path repo = clone_test::make_host_repo(home.path());
  write(repo / "scratch.txt", "host work in progress\n");
  const std::string head_before = git(repo, {"rev-parse", "HEAD"});
  const std::string status_before = git(repo, {"status", "--porcelain"});
  // Where planted config writes if it ever runs. The fake's guest shares this directory
  // with the host, so it tells them apart by user: only root may write here, and in the
  // guest git runs as the agent user (nobody); host git runs as root. The control run
  // in the guest points the same commands at guest_markers instead (MARK).
  const fs::path base = fs::temp_directory_path() / ("bottle-smol-clone-" + std::to_string(::getpid()));
  const fs::path markers = base / "markers", guest_markers = base / "guest-markers";
  fs::remove_all(base);
  fs::create_directories(markers);
  fs::create_directories(guest_markers);
  ::chmod(base.c_str(), 0755);
  ::chmod(markers.c_str(), 0755);
  ::chmod(guest_markers.c_str(), 0777);
  struct Cleanup {
    IntegrationHome& home;
    std::string name;
    fs::path base;
    ~Cleanup() {
      home.cli({"rm", "--force", name});
      std::error_code ec;
      fs::remove_all(base, ec);
    }
  } cleanup{home, name, base};

  auto r = home.cli({"create", "--backend", "smolmachines", "--name", name, "--user", "nobody", "--no-egress", "--repo",
                     repo.string()});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.err, Catch::Contains("has uncommitted changes; they are not in the clone"));
  // No host directory is mounted for the clone: it is on the machine's own disk.
  for (const auto& argv : logged_argvs(home))
    if (argv.size() > 2 && argv[1] == "machine" && argv[2] == "create")
      CHECK(std::find(argv.begin(), argv.end(), "-v") == argv.end());
  const fs::path machine_disk = home.path() / "fake-state" / "fs" / ("bottle-" + name) / ".root-disk";
  CHECK(fs::is_directory(machine_disk / "workspace" / ".git"));
  CHECK_FALSE(fs::exists("/workspace"));

  // The agent: full git in its own clone, on its own branch, from /workspace.
  r = home.cli({"exec", name, "--", "sh", "-c",
                "set -e; test \"$(pwd)\" = /workspace; test \"$(git branch --show-current)\" = bottle/" + name +
                    "; test ! -e scratch.txt; git branch -r | grep -q host/main; echo agent1 > agent1.txt; "
                    "git add agent1.txt; git commit -qm 'agent 1'; git log --oneline | wc -l"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(r.out == "3\n");

  // The agent plants everything that would run if host git read its clone. A trailing
  // '#' drops the arguments git appends, so nothing lands in the work tree.
  const std::string plant =
      "set -e; m='\"${MARK:-" + markers.string() +
      "}\"'\n"
      "git config core.fsmonitor \"touch $m/fsmonitor #\"\n"
      "git config core.pager \"touch $m/pager\"\n"
      "git config diff.external \"touch $m/diffext #\"\n"
      "git config filter.evil.clean \"touch $m/clean; cat\"\n"
      "git config filter.evil.smudge \"touch $m/smudge; cat\"\n"
      "git config diff.evil.textconv \"touch $m/textconv; cat\"\n"
      "git config uploadpack.packObjectsHook \"touch $m/packhook #\"\n"
      "mkdir -p .git/hooks\n"
      "for h in post-checkout reference-transaction pre-push post-merge; do\n"
      "  printf '#!/bin/sh\\ntouch %s/%s\\n' \"$m\" \"$h\" > .git/hooks/$h; chmod +x .git/hooks/$h\n"
      "done\n"
      "printf '* filter=evil diff=evil\\n' > .gitattributes\n"
      "echo planted > planted.txt\n"
      "git add .gitattributes planted.txt\n"
      "git -c core.hooksPath=/dev/null commit -qm planted\n";
  r = home.cli({"exec", name, "--", "sh", "-c", plant});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  // Control: the planted vectors are live where git reads the clone (in the guest).
  r = home.cli({"exec", name, "--", "sh", "-c",
                "export MARK=" + guest_markers.string() +
                    "; git status >/dev/null 2>&1; git checkout -q -b probe; git checkout -q -; git branch -q -D "
                    "probe; git status --porcelain"});
  INFO(r.out << r.err);
  CHECK(r.out.empty());  // and nothing they did shows up as work
  const auto live = markers_in(guest_markers);
  CHECK(std::find(live.begin(), live.end(), "fsmonitor") != live.end());
  CHECK(std::find(live.begin(), live.end(), "post-checkout") != live.end());
  CHECK(std::find(live.begin(), live.end(), "reference-transaction") != live.end());
  // As the agent, the real marker directory is out of reach.
  CHECK(markers_in(markers).empty());

  // rm of the running bottle needs --force, and says what that would lose.
  r = home.cli({"rm", name});
  CHECK(r.code == 5);
  CHECK_THAT(r.err, Catch::Contains("is running; stop it first or use --force (--force would lose: branch bottle/" +
                                    name + ": 2 commits ahead of the base, not fetched)"));
  // rm of the stopped bottle with unfetched work is refused, exit 5; the disk stays.
  REQUIRE(home.cli({"stop", name}).ok());
  r = home.cli({"rm", name});
  CHECK(r.code == 5);
  CHECK_THAT(r.err, Catch::Contains("branch bottle/" + name + ": 2 commits ahead of the base, not fetched"));
  CHECK(fs::is_directory(machine_disk / "workspace" / ".git"));
  REQUIRE(home.cli({"start", name}).ok());

  // fetch: the agent's branch lands in refs/bottles/NAME/*, the user's branch never moves.
  r = home.cli({"fetch", name, "--into", "review"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("fetched bottle/" + name + " -> refs/bottles/" + name + "/bottle/" + name +
                                    " (2 commits ahead of the base)"));
  const std::string ref = "refs/bottles/" + name + "/bottle/" + name;
  CHECK(git(repo, {"show", ref + ":agent1.txt"}) == "agent1");
  CHECK(git(repo, {"merge-base", ref, "main"}) == head_before);
  CHECK(git(repo, {"rev-parse", "review"}) == git(repo, {"rev-parse", ref}));
  CHECK(git(repo, {"symbolic-ref", "HEAD"}) == "refs/heads/main");
  CHECK(git(repo, {"rev-parse", "HEAD"}) == head_before);
  CHECK(git(repo, {"status", "--porcelain"}) == status_before);

  // diff: the agent's change against its base, computed on the host.
  r = home.cli({"diff", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("+agent1"));
  CHECK_THAT(r.out, Catch::Contains("+planted"));
  // Nothing planted in the clone ran on the host during fetch or diff.
  CHECK(markers_in(markers).empty());

  // Uncommitted work is reported, and --include-uncommitted brings it as a WIP commit.
  REQUIRE(home.cli({"exec", name, "--", "sh", "-c", "echo wip > wip.txt"}).ok());
  r = home.cli({"fetch", name});
  CHECK(r.ok());
  CHECK_THAT(r.err, Catch::Contains("1 uncommitted path that were not fetched"));
  r = home.cli({"fetch", name, "--include-uncommitted"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(git(repo, {"show", ref + ":wip.txt"}) == "wip");
  CHECK(markers_in(markers).empty());

  // Everything fetched: rm of the stopped bottle goes through, and takes the VM's disk.
  REQUIRE(home.cli({"stop", name}).ok());
  r = home.cli({"rm", name});
  INFO(r.err);
  CHECK(r.ok());
  CHECK_FALSE(fs::exists(machine_disk));
}
