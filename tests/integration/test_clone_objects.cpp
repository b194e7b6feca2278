// Clone mode's shared object cache with the real Docker engine and real git: two
// bottles on one repository borrow its objects from one read-only cache volume,
// the agents' commits and gc work and come back through fetch, later creates add
// only what is new, and a cache that cannot be filled creates nothing.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/workspace/object_cache.hpp"
#include "cli_harness.hpp"
#include "clone_harness.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* git_image = "bottle-test-git:latest";

using clone_test::run;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string git(const fs::path& repo, const std::vector<std::string>& args) {
  std::vector<std::string> argv{
      "git", "-C", repo.string(), "-c", "user.name=host", "-c", "user.email=h@example.invalid"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run(argv);
  INFO("git " << args.front() << ": " << r.err);
  REQUIRE(r.ok());
  return trimmed(r.out);
}

// A host repository whose one big commit (2 MiB that do not compress) dwarfs what
// an agent adds.
fs::path make_big_repo(const fs::path& root) {
  const fs::path repo = root / "big";
  fs::create_directories(repo);
  git(repo, {"init", "-q", "-b", "main"});
  std::mt19937 random(7);
  std::string data(2 << 20, '\0');
  for (auto& c : data) c = static_cast<char>(random());
  std::ofstream(repo / "blob.bin", std::ios::binary) << data;
  git(repo, {"add", "blob.bin"});
  git(repo, {"commit", "-q", "-m", "big"});
  return repo;
}

// Removes the bottles, then the cache volume (Docker refuses while one uses it).
struct Cleanup {
  IntegrationHome& home;
  std::vector<std::string> names;
  std::string cache;
  ~Cleanup() {
    for (const auto& name : names) {
      home.cli({"rm", "--force", name});
      run({"docker", "rm", "-f", "bottle-" + name});
      run({"docker", "network", "rm", "bottle-" + name + "-net"});
      run({"docker", "volume", "rm", "bottle-" + name + "-repo"});
    }
    if (!cache.empty()) run({"docker", "volume", "rm", cache});
  }
};

std::string in_bottle(IntegrationHome& home, const std::string& name, const std::string& script) {
  const auto r = home.cli({"exec", name, "--", "sh", "-c", script});
  INFO(name << ": " << script << "\n" << r.out << r.err);
  REQUIRE(r.ok());
  return trimmed(r.out);
}

std::size_t kib(const std::string& du_output) { return std::stoul(du_output.substr(0, du_output.find('\t'))); }

}  // namespace

TEST_CASE("clone objects: two bottles share one read-only cache, commit, gc and fetch back",
          "[docker][integration][clone][objects]") {
  IntegrationHome home;
  const fs::path repo = make_big_repo(home.path());
  const std::string cache = bottle::object_cache_volume_name(repo.string());
  const std::string a = unique_bottle_name("it-objs-a");
  const std::string b = unique_bottle_name("it-objs-b");
  Cleanup cleanup{home, {a, b}, cache};
  run({"docker", "volume", "rm", cache});

  for (const auto& name : {a, b}) {
    const auto r = home.cli({"create", "--name", name, "--image", git_image, "--no-egress", "--repo", repo.string()});
    INFO(name << ": " << r.out << r.err);
    REQUIRE(r.ok());
  }
  const auto labels = run({"docker", "volume", "inspect", "--format", "{{json .Labels}}", cache});
  REQUIRE(labels.ok());
  CHECK(labels.out.find("\"io.bottle.role\":\"objects\"") != std::string::npos);
  CHECK(labels.out.find("\"io.bottle.managed\":\"1\"") != std::string::npos);

  // The second bottle borrows the objects: its clone holds none of the big blob.
  CHECK(in_bottle(home, b, "cat .git/objects/info/alternates") == "/bottle-objects/repo.git/objects");
  const std::size_t clone_kib = kib(in_bottle(home, b, "du -sk .git/objects"));
  const std::size_t cache_kib = kib(in_bottle(home, b, "du -sk /bottle-objects"));
  INFO("clone " << clone_kib << " KiB, cache " << cache_kib << " KiB");
  CHECK(cache_kib > 2048);
  CHECK(clone_kib < 256);
  CHECK(in_bottle(home, b, "git cat-file -s HEAD:blob.bin") == "2097152");

  // No agent can alter what the other bottle (or a later create) reads; not even root.
  CHECK(in_bottle(home, a, "touch /bottle-objects/repo.git/objects/x 2>&1; echo rc=$?").find("Read-only file system") !=
        std::string::npos);
  const auto as_root = run({"docker", "exec", "-u", "0", "bottle-" + a, "sh", "-c",
                            "echo planted > /bottle-objects/repo.git/objects/info/alternates"});
  CHECK_FALSE(as_root.ok());
  CHECK(as_root.err.find("Read-only file system") != std::string::npos);

  // The agent's own git: commits, then a gc that keeps borrowing, then fsck.
  in_bottle(home, a,
            "set -e; echo agent > agent.txt; git add agent.txt; git commit -qm agent; git gc -q; git gc -q --prune=now;"
            " git fsck --no-progress; test -s .git/objects/info/alternates");
  CHECK(in_bottle(home, a, "git cat-file -s HEAD:blob.bin") == "2097152");
  CHECK(kib(in_bottle(home, a, "du -sk .git/objects")) < 256);

  // Fetch-back through the bundle gate still verifies and lands the commit.
  auto r = home.cli({"fetch", a});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(git(repo, {"show", "refs/bottles/" + a + "/bottle/" + a + ":agent.txt"}) == "agent");
  CHECK(git(repo, {"rev-parse", "main"}) == git(repo, {"rev-parse", "refs/bottles/" + a + "/bottle/" + a + "~1"}));
}

TEST_CASE("clone objects: later creates add only what is new", "[docker][integration][clone][objects]") {
  IntegrationHome home;
  const fs::path repo = make_big_repo(home.path());
  const std::string cache = bottle::object_cache_volume_name(repo.string());
  const std::string a = unique_bottle_name("it-objn-a");
  const std::string b = unique_bottle_name("it-objn-b");
  const std::string c = unique_bottle_name("it-objn-c");
  Cleanup cleanup{home, {a, b, c}, cache};
  run({"docker", "volume", "rm", cache});
  const auto packs = [&](const std::string& name) {
    return in_bottle(home, name, "ls /bottle-objects/repo.git/objects/pack/ | grep -c '\\.pack$'");
  };

  REQUIRE(home.cli({"create", "--name", a, "--image", git_image, "--no-egress", "--repo", repo.string()}).ok());
  CHECK(packs(a) == "1");
  // Nothing new on the host: nothing is sent.
  REQUIRE(home.cli({"create", "--name", b, "--image", git_image, "--no-egress", "--repo", repo.string()}).ok());
  CHECK(packs(b) == "1");
  // A new host commit: one small pack more, and the new bottle starts from it.
  std::ofstream(repo / "later.txt") << "later\n";
  git(repo, {"add", "later.txt"});
  git(repo, {"commit", "-q", "-m", "later"});
  REQUIRE(home.cli({"create", "--name", c, "--image", git_image, "--no-egress", "--repo", repo.string()}).ok());
  CHECK(packs(c) == "2");
  CHECK(kib(in_bottle(home, c, "du -sk /bottle-objects/repo.git/objects/pack")) < 2048 + 2048 / 2);
  CHECK(in_bottle(home, c, "cat later.txt && git rev-parse HEAD") == "later\n" + git(repo, {"rev-parse", "HEAD"}));
  // The older bottle still reads its base, and sees the new host branch tip.
  CHECK(in_bottle(home, a, "git cat-file -t " + git(repo, {"rev-parse", "HEAD"})) == "commit");
}

TEST_CASE("clone objects: a cache that cannot be filled creates nothing", "[docker][integration][clone][objects]") {
  IntegrationHome home;
  const fs::path repo = make_big_repo(home.path());
  const std::string cache = bottle::object_cache_volume_name(repo.string());
  const std::string name = unique_bottle_name("it-objs-fail");
  Cleanup cleanup{home, {name}, cache};
  run({"docker", "volume", "rm", cache});

  // bottle-test has no git: the fill container fails.
  const auto r =
      home.cli({"create", "--name", name, "--image", "bottle-test:latest", "--no-egress", "--repo", repo.string()});
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("could not fill the object cache " + cache) != std::string::npos);
  CHECK(r.err.find("the bottle was not created") != std::string::npos);
  CHECK(home.cli({"ls", "--json"}).out.find(name) == std::string::npos);
  CHECK_FALSE(run({"docker", "inspect", "bottle-" + name}).ok());
  CHECK_FALSE(run({"docker", "volume", "inspect", "bottle-" + name + "-repo"}).ok());
  // The cache never got a half-filled repository.
  const auto inside =
      run({"docker", "run", "--rm", "-v", cache + ":/c", "--entrypoint", "ls", "bottle-test:latest", "/c"});
  REQUIRE(inside.ok());
  CHECK(trimmed(inside.out).empty());
}

TEST_CASE("clone objects: two creates at once fill the cache once", "[docker][integration][clone][objects]") {
  IntegrationHome home;
  const fs::path repo = make_big_repo(home.path());
  const std::string cache = bottle::object_cache_volume_name(repo.string());
  const std::string a = unique_bottle_name("it-objc-a");
  const std::string b = unique_bottle_name("it-objc-b");
  Cleanup cleanup{home, {a, b}, cache};
  run({"docker", "volume", "rm", cache});

  bottle::SystemRunner runner;
  auto first = runner.start({.argv = {test_paths::bottle_cli, "create", "--name", a, "--image", git_image,
                                      "--no-egress", "--repo", repo.string()},
                             .env = home.env()});
  auto second = runner.start({.argv = {test_paths::bottle_cli, "create", "--name", b, "--image", git_image,
                                       "--no-egress", "--repo", repo.string()},
                              .env = home.env()});
  const auto ra = first->wait();
  const auto rb = second->wait();
  INFO(ra.out << ra.err << rb.out << rb.err);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  // The second fill waited for the first and found nothing new to send.
  CHECK(in_bottle(home, a, "ls /bottle-objects/repo.git/objects/pack/ | grep -c '\\.pack$'") == "1");
  CHECK(in_bottle(home, b, "git cat-file -s HEAD:blob.bin") == "2097152");
}
