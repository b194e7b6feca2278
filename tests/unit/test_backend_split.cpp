// The contract between Backend (operations), EngineCommands (argv builders) and the
// optional egress capability (EgressCommands).

#include <catch2/catch.hpp>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/docker_commands.hpp"
#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/ops/bottles.hpp"
#include "bottle/spec/guest_env.hpp"
#include "error_of.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

BottleSpec smol_spec() {
  BottleSpec s = minimal_docker_spec();
  s.backend = BackendKind::smolmachines;
  s.agent = AgentKind::codex;
  s.egress.port = 40123;
  return s;
}

}  // namespace

TEST_CASE("egress capability: present exactly when no reason says otherwise", "[backend][egress]") {
  const DockerCommands docker;
  CHECK(docker.egress() == &docker);
  CHECK(docker.egress_unavailable_reason().empty());

  const SmolmachinesCommands able(smol_egress_options());
  CHECK(able.egress() == &able);
  CHECK(able.egress_unavailable_reason().empty());

  const SmolmachinesCommands too_old(smol_egress_options({1, 7, 1}));
  CHECK(too_old.egress() == nullptr);
  CHECK_THAT(too_old.egress_unavailable_reason(), Catch::Contains("smolvm 1.7.1 cannot confine"));

  SmolmachinesOptions no_egress_program = smol_egress_options();
  no_egress_program.egress_program.clear();
  const SmolmachinesCommands without(no_egress_program);
  CHECK(without.egress() == nullptr);
  CHECK_THAT(without.egress_unavailable_reason(), Catch::Contains("bottle-egress"));
}

TEST_CASE("without the egress capability the guest gets no proxy and nothing egress runs", "[backend][egress]") {
  RecordingRunner runner;
  Backend smol(runner, std::make_unique<SmolmachinesCommands>(smol_egress_options({1, 0, 2})));
  const BottleSpec spec = smol_spec();
  REQUIRE(spec.egress.enabled);
  CHECK(smol.egress() == nullptr);
  CHECK_FALSE(smol.guest_egress(spec).enabled);
  CHECK(smol.guest_env(spec) == guest_environment(spec, GuestEgress{}));
  CHECK(smol.guest_env(spec).count("HTTPS_PROXY") == 0);
  // Asking for it anyway is the isolation error that names why, not a crash.
  CHECK_THAT(error_of([&] { smol.require_egress(); }, ErrorKind::isolation),
             Catch::Contains("smolvm 1.0.2 cannot confine") && Catch::Contains("cannot have a network path"));
  CHECK_THAT(error_of([&] { smol.egress_parent_host(); }, ErrorKind::isolation), Catch::Contains("smolvm 1.0.2"));
  // The create argv gives such a VM no network at all.
  const Argv create = smol.commands().create_argvs(spec, {}).at(0);
  CHECK(std::find(create.begin(), create.end(), "--net") == create.end());
  CHECK(runner.argvs().empty());
}

TEST_CASE("with the egress capability the guest env points at it", "[backend][egress]") {
  RecordingRunner runner;
  Backend smol(runner, std::make_unique<SmolmachinesCommands>(smol_egress_options()));
  const BottleSpec spec = smol_spec();
  REQUIRE(smol.egress() != nullptr);
  CHECK(smol.guest_egress(spec).proxy_url == "http://100.96.0.1:40123");
  CHECK(smol.guest_env(spec).at("HTTPS_PROXY") == "http://100.96.0.1:40123");
  // A host-side egress meets its parent proxy on the host's loopback: nothing to ask.
  CHECK(smol.egress_parent_host() == "127.0.0.1");
  CHECK(runner.argvs().empty());
}

TEST_CASE("the parent-host query runs through the backend with a query deadline", "[backend][egress]") {
  RecordingRunner runner;
  runner.push_result(exited(0, "10.0.0.1,\tdocker0\n"));
  Backend docker(runner, std::make_unique<DockerCommands>());
  docker.set_engine_timeouts({.query = std::chrono::seconds(7), .change = std::chrono::seconds(99)});
  CHECK(docker.egress_parent_host() == "10.0.0.1");
  REQUIRE(runner.commands().size() == 1);
  CHECK(runner.commands()[0].argv == DockerCommands().bridge_inspect_argv());
  CHECK(runner.commands()[0].timeout == std::chrono::milliseconds(7000));
}

TEST_CASE("a bottle that needs egress is refused on an engine without the capability", "[backend][egress]") {
  const TempDir tmp;
  RecordingRunner runner;
  runner.fallback = exited(0, "[]");
  const Host host(Host::Environment{});
  Bottles bottles(
      host, runner, {tmp.path() / "config", tmp.path() / "state"},
      [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
        return std::make_unique<Backend>(r, std::make_unique<SmolmachinesCommands>(smol_egress_options({1, 0, 2})));
      });
  BottleSpec spec = smol_spec();
  spec.egress.port = 0;
  spec.egress.routes = {EgressRoute{.name = "gh",
                                    .hosts = {"api.github.com"},
                                    .dummy = "bottle-dummy-gh-token",
                                    .value_file = (tmp.path() / "token").string()}};
  CHECK_THAT(error_of([&] { bottles.create(spec, false); }, ErrorKind::isolation),
             Catch::Contains("smolvm 1.0.2 cannot confine") && Catch::Contains("no network at all"));
  CHECK(runner.argvs().empty());  // refused before anything was made
}

TEST_CASE("a backend without engine commands is an internal error", "[backend]") {
  RecordingRunner runner;
  CHECK_THAT(error_of([&] { Backend b(runner, nullptr); }, ErrorKind::internal),
             Catch::Contains("needs its engine's commands"));
}
