// The pipelock bottle runs in front of egress: its files, its supervised argv.
#include <catch2/catch.hpp>

#include "bottle/docker_backend.hpp"
#include "bottle/managed_pipelock.hpp"
#include "temp_dir.hpp"

#include <cstdlib>

using namespace bottle;

TEST_CASE("a bottle's pipelock runs its own config under start-stop-daemon, health-checked", "[pipelock]") {
  const ManagedPipelock pipelock{.program = "/usr/local/bin/pipelock", .dir = "/st/bottles/api/pipelock",
                                 .listen = "172.17.0.1:41002"};
  CHECK(pipelock.proxy_url() == "http://172.17.0.1:41002");
  CHECK(pipelock.health_argv() ==
        std::vector<std::string>{"/usr/local/bin/pipelock", "healthcheck", "--addr", "172.17.0.1:41002"});
  // pipelock does not send sd_notify: no --notify-await, so start returns at once.
  CHECK(daemon_start_argv(pipelock.daemon()) ==
        std::vector<std::string>{"start-stop-daemon", "--start", "--oknodo", "--background", "--make-pidfile",
                                 "--output", "/st/bottles/api/pipelock/pipelock.log",
                                 "--pidfile", "/st/bottles/api/pipelock/pipelock.pid", "--name", "pipelock",
                                 "--startas", "/usr/local/bin/pipelock", "--",
                                 "run", "--config", "/st/bottles/api/pipelock/pipelock.yaml",
                                 "--listen", "172.17.0.1:41002"});
}

TEST_CASE("a bottle's pipelock files: config and listen address, private, no pipelock no files", "[pipelock]") {
  const TempDir home;
  const StateDirs dirs{.config = home.path() / "config", .state = home.path() / "state"};
  BottleSpec spec;
  spec.name = "api";
  spec.agent = AgentKind::codex;
  spec.allowlist = {"github.com"};
  CHECK_FALSE(managed_pipelock_of(dirs, spec));

  const ManagedPipelock written = write_managed_pipelock(dirs, spec, "/usr/bin/pipelock", "127.0.0.1:41003");
  const std::string config = read_file(written.dir / "pipelock.yaml");
  CHECK(config.find("listen: \"127.0.0.1:41003\"") != std::string::npos);
  CHECK(config.find("\"github.com\"") != std::string::npos);
  CHECK(config.find("\"chatgpt.com\"") != std::string::npos);  // the agent's hosts
  CHECK((std::filesystem::status(written.dir / "pipelock.yaml").permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  ::setenv("BOTTLE_PIPELOCK", "/usr/bin/pipelock", 1);
  const auto found = managed_pipelock_of(dirs, spec);
  REQUIRE(found);
  CHECK(found->listen == "127.0.0.1:41003");
  CHECK(found->program == "/usr/bin/pipelock");
  // Created with pipelock, and pipelock is gone: the bottle must not run without it.
  const std::string path = std::getenv("PATH");
  ::setenv("BOTTLE_PIPELOCK", "", 1);
  ::setenv("PATH", home.path().c_str(), 1);
  CHECK_THROWS_WITH(managed_pipelock_of(dirs, spec), Catch::Contains("pipelock is no longer installed"));
  ::setenv("PATH", path.c_str(), 1);
  ::unsetenv("BOTTLE_PIPELOCK");
}

TEST_CASE("docker: egress reaches a host-side parent proxy at the default bridge's gateway", "[docker][argv]") {
  RecordingRunner runner;
  runner.push_result(exited(0, "172.17.0.1\n"));
  DockerBackend docker(runner);
  CHECK(docker.bridge_gateway_argv() == Argv{"docker", "network", "inspect", "bridge", "--format",
                                             "{{(index .IPAM.Config 0).Gateway}}"});
  CHECK(docker.egress_parent_host() == "172.17.0.1");
}
