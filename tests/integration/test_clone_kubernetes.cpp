// Clone mode on the kubernetes backend, against the fake kubectl: each bottle's clone
// is a PersistentVolumeClaim of its own (a cluster deletes a stopped pod with its
// emptyDirs), given to the pod's fsGroup by the kubelet, filled from a host bundle on
// the stdin of `kubectl exec -i` at the first start, kept across stop and start, and
// its work comes back only through the bundle gate. Nothing in the pod runs as root;
// host git never runs what an agent planted in its clone.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_harness.hpp"
#include "clone_harness.hpp"
#include "kubectl_harness.hpp"

namespace fs = std::filesystem;

namespace {

using clone_test::git;

constexpr const char* git_image = "bottle-test-git:latest";

bool claim_kept(const IntegrationHome& home, const std::string& claim) {
  return fs::exists(home.path() / "kube-state" / "agents" / "persistentvolumeclaims" / (claim + ".json"));
}

bool docker_volume_exists(IntegrationHome& home, const std::string& volume) {
  return home.run({"docker", "volume", "inspect", volume}).ok();
}

}  // namespace

TEST_CASE(
    "clone mode on kubernetes: each bottle's clone is its own PVC, kept across stop, work fetched through the gate",
    "[kubernetes][integration][clone]") {
  IntegrationHome home;
  use_fake_kubectl(home);
  const fs::path repo = clone_test::make_host_repo(home.path());
  const std::string head_before = git(repo, {"rev-parse", "HEAD"});
  const fs::path marker = home.path() / "host-marker";

  const std::vector<std::string> names{unique_bottle_name("it-kclone1"), unique_bottle_name("it-kclone2")};
  const clone_test::BottlesCleanup cleanup{home, names};
  for (const auto& name : names) {
    const auto r = home.cli({"create", "--backend", "kubernetes", "--context", "fake", "--namespace", "agents",
                             "--name", name, "--image", git_image, "--no-egress", "--repo", repo.string()});
    INFO(name << ": " << r.out << r.err);
    REQUIRE(r.ok());
    CHECK(claim_kept(home, "bottle-" + name + "-clone"));
    CHECK(docker_volume_exists(home, "fakekube-agents-bottle-" + name + "-clone"));
  }

  // Each agent, in /workspace (the claim, the fsGroup's) on its own branch, commits.
  clone_test::agents_commit_on_their_branches(home, names, "test \"$(stat -c %g /workspace)\" = 1000; ");

  // The second agent plants what would run if host git read its clone.
  clone_test::plant_host_markers(home, names[1], marker);

  // stop deletes the pod and keeps the claim; rm of the stopped bottle refuses to
  // lose its work (it asks a pod started for the question, then deletes it again).
  REQUIRE(home.cli({"stop", names[0]}).ok());
  CHECK_FALSE(fs::exists(home.path() / "kube-state" / "agents" / "pods" / ("bottle-" + names[0] + "-agent.json")));
  CHECK(claim_kept(home, "bottle-" + names[0] + "-clone"));
  auto r = home.cli({"rm", names[0]});
  CHECK(r.code == 5);
  CHECK_THAT(r.err, Catch::Contains("branch bottle/" + names[0] + ": 1 commit ahead of the base, not fetched"));
  CHECK_FALSE(fs::exists(home.path() / "kube-state" / "agents" / "pods" / ("bottle-" + names[0] + "-agent.json")));
  REQUIRE(home.cli({"start", names[0]}).ok());
  r = home.cli({"exec", names[0], "--", "sh", "-c", "git log --oneline | wc -l; cat agent1.txt"});
  CHECK(r.out == "3\nagent1\n");

  clone_test::fetch_each(home, repo, names, head_before);
  // Each clone holds only its own agent's work.
  r = home.cli({"exec", names[1], "--", "sh", "-c", "ls agent*.txt"});
  CHECK(r.out == "agent2.txt\n");
  CHECK(git(repo, {"rev-parse", "HEAD"}) == head_before);
  CHECK(git(repo, {"symbolic-ref", "HEAD"}) == "refs/heads/main");
  CHECK(clone_test::markers_that_ran(home.path(), "host-marker").empty());

  // Everything fetched: rm goes through and takes the claim and its storage.
  REQUIRE(home.cli({"stop", names[0]}).ok());
  r = home.cli({"rm", names[0]});
  INFO(r.err);
  CHECK(r.ok());
  CHECK_FALSE(claim_kept(home, "bottle-" + names[0] + "-clone"));
  CHECK_FALSE(docker_volume_exists(home, "fakekube-agents-bottle-" + names[0] + "-clone"));
}
