// bottle-cli --backend podman on real rootful Podman (`podman kube play` of the
// generated agent pod). Needs podman, Docker and bottle-test:latest in Docker's
// store: each test copies the image into Podman's store (docker save | podman load),
// so no hand-made state is assumed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli_harness.hpp"
#include "podman_harness.hpp"

namespace {

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
  const auto networks = home.run({"podman", "network", "ls", "--format", "{{.Name}}"});
  REQUIRE(networks.ok());
  // Bottle names are unique to this process, so a prefix match finds only ours.
  const std::string base = pod.substr(0, pod.size() - std::string("-agent").size());
  for (const auto& [kind, out] : {std::pair<std::string, std::string>{"pod", pods.out},
                                  {"container", containers.out},
                                  {"volume", volumes.out},
                                  {"network", networks.out}}) {
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

TEST_CASE("podman: a missing podman exits 125, a failed create leaves nothing, with or without egress",
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

  home.env().erase("BOTTLE_PODMAN");

  // With egress, the network and egress container are made first; an egress image
  // Podman cannot find fails the create, and the network goes too.
  home.env()["BOTTLE_EGRESS_IMAGE"] = "localhost/bottle-no-such-egress:latest";
  r = home.cli({"create", "--backend", "podman", "--name", name, "--image", "bottle-test:latest"});
  CHECK(r.code == 6);
  CHECK_THAT(r.err, Catch::Contains("create egress for " + name));
  home.env().erase("BOTTLE_EGRESS_IMAGE");
  CHECK(podman_objects(home, pod).empty());
  CHECK_FALSE(ls_row(home, name).has_value());
}

TEST_CASE("podman: bottles with egress each get their own network, pass their checks, and reach only their egress",
          "[podman][integration]") {
  IntegrationHome home;
  use_podman(home, {"bottle-test:latest", "bottle-egress:latest"});
  const std::string a = unique_bottle_name("it-podman-ea"), b = unique_bottle_name("it-podman-eb");
  for (const auto& name : {a, b}) {
    const auto r = home.cli({"create", "--backend", "podman", "--name", name, "--image", "bottle-test:latest"});
    INFO(r.err);
    REQUIRE(r.ok());
  }
  const auto proxy_of = [&](const std::string& name) {
    const auto r = home.cli({"exec", name, "--", "sh", "-c", "echo $HTTPS_PROXY"});
    REQUIRE(r.ok());
    return r.out.substr(0, r.out.size() - 1);
  };
  const std::string proxy_a = proxy_of(a), proxy_b = proxy_of(b);
  CHECK_THAT(proxy_a, Catch::StartsWith("http://") && Catch::EndsWith(".2:8080"));
  CHECK(proxy_a != proxy_b);

  // Each bottle's own egress answers (a proxy's 400 to a bare GET is an answer);
  // the other bottle's does not, nor anything on the host.
  const auto reaches = [&](const std::string& name, const std::string& url) {
    const auto r = home.cli({"exec", name, "--", "sh", "-c",
                             "env -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY timeout 5 wget -q -O- " +
                                 url + " 2>&1; echo status=$?"});
    return r.out.find("status=0") != std::string::npos || r.out.find("HTTP/1.1 4") != std::string::npos ||
           r.out.find("server returned error") != std::string::npos;
  };
  CHECK(reaches(a, proxy_a + "/"));
  CHECK_FALSE(reaches(a, proxy_b + "/"));
  // The pod's agent and egress have memory limits by default (4096 and 256 MiB).
  const auto memory_of = [&](const std::string& container) {
    const auto r = home.run({"podman", "inspect", "--format", "{{.HostConfig.Memory}}", container});
    INFO(r.err);
    return r.out;
  };
  CHECK(memory_of("bottle-" + a + "-agent-agent") == "4294967296\n");
  CHECK(memory_of("bottle-" + a + "-egress") == "268435456\n");
  CHECK_FALSE(reaches(b, proxy_a + "/"));
  CHECK_FALSE(reaches(a, "http://" + podman_gateway(home) + ":8080/"));

  auto r = home.cli({"check", a});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("egress runs"));

  // Stopping takes egress down with the pod; starting brings both back, on the
  // address the bottle recorded.
  REQUIRE(home.cli({"stop", a}).ok());
  CHECK(ls_row(home, a).value_or(boost::json::object{}).at("egress") == "down");
  r = home.cli({"start", a});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(ls_row(home, a).value_or(boost::json::object{}).at("egress") == "on");
  CHECK(proxy_of(a) == proxy_a);
  CHECK(reaches(a, proxy_a + "/"));

  for (const auto& name : {a, b}) {
    r = home.cli({"rm", "--force", name});
    INFO(r.err);
    CHECK(r.ok());
    CHECK(podman_objects(home, "bottle-" + name + "-agent").empty());
  }
}
