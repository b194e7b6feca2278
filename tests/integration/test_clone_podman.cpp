// Clone mode on real Podman: each pod's clone is a volume of its own (the played
// pod's emptyDir), filled from a host bundle at the first start, kept across stop
// and start, and its work comes back only through the bundle gate. The pod has no
// root, so the clone is made as the agent; two bottles on one repository never see
// each other's work, and host git never runs what an agent planted in its clone.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_harness.hpp"
#include "clone_harness.hpp"
#include "podman_harness.hpp"

namespace fs = std::filesystem;

namespace {

using clone_test::git;

constexpr const char* git_image = "bottle-test-git:latest";

bool podman_volume_exists(IntegrationHome& home, const std::string& volume) {
  return home.run({"podman", "volume", "exists", volume}).ok();
}

}  // namespace

TEST_CASE("clone mode on podman: two pods on one repo, each clone its own volume, work fetched through the gate",
          "[podman][integration][clone]") {
  IntegrationHome home;
  use_podman(home, {git_image});
  const fs::path repo = clone_test::make_host_repo(home.path());
  const std::string head_before = git(repo, {"rev-parse", "HEAD"});
  const fs::path marker = home.path() / "host-marker";

  const std::vector<std::string> names{unique_bottle_name("it-pclone1"), unique_bottle_name("it-pclone2")};
  const clone_test::BottlesCleanup cleanup{home, names};
  for (const auto& name : names) {
    const auto r = home.cli({"create", "--backend", "podman", "--name", name, "--image", git_image, "--no-egress",
                             "--repo", repo.string()});
    INFO(name << ": " << r.out << r.err);
    REQUIRE(r.ok());
    CHECK(podman_volume_exists(home, "bottle-" + name + "-clone"));
  }

  // Each agent, in /workspace on its own branch, commits; the other clone is unchanged.
  clone_test::agents_commit_on_their_branches(home, names);

  // The second agent plants what would run if host git read its clone.
  clone_test::plant_host_markers(home, names[1], marker);

  // The clone outlives stop and start; rm of the stopped bottle refuses to lose its work.
  REQUIRE(home.cli({"stop", names[0]}).ok());
  auto r = home.cli({"rm", names[0]});
  CHECK(r.code == 5);
  CHECK_THAT(r.err, Catch::Contains("branch bottle/" + names[0] + ": 1 commit ahead of the base, not fetched"));
  REQUIRE(home.cli({"start", names[0]}).ok());
  r = home.cli({"exec", names[0], "--", "sh", "-c", "git log --oneline | wc -l"});
  CHECK(r.out == "3\n");

  clone_test::fetch_each(home, repo, names, head_before);
  CHECK(git(repo, {"rev-parse", "HEAD"}) == head_before);
  CHECK(git(repo, {"symbolic-ref", "HEAD"}) == "refs/heads/main");
  CHECK(clone_test::markers_that_ran(home.path(), "host-marker").empty());

  // Everything fetched: rm goes through and takes the clone's volume.
  REQUIRE(home.cli({"stop", names[0]}).ok());
  r = home.cli({"rm", names[0]});
  INFO(r.err);
  CHECK(r.ok());
  CHECK_FALSE(podman_volume_exists(home, "bottle-" + names[0] + "-clone"));
}
