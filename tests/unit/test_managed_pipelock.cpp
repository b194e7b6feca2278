// The pipelock bottle runs in front of egress: its files, its supervised argv.
#include <catch2/catch.hpp>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/docker_commands.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

#include <cstdlib>

using namespace bottle;

TEST_CASE("a bottle's pipelock runs its own config under start-stop-daemon, health-checked", "[pipelock]") {
  const ManagedPipelock pipelock{
      .program = "/usr/local/bin/pipelock", .dir = "/st/bottles/api/pipelock", .listen = "172.17.0.1:41002"};
  CHECK(pipelock.proxy_url() == "http://172.17.0.1:41002");
  CHECK(pipelock.health_argv() ==
        std::vector<std::string>{"/usr/local/bin/pipelock", "healthcheck", "--addr", "172.17.0.1:41002"});
  // pipelock does not send sd_notify: no --notify-await, so start returns at once.
  CHECK(daemon_start_argv(pipelock.daemon()) ==
        std::vector<std::string>{"start-stop-daemon", "--start", "--oknodo", "--background", "--make-pidfile",
                                 "--output", "/st/bottles/api/pipelock/pipelock.log", "--pidfile",
                                 "/st/bottles/api/pipelock/pipelock.pid", "--name", "pipelock", "--startas",
                                 "/usr/local/bin/pipelock", "--", "run", "--config",
                                 "/st/bottles/api/pipelock/pipelock.yaml", "--listen", "172.17.0.1:41002"});
}

TEST_CASE("a bottle's pipelock files: config and listen address, private, no pipelock no files", "[pipelock]") {
  const TempDir home;
  const StateDirs dirs{.config = home.path() / "config", .state = home.path() / "state"};
  BottleSpec spec;
  spec.name = "api";
  spec.agent = AgentKind::codex;
  spec.allowlist = {"github.com"};
  CHECK_FALSE(managed_pipelock_of(Host(), dirs, spec));

  const ManagedPipelock written = write_managed_pipelock(dirs, spec, "/usr/bin/pipelock", "127.0.0.1:41003");
  const std::string config = read_file(written.dir / "pipelock.yaml");
  CHECK(config.find("listen: \"127.0.0.1:41003\"") != std::string::npos);
  CHECK(config.find("\"github.com\"") != std::string::npos);
  CHECK(config.find("\"chatgpt.com\"") != std::string::npos);  // the agent's hosts
  CHECK((std::filesystem::status(written.dir / "pipelock.yaml").permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  const auto found = managed_pipelock_of(Host(Host::Environment{{"BOTTLE_PIPELOCK", "/usr/bin/pipelock"}}), dirs, spec);
  REQUIRE(found);
  CHECK(found->listen == "127.0.0.1:41003");
  CHECK(found->program == "/usr/bin/pipelock");
  // Created with pipelock, and pipelock is gone: the bottle must not run without it.
  CHECK_THROWS_WITH(managed_pipelock_of(Host({{"BOTTLE_PIPELOCK", ""}, {"PATH", home.path().string()}}), dirs, spec),
                    Catch::Contains("pipelock is no longer installed"));
}

TEST_CASE("docker: egress reaches a host-side parent proxy at the default bridge's gateway", "[docker][argv]") {
  RecordingRunner runner;
  runner.push_result(exited(0, "172.17.0.1,\tdocker0\n"));
  Backend docker(runner, std::make_unique<DockerCommands>());
  CHECK(DockerCommands().bridge_inspect_argv() ==
        Argv{"docker", "network", "inspect", "bridge", "--format",
             "{{range .IPAM.Config}}{{.Gateway}},{{end}}\t{{index .Options \"com.docker.network.bridge.name\"}}"});
  CHECK(docker.egress_parent_host() == "172.17.0.1");
}

TEST_CASE("docker: a bridge whose IPAM config lists no gateway is reached at its interface's address",
          "[docker][argv]") {
  // dockerd 20.10 freshly started: IPAM config [{"Subnet":"172.17.0.0/16"}], no Gateway.
  RecordingRunner runner;
  std::vector<std::string> asked;
  DockerOptions options;
  options.interface_ipv4 = [&](std::string_view name) -> std::optional<std::string> {
    asked.emplace_back(name);
    return name == "br-custom" ? std::optional<std::string>("10.9.0.1") : std::nullopt;
  };
  SECTION("the interface the bridge names") {
    runner.push_result(exited(0, ",\tbr-custom\n"));
    Backend docker(runner, std::make_unique<DockerCommands>(options));
    CHECK(docker.egress_parent_host() == "10.9.0.1");
    CHECK(asked == std::vector<std::string>{"br-custom"});
  }
  SECTION("docker0 when the bridge names none, and a named error when it has no address") {
    runner.push_result(exited(0, "\t\n"));
    Backend docker(runner, std::make_unique<DockerCommands>(options));
    CHECK_THAT(error_of([&] { docker.egress_parent_host(); }, ErrorKind::isolation),
               Catch::Contains("interface docker0 has no IPv4 address"));
    CHECK(asked == std::vector<std::string>{"docker0"});
  }
}

TEST_CASE("docker: bridge inspect output is parsed strictly", "[docker][hostile]") {
  CHECK(parse_bridge_inspect("172.17.0.1,\tdocker0\n") == BridgeInspect{"172.17.0.1", "docker0"});
  CHECK(parse_bridge_inspect("fd00::1,172.18.0.1,\tdocker0") == BridgeInspect{"172.18.0.1", "docker0"});
  CHECK(parse_bridge_inspect(",\t<no value>\n") == BridgeInspect{"", ""});
  CHECK(parse_bridge_inspect("not-an-ip,\tdocker0") == BridgeInspect{"", "docker0"});
  for (const char* bad : {"172.17.0.1", "172.17.0.1,\tdocker0\nsecond line", "x\t../../etc",
                          "x\tname-longer-than-15-chars", "x\tdocker0 -o"})
    CHECK_THROWS_AS(parse_bridge_inspect(bad), Error);
}
