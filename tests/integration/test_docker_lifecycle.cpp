// bottle-cli against the real Docker engine, with the tiny local image that
// scripts/test.sh builds (bottle-test:latest, no registry involved).
#include <catch2/catch.hpp>

#include <unistd.h>
#include <boost/json.hpp>
#include <fstream>

#include "cli_harness.hpp"
#include "docker_bridge.hpp"
#include "host_listener.hpp"

namespace {

constexpr const char* test_image = "bottle-test:latest";

// Whatever happens in the test, the engine objects go away.
struct DockerCleanup {
  std::string name;
  ~DockerCleanup() {
    bottle::SystemRunner r;
    r.run({.argv = {"docker", "rm", "-f", "bottle-" + name}});
    r.run({.argv = {"docker", "network", "rm", "bottle-" + name + "-net"}});
  }
};

std::string docker_out(std::vector<std::string> argv) {
  bottle::SystemRunner r;
  argv.insert(argv.begin(), "docker");
  return r.run({.argv = argv}).out;
}

}  // namespace

TEST_CASE("docker: create, ls --json, exec, stop, rm leave nothing behind", "[docker][integration]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-docker");
  DockerCleanup cleanup{name};
  const auto workspace = home.path() / "my project";  // a space in the path must survive
  std::filesystem::create_directories(workspace);
  { std::ofstream(workspace / "hello.txt") << "hi from the host\n"; }

  auto r = home.cli({"create", "--name", name, "--image", test_image, "--workspace", workspace.string(), "--env",
                     "GREETING=hello world"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("created bottle " + name));

  r = home.cli({"ls", "--json"});
  REQUIRE(r.ok());
  const auto rows = boost::json::parse(r.out).as_array();
  const auto* row = [&]() -> const boost::json::object* {
    for (const auto& v : rows)
      if (v.as_object().at("name") == name.c_str()) return &v.as_object();
    return nullptr;
  }();
  REQUIRE(row != nullptr);
  CHECK(row->at("state") == "running");
  CHECK(row->at("backend") == "docker");
  CHECK(row->at("workspace") == workspace.c_str());
  CHECK(row->at("created").as_int64() > 0);

  // exec runs as the agent user in the workspace, with the spec's env, and passes
  // the exit status through.
  r = home.cli({"exec", name, "--", "sh", "-c", "id -un; pwd; cat hello.txt; echo \"$GREETING\""});
  INFO(r.err);
  CHECK(r.ok());
  CHECK(r.out == "node\n/workspace\nhi from the host\nhello world\n");
  CHECK(home.cli({"exec", name, "--", "sh", "-c", "exit 7"}).code == 7);
  CHECK(home.cli({"exec", "--user", "root", name, "--", "id", "-u"}).out == "0\n");

  // The bottle reaches nothing directly: not a service on the host (through its
  // gateway or docker0's), while an ordinary container does reach it. Through egress
  // (the proxy variables) the host is refused too: egress only connects to public
  // addresses when no pipelock is in front of it.
  {
    HostListener listener;
    const std::string docker0 = docker_bridge_gateway();
    REQUIRE_FALSE(docker0.empty());
    const std::string targets = "$(ip route | awk '/default/{print $3}') " + docker0;
    const std::string port = std::to_string(listener.port());
    const std::string direct = "for gw in " + targets +
                               "; do env -u http_proxy -u HTTP_PROXY timeout 3 wget -q -O- http://$gw:" + port +
                               "/ && echo REACHED; done; true";
    r = home.cli({"exec", name, "--", "sh", "-c", direct});
    CHECK_THAT(r.out, !Catch::Contains("REACHED"));
    const std::string via_egress =
        "for gw in " + targets + "; do timeout 5 wget -q -O- http://$gw:" + port + "/ && echo REACHED; done; true";
    r = home.cli({"exec", name, "--", "sh", "-c", via_egress});
    CHECK_THAT(r.out, !Catch::Contains("REACHED"));
    CHECK(listener.connections() == 0);
    const std::string control = docker_out({"run", "--rm", "--network", "bridge", test_image, "sh", "-c", direct});
    CHECK_THAT(control, Catch::Contains("REACHED"));  // the probe itself works
    CHECK(listener.connections() > 0);
  }

  // The labels mark it as bottle's.
  CHECK(docker_out({"inspect", "-f", "{{index .Config.Labels \"io.bottle.name\"}}", "bottle-" + name}) == name + "\n");
  // Both containers have a memory limit the spec did not have to ask for: the
  // bottle's default 4096 MiB and egress's 256 MiB, with no swap beyond it.
  const std::string limits = "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}";
  CHECK(docker_out({"inspect", "-f", limits, "bottle-" + name}) == "4294967296 4294967296\n");
  CHECK(docker_out({"inspect", "-f", limits, "bottle-" + name + "-egress"}) == "268435456 268435456\n");

  CHECK(home.cli({"rm", name}).code == 5);  // running: needs --force or a stop
  r = home.cli({"stop", name});
  REQUIRE(r.ok());
  r = home.cli({"ls", "--json"});
  CHECK_THAT(r.out, Catch::Contains("\"state\":\"stopped\""));

  r = home.cli({"rm", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(docker_out({"ps", "-a", "-q", "--filter", "label=io.bottle.name=" + name}).empty());
  CHECK(docker_out({"network", "ls", "-q", "--filter", "name=bottle-" + name + "-net"}).empty());
  CHECK(home.cli({"ls", "--json"}).out.find(name) == std::string::npos);
  CHECK(home.cli({"exec", name, "--", "true"}).code == 4);
}

TEST_CASE("docker: a bottle that cannot start leaves no container, network or spec", "[docker][integration]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-badimg");
  DockerCleanup cleanup{name};
  const auto r = home.cli({"create", "--name", name, "--image", "bottle-no-such-image:0"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("create " + name));
  CHECK(docker_out({"ps", "-a", "-q", "--filter", "label=io.bottle.name=" + name}).empty());
  CHECK(docker_out({"network", "ls", "-q", "--filter", "name=bottle-" + name + "-net"}).empty());
  CHECK_FALSE(std::filesystem::exists(home.path() / "config" / "bottles" / (name + ".json")));
}

TEST_CASE("docker: when egress dies the bottle has no network at all, and start refuses without it",
          "[docker][integration]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-egdown");
  DockerCleanup cleanup{name};
  REQUIRE(home.cli({"create", "--name", name, "--image", test_image}).ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"egress\":\"on\""));

  bottle::SystemRunner runner;
  REQUIRE(runner.run({.argv = {"docker", "kill", "bottle-" + name + "-egress"}}).ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"egress\":\"down\""));

  HostListener listener;
  const std::string docker0 = docker_bridge_gateway();
  REQUIRE_FALSE(docker0.empty());
  const std::string target = "http://" + docker0 + ":" + std::to_string(listener.port()) + "/";
  // Through the (dead) proxy and directly: nothing answers.
  auto r = home.cli({"exec", name, "--", "sh", "-c",
                     "timeout 5 wget -q -O- " + target +
                         " && echo REACHED; "
                         "env -u http_proxy -u HTTP_PROXY timeout 5 wget -q -O- " +
                         target + " && echo REACHED; true"});
  CHECK_THAT(r.out, !Catch::Contains("REACHED"));
  CHECK(listener.connections() == 0);

  // A bottle whose egress cannot come up does not start.
  REQUIRE(home.cli({"stop", name}).ok());
  REQUIRE(runner.run({.argv = {"docker", "rm", "-f", "bottle-" + name + "-egress"}}).ok());
  r = home.cli({"start", name});
  CHECK(r.code == 6);
  CHECK_THAT(r.err, Catch::Contains("egress for " + name));
  CHECK_THAT(docker_out({"inspect", "-f", "{{.State.Running}}", "bottle-" + name}), Catch::StartsWith("false"));
}
