// Every engine call has a deadline; a hung engine gives a named error, and the
// dashboard's worker stops at once even while an engine call hangs.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/stat.h>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/frontend/dashboard_worker.hpp"
#include "error_of.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;
using std::chrono::seconds;

TEST_CASE("BOTTLE_ENGINE_TIMEOUT is a whole number of seconds", "[engine-timeout]") {
  CHECK(engine_timeouts_from("") == EngineTimeouts{});
  CHECK(EngineTimeouts{}.query == seconds(30));
  CHECK(EngineTimeouts{}.change == seconds(300));
  CHECK(engine_timeouts_from("5") == EngineTimeouts{.query = seconds(5), .change = seconds(5)});
  CHECK(engine_timeouts_from("86400").change == seconds(86400));
  for (const char* bad : {"0", "-1", "abc", "5s", "1.5", " 5", "86401", "99999999999"})
    CHECK_THAT(error_of([&] { engine_timeouts_from(bad); }), Catch::Contains("BOTTLE_ENGINE_TIMEOUT"));
}

TEST_CASE("Engine calls carry their deadline, the agent has none", "[engine-timeout]") {
  RecordingRunner runner;
  runner.fallback = exited(0);
  Backend docker(runner, std::make_unique<DockerCommands>());
  const BottleSpec spec = minimal_docker_spec();
  docker.list();
  docker.start(spec);
  docker.stop(spec);
  docker.remove(spec);
  docker.install_file(spec, "/etc/x", "content", "root:root", 0644);
  docker.run_agent(spec, {}, true);
  const auto& commands = runner.commands();
  REQUIRE(commands.size() >= 6);
  CHECK(commands.front().timeout == seconds(30));  // a query
  for (std::size_t i = 1; i + 1 < commands.size(); ++i) {
    INFO(commands[i].argv[1]);
    CHECK(commands[i].timeout == seconds(300));
  }
  CHECK(commands.back().interactive);
  CHECK_FALSE(commands.back().timeout.has_value());

  docker.set_engine_timeouts(engine_timeouts_from("7"));
  docker.list();
  CHECK(runner.commands().back().timeout == seconds(7));
  CHECK(docker.engine_command({"docker", "inspect"}, EngineCall::query).timeout == seconds(7));
}

TEST_CASE("An engine call that times out is a named backend error", "[engine-timeout]") {
  RecordingRunner runner;
  runner.on({"docker", "ps"}, timed_out());
  runner.on({"docker", "stop"}, timed_out("", "partial"));
  runner.on({"docker", "rm"}, timed_out());
  Backend docker(runner, std::make_unique<DockerCommands>());
  docker.set_engine_timeouts(engine_timeouts_from("1"));
  CHECK(error_of([&] { docker.list(); }, ErrorKind::backend) ==
        "list docker bottles: docker ps timed out after 1 s (the engine did not answer; is it hung? "
        "BOTTLE_ENGINE_TIMEOUT sets the limit in seconds)");
  CHECK_THAT(error_of([&] { docker.stop(minimal_docker_spec()); }, ErrorKind::backend),
             Catch::StartsWith("stop api: docker stop timed out after 1 s"));
  CHECK_THAT(error_of([&] { docker.remove(minimal_docker_spec()); }, ErrorKind::backend),
             Catch::Contains("docker rm timed out after 1 s"));
  CHECK(exit_code_for(ErrorKind::backend) == exit_code::failure);
}

TEST_CASE("Stopping the dashboard worker kills a hung engine call", "[engine-timeout][dashboard]") {
  TempDir home;
  const StateDirs dirs{home.path() / "config", home.path() / "state"};
  // A docker that never answers, and says when it has started.
  const std::filesystem::path started = home.path() / "started";
  const std::filesystem::path docker = home.path() / "docker";
  {
    std::ofstream script(docker);
    script << "#!/bin/sh\necho $$ > '" << started.string() << "'\nexec sleep 1000\n";
  }
  std::filesystem::permissions(docker, std::filesystem::perms::owner_all);
  const BackendFactory factory = [&](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(r, std::make_unique<DockerCommands>(DockerOptions{.docker = docker.string()}));
  };
  SpecStore(dirs).save(minimal_docker_spec());
  DashboardWorker worker(Host(), std::make_unique<SystemRunner>(), dirs, factory);
  worker.start();
  int pid = 0;
  for (int i = 0; i < 1000 && pid == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream(started) >> pid;
  }
  REQUIRE(pid > 0);
  worker.stop();  // without the kill, this waits for `sleep 1000`
  CHECK((::kill(pid, 0) != 0 && errno == ESRCH));
}
