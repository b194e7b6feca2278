// bottle-cli --backend podman on real rootful Podman (`podman kube play` of the
// generated agent pod). Needs podman, Docker and bottle-test:latest in Docker's
// store: each test copies the image into Podman's store (docker save | podman load),
// so no hand-made state is assumed.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli_harness.hpp"

namespace {

// Podman as root sets RLIMIT_NOFILE to 1048576 in every container; where root may
// not raise its own limits (inside an unprivileged container, as in CI), runc then
// fails with "error setting rlimits". containers.conf's default_ulimits replaces
// Podman's defaults; the values here are ones this process may set.
void use_podman(IntegrationHome& home) {
  struct rlimit files {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  const auto conf = home.path() / "containers.conf";
  std::ofstream(conf) << "[containers]\ndefault_ulimits = [\"nofile=" << files.rlim_max << ":" << files.rlim_max
                      << "\", \"nproc=4096:4096\"]\n";
  home.env()["CONTAINERS_CONF"] = conf.string();
  const auto loaded =
      home.run({"bash", "-c", "set -o pipefail; docker save bottle-test:latest | podman load -q >/dev/null"});
  INFO(loaded.err);
  REQUIRE(loaded.ok());
}

std::vector<std::string> create_args(const std::string& name, const std::string& image = "bottle-test:latest") {
  return {"create", "--backend", "podman", "--name", name, "--no-egress", "--image", image};
}

// What Podman holds of `pod` (its containers and volumes too), as "kind name" lines.
std::vector<std::string> podman_objects(IntegrationHome& home, const std::string& pod) {
  std::vector<std::string> found;
  const auto pods = home.run({"podman", "pod", "ps", "--format", "{{.Name}}"});
  REQUIRE(pods.ok());
  const auto containers = home.run({"podman", "ps", "-a", "--format", "{{.Names}}"});
  REQUIRE(containers.ok());
  const auto volumes = home.run({"podman", "volume", "ls", "--format", "{{.Name}}"});
  REQUIRE(volumes.ok());
  // Bottle names are unique to this process, so a prefix match finds only ours.
  const std::string base = pod.substr(0, pod.size() - std::string("-agent").size());
  for (const auto& [kind, out] :
       {std::pair<std::string, std::string>{"pod", pods.out}, {"container", containers.out}, {"volume", volumes.out}}) {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line))
      if (line.rfind(base + "-", 0) == 0) found.push_back(kind + " " + line);
  }
  std::sort(found.begin(), found.end());
  return found;
}

// This bottle's row in `ls --json`, if listed. Podman's store is the machine's, so
// other bottles (another test's, running at the same time) may be listed too.
std::optional<boost::json::object> ls_row(IntegrationHome& home, const std::string& name) {
  const auto r = home.cli({"ls", "--json"});
  REQUIRE(r.ok());
  const boost::json::value rows = boost::json::parse(r.out);
  for (const auto& v : rows.as_array())
    if (v.as_object().at("name") == name.c_str()) return v.as_object();
  return std::nullopt;
}

}  // namespace

TEST_CASE("podman: create, ls, exec, stop, start, rm of a --no-egress bottle on real podman", "[podman][integration]") {
  IntegrationHome home;
  use_podman(home);
  const std::string name = unique_bottle_name("it-podman");
  const std::string pod = "bottle-" + name + "-agent";

  auto r = home.cli(create_args(name));
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(podman_objects(home, pod) == std::vector<std::string>{"container " + pod + "-agent", "pod " + pod,
                                                              "volume bottle-" + name + "-home",
                                                              "volume bottle-" + name + "-tmp"});

  const auto row = ls_row(home, name);
  REQUIRE(row.has_value());
  CHECK(row->at("backend") == "podman");
  CHECK(row->at("state") == "running");
  CHECK(row->at("egress") == "off");

  // The pod's uid, working directory and exit status; a read-only root; no network
  // but loopback; no capability in any set; no_new_privs.
  r = home.cli({"exec", name, "--", "sh", "-c", "id -u; pwd; exit 3"});
  INFO(r.err);
  CHECK(r.code == 3);
  CHECK(r.out == "1000\n/home/node\n");
  r = home.cli({"exec", name, "--", "sh", "-c", "touch /bottle-root-test"});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("Read-only file system"));
  r = home.cli({"exec", name, "--", "sh", "-c", "ls /sys/class/net"});
  CHECK(r.out == "lo\n");
  r = home.cli({"exec", name, "--", "sh", "-c", "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status"});
  CHECK(r.out ==
        "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
        "CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n");
  // The home is writable, and it is this bottle's own volume.
  r = home.cli({"exec", name, "--", "sh", "-c", "echo kept > ~/note && cat ~/note"});
  CHECK(r.out == "kept\n");

  // The network canaries pass: nothing public, nothing on the host.
  r = home.cli({"check", "--json", name});
  INFO(r.out);
  CHECK(r.code == 0);

  r = home.cli({"stop", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(ls_row(home, name).value_or(boost::json::object{}).at("state") == "stopped");
  r = home.cli({"exec", name, "--", "true"});
  CHECK(r.code != 0);

  // start runs the canaries before it hands the bottle over, as on Docker.
  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(ls_row(home, name).value_or(boost::json::object{}).at("state") == "running");
  CHECK(home.cli({"exec", name, "--", "cat", "/home/node/note"}).out == "kept\n");

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_FALSE(ls_row(home, name).has_value());
  CHECK(podman_objects(home, pod).empty());
}

TEST_CASE("podman: two bottles do not share a home", "[podman][integration]") {
  IntegrationHome home;
  use_podman(home);
  const std::string a = unique_bottle_name("it-podman-a"), b = unique_bottle_name("it-podman-b");
  REQUIRE(home.cli(create_args(a)).ok());
  REQUIRE(home.cli(create_args(b)).ok());
  CHECK(home.cli({"exec", a, "--", "sh", "-c", "echo from-a > ~/mine"}).ok());
  const auto r = home.cli({"exec", b, "--", "sh", "-c", "cat ~/mine"});
  CHECK(r.code != 0);
  CHECK(r.out.empty());
  CHECK(home.cli({"rm", "--force", a}).ok());
  CHECK(home.cli({"rm", "--force", b}).ok());
  CHECK(podman_objects(home, "bottle-" + a + "-agent").empty());
  CHECK(podman_objects(home, "bottle-" + b + "-agent").empty());
}

TEST_CASE("podman: a missing podman exits 125, a failed create leaves nothing, egress is refused first",
          "[podman][integration]") {
  IntegrationHome home;
  use_podman(home);
  const std::string name = unique_bottle_name("it-podman-bad");
  const std::string pod = "bottle-" + name + "-agent";

  // An image Podman cannot find: kube play fails, and whatever it made is removed.
  auto r = home.cli(create_args(name, "localhost/bottle-no-such-image:latest"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("podman"));
  CHECK(podman_objects(home, pod).empty());
  CHECK_FALSE(ls_row(home, name).has_value());

  home.env()["BOTTLE_PODMAN"] = (home.path() / "no-such-podman").string();
  r = home.cli(create_args(name));
  CHECK(r.code == 125);
  CHECK_THAT(r.err, Catch::Contains("could not run " + (home.path() / "no-such-podman").string()));

  // A bottle that needs egress is refused before podman runs: with no podman at
  // all, reaching it would have exited 125.
  const auto route = home.path() / "token";
  std::ofstream(route) << "not-a-real-token\n";
  const auto spec = home.path() / "spec.json";
  std::ofstream(spec) << R"({"name":")" << name
                      << R"(","backend":"podman","image":"bottle-test:latest","egress":{"routes":[{"name":"gh",)"
                      << R"("hosts":["api.github.com"],"dummy":"bottle-dummy-gh","value_file":")" << route.string()
                      << R"("}]}})";
  r = home.cli({"create", "--spec", spec.string()});
  CHECK(r.code == 6);
  CHECK_THAT(r.err, Catch::Contains("podman backend does not run egress"));
  home.env().erase("BOTTLE_PODMAN");
  CHECK(podman_objects(home, pod).empty());

  // Host workspaces are refused before anything runs.
  r = home.cli({"create", "--backend", "podman", "--name", name, "--no-egress", "--image", "bottle-test:latest", "-w",
                home.path().string()});
  CHECK(r.code == 3);
  CHECK_THAT(r.err, Catch::Contains("podman backend does not mount host directories"));
  CHECK(podman_objects(home, pod).empty());
}
