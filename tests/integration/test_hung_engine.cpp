// A hung engine: a `docker` that never answers. bottle-cli gives up at
// BOTTLE_ENGINE_TIMEOUT with a message naming the timeout, and the dashboard quits
// on q at once, whatever its worker is waiting for. Neither leaves the hung
// engine process behind.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/spec/spec.hpp"
#include "cli_harness.hpp"
#include "tmux_session.hpp"

namespace {

namespace fs = std::filesystem;

// A BOTTLE_HOME whose PATH has a `docker` that records its pid and sleeps, and
// one docker bottle in the store (so that listing asks the engine).
class HungEngine {
 public:
  explicit HungEngine(const std::string& bottle) {
    const fs::path script = home_.path() / "hung-docker";
    std::ofstream(script) << "#!/bin/sh\necho $$ >> '" << pids_file().string() << "'\nexec sleep 1000\n";
    fs::permissions(script, fs::perms::owner_all);
    home_.install_on_path("docker", script.string());
    home_.env()["BOTTLE_DOCKER"] = "docker";
    bottle::BottleSpec spec;
    spec.name = bottle;
    spec.backend = bottle::BackendKind::docker;
    spec.agent = bottle::AgentKind::claude;
    spec.image = "bottle-agent:latest";
    bottle::SpecStore({home_.path() / "config", home_.path() / "state"}).save(spec);
  }

  IntegrationHome& home() { return home_; }
  fs::path pids_file() const { return home_.path() / "docker-pids"; }
  std::vector<int> engine_pids() const {
    std::vector<int> pids;
    std::ifstream in(pids_file());
    for (int pid = 0; in >> pid;) pids.push_back(pid);
    return pids;
  }
  /// Every hung docker that ran is gone (not even a zombie: someone reaped it).
  bool engines_gone() const {
    for (int pid : engine_pids())
      if (::kill(pid, 0) == 0 || errno != ESRCH) return false;
    return true;
  }

 private:
  IntegrationHome home_;
};

}  // namespace

TEST_CASE("bottle-cli gives up on a hung engine at BOTTLE_ENGINE_TIMEOUT", "[hung-engine][integration]") {
  HungEngine engine(unique_bottle_name("hung"));
  engine.home().env()["BOTTLE_ENGINE_TIMEOUT"] = "1";

  const bottle::ProcessResult ls = engine.home().cli({"ls"});
  INFO(ls.err);
  CHECK(ls.outcome == bottle::ProcessResult::Outcome::exited);
  CHECK(ls.code == 1);
  CHECK_THAT(ls.err, Catch::Contains("docker ps timed out after 1 s") && Catch::Contains("did not answer"));
  CHECK(engine.engine_pids().size() == 1);
  CHECK(eventually([&] { return engine.engines_gone(); }));

  const bottle::ProcessResult stop = engine.home().cli({"stop", unique_bottle_name("hung")});
  INFO(stop.err);
  CHECK(stop.code == 1);
  CHECK_THAT(stop.err, Catch::Contains("docker stop timed out after 1 s"));
  CHECK(engine.engine_pids().size() >= 2);
  CHECK(eventually([&] { return engine.engines_gone(); }));

  engine.home().env()["BOTTLE_ENGINE_TIMEOUT"] = "soon";
  const bottle::ProcessResult bad = engine.home().cli({"ls"});
  CHECK(bad.code == bottle::exit_code::invalid_input);
  CHECK_THAT(bad.err, Catch::Contains("BOTTLE_ENGINE_TIMEOUT"));
}

TEST_CASE("the dashboard quits on q while its engine call hangs", "[hung-engine][dashboard][integration]") {
  HungEngine engine(unique_bottle_name("hung-dash"));
  TmuxServer tmux("bottle-hung");
  // A limit far beyond the wait below: quitting must not wait for the engine.
  std::vector<std::string> session{
      "new-session", "-d", "-s", "hung", "-x", "120", "-y", "30", "env", "BOTTLE_ENGINE_TIMEOUT=300", "TERM=screen"};
  for (const auto& [key, value] : engine.home().env()) session.push_back(key + "=" + value);
  session.push_back(test_paths::bottle_dashboard);
  REQUIRE(tmux.tmux(session).ok());
  tmux.tmux({"set-option", "-w", "-t", "hung", "remain-on-exit", "on"});
  const std::string pane = tmux.display("hung", "#{pane_id}");
  // The worker is inside `docker ps`, which never answers.
  REQUIRE(eventually([&] { return !engine.engine_pids().empty(); }));
  INFO("the dashboard shows:\n" << tmux.capture(pane));
  CHECK_THAT(tmux.capture(pane), Catch::Contains("loading..."));
  tmux.tmux({"send-keys", "-t", pane, "q"});
  REQUIRE(eventually([&] { return tmux.display(pane, "#{pane_dead}") == "1"; }, 10));
  // tmux can lose a pane's SIGCHLD (see test_dashboard_tmux.cpp): a child of its
  // own makes it collect the real exit status.
  REQUIRE(eventually([&] {
    if (!tmux.display(pane, "#{pane_dead_status}").empty()) return true;
    tmux.tmux({"run-shell", "true"});
    return false;
  }));
  CHECK(tmux.display(pane, "#{pane_dead_status}") == "0");
  CHECK(eventually([&] { return engine.engines_gone(); }));
}
