// bottle::Host: the one table of environment variables, and the egress lifecycle
// run against a fake clock, fake ports and a RecordingRunner (no real waiting).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/host.hpp"
#include "bottle/core/locate.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "bottle/ops/bottles.hpp"
#include "canary_responder.hpp"
#include "env_guard.hpp"
#include "error_of.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

// Ports as a test wants them: every one free except `taken`.
class FakePorts final : public PortProber {
 public:
  std::set<std::uint16_t> taken;
  std::uint16_t pick_free_port(std::string_view) override { return 45000; }
  bool port_free(std::string_view, std::uint16_t port) override { return taken.count(port) == 0; }
};

// A stored smolmachines bottle with a host-side egress on 127.0.0.1:41001.
struct EgressFixture {
  TempDir tmp;
  StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  RecordingRunner runner;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<FakePorts> ports = std::make_shared<FakePorts>();
  TestEnv env;
  BottleSpec spec;

  EgressFixture() {
    runner.respond(canary_responder::healthy());  // the start probe: fences hold
    spec.name = "api";
    spec.backend = BackendKind::smolmachines;
    spec.image = "bottle-agent:latest";
    spec.egress.port = 41001;
    SpecStore(dirs).save(spec);
  }

  Bottles bottles() {
    return Bottles(env.host(clock, ports), runner, dirs, [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
      return std::make_unique<Backend>(r, std::make_unique<SmolmachinesCommands>(smol_egress_options()));
    });
  }

  // The argvs Bottles runs for this bottle's egress, from the backend's own builders.
  Argv egress(const std::string& what) {
    SmolmachinesCommands smol(smol_egress_options());
    const EgressFiles files = egress_files_of(dirs, spec, {}, EgressPlacement::host);
    if (what == "probe") return smol.egress_probe_argv(spec, files);
    if (what == "stop") return smol.egress_stop_argv(spec, files);
    return smol.egress_start_argv(spec, files, {});
  }
  Argv vm_start() { return SmolmachinesCommands(smol_egress_options()).start_argv(spec); }

  std::size_t count(const Argv& argv) const {
    const auto argvs = runner.argvs();
    return static_cast<std::size_t>(std::count(argvs.begin(), argvs.end(), argv));
  }
};

// What the polls amount to: one probe right away, then one per interval up to the deadline.
constexpr std::size_t polls_until_deadline = egress_ready_timeout / egress_poll_interval + 1;

}  // namespace

TEST_CASE("Host: the environment holds only the table's variables", "[host]") {
  const Host host(Host::Environment{{"BOTTLE_HOME", "/b"}, {"PATH", ""}});
  CHECK(host.env(Var::bottle_home) == "/b");
  CHECK(host.env(Var::path) == "");  // set but empty is not unset
  CHECK_FALSE(host.env(Var::home));
  CHECK(host.env_or(Var::path, "fallback") == "fallback");
  CHECK(host.env_or(Var::bottle_docker, "docker") == "docker");
  CHECK(host.absolute_path(Var::bottle_home) == "/b");
  CHECK(host.absolute_path(Var::home).empty());
  CHECK_THROWS_WITH(Host(Host::Environment{{"BOTTLE_PTY_RESIZE", "pty-resize"}}).absolute_path(Var::bottle_pty_resize),
                    "environment variable BOTTLE_PTY_RESIZE: must be an absolute path");
  CHECK_THROWS_WITH(Host(Host::Environment{{"BOTTLE_NOT_A_VARIABLE", "x"}}),
                    Catch::Contains("BOTTLE_NOT_A_VARIABLE: bottle does not read it"));
}

TEST_CASE("Host: every Var has its row, names are unique", "[host]") {
  std::set<std::string_view> names;
  for (const auto& row : environment_variables()) {
    CHECK(&info(row.var) == &row);
    CHECK_FALSE(row.meaning.empty());
    CHECK(names.insert(row.name).second);
  }
  CHECK(names.count("BOTTLE_EGRESS_UPSTREAM_CA") == 1);
  CHECK(names.count("BOTTLE_ENGINE_TIMEOUT") == 1);
}

TEST_CASE("Host: programs are found on the Host's PATH, not the process's", "[host]") {
  TempDir tmp;
  const fs::path bin = tmp.path() / "bin";
  fs::create_directories(bin);
  { std::ofstream(bin / "pipelock") << "#!/bin/sh\n"; }
  fs::permissions(bin / "pipelock", fs::perms::owner_all);
  CHECK(find_on_path(Host(Host::Environment{{"PATH", "relative:" + bin.string()}}), "pipelock") == bin / "pipelock");
  CHECK(find_on_path(Host(Host::Environment{{"PATH", "relative"}}), "pipelock").empty());
  CHECK(find_on_path(Host(), "sh").empty());  // no PATH at all
  CHECK(locate_pipelock(Host(Host::Environment{{"PATH", bin.string()}})) == bin / "pipelock");
  CHECK(locate_pipelock(Host(Host::Environment{{"BOTTLE_PIPELOCK", "/opt/pipelock"}, {"PATH", bin.string()}})) ==
        "/opt/pipelock");
}

TEST_CASE("FakeClock: time moves only by what is slept", "[host]") {
  FakeClock clock;
  const auto start = clock.now();
  clock.sleep_for(std::chrono::milliseconds(250));
  CHECK(clock.now() - start == std::chrono::milliseconds(250));
  CHECK(clock.slept() == std::chrono::milliseconds(250));
}

TEST_CASE("egress that never accepts connections: start fails at the deadline and stops it", "[host][egress]") {
  EgressFixture f;
  f.runner.push_result(exited(3));  // probe: not running yet
  f.runner.push_result(exited(0));  // start
  f.runner.fallback = exited(3);    // every later probe: still not listening
  Bottles bottles = f.bottles();

  const std::string message = error_of([&] { bottles.start("api"); }, ErrorKind::isolation);
  CHECK(message == "egress for api is not accepting connections");
  CHECK(f.clock->slept() == egress_ready_timeout);
  CHECK(f.count(f.egress("probe")) == 1 + polls_until_deadline);
  // Rolled back: the half-started egress is stopped, and the VM never started.
  CHECK(f.runner.argvs().back() == f.egress("stop"));
  CHECK(f.count(f.vm_start()) == 0);
}

TEST_CASE("egress ready at the third probe: the bottle starts", "[host][egress]") {
  EgressFixture f;
  // The egress CA the bottle's trust bundle is built from (checked through the runner).
  fs::create_directories(f.dirs.state / "ca");
  std::ofstream(f.dirs.state / "ca" / "mitmproxy-ca.pem")
      << "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
         "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
  f.runner.fallback = exited(0);
  f.runner.push_result(exited(3));                                                     // probe: not running yet
  f.runner.push_result(exited(0));                                                     // start
  f.runner.push_result(exited(3));                                                     // 1st probe
  f.runner.push_result(exited(3));                                                     // 2nd probe
  f.runner.push_result(exited(0));                                                     // 3rd probe: listening
  f.runner.push_result(exited(0));                                                     // smolvm machine start
  f.runner.push_result(exited(0, "X509v3 Basic Constraints: critical\n  CA:TRUE\n"));  // openssl x509 -text
  f.runner.push_result(exited(0));                                                     // -checkend 0
  f.runner.push_result(exited(0, "PUB"));                                              // key's public half
  f.runner.push_result(exited(0, "PUB"));                                              // cert's public key
  Bottles bottles = f.bottles();

  bottles.start("api");
  CHECK(f.clock->slept() == 2 * egress_poll_interval);
  const auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() >= 6);
  CHECK(argvs[1] == f.egress("start"));
  CHECK(argvs[4] == f.egress("probe"));
  CHECK(argvs[5] == f.vm_start());
  CHECK(f.count(f.egress("stop")) == 0);
}

TEST_CASE("a bottle whose egress fails its canary is stopped, and its egress with it", "[host][egress][start-check]") {
  EgressFixture f;
  fs::create_directories(f.dirs.state / "ca");
  std::ofstream(f.dirs.state / "ca" / "mitmproxy-ca.pem")
      << "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
         "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
  f.runner.fallback = exited(0);
  f.runner.push_result(exited(3));                                                     // probe: not running yet
  f.runner.push_result(exited(0));                                                     // start
  f.runner.push_result(exited(0));                                                     // probe: listening
  f.runner.push_result(exited(0));                                                     // smolvm machine start
  f.runner.push_result(exited(0, "X509v3 Basic Constraints: critical\n  CA:TRUE\n"));  // openssl x509 -text
  f.runner.push_result(exited(0));                                                     // -checkend 0
  f.runner.push_result(exited(0, "PUB"));                                              // key's public half
  f.runner.push_result(exited(0, "PUB"));                                              // cert's public key
  // From inside the VM, egress's proxy port does not answer.
  f.runner.respond(canary_responder::tcp_probe([](const std::vector<std::string>&, std::size_t) { return "timeout"; }));
  Bottles bottles = f.bottles();

  CHECK_THAT(error_of([&] { bottles.start("api"); }, ErrorKind::isolation),
             Catch::Contains("canary egress-ports failed: egress's proxy port"));
  const auto argvs = f.runner.argvs();
  const auto vm_stop =
      std::find(argvs.begin(), argvs.end(), SmolmachinesCommands(smol_egress_options()).stop_argv(f.spec));
  REQUIRE(vm_stop != argvs.end());
  CHECK(std::find(vm_stop, argvs.end(), f.egress("stop")) != argvs.end());
  CHECK(f.count(f.vm_start()) == 1);
}

TEST_CASE("egress port taken by another process: nothing starts", "[host][egress]") {
  EgressFixture f;
  f.ports->taken = {41001};
  f.runner.fallback = exited(3);  // probe: our egress is not what listens there
  Bottles bottles = f.bottles();

  CHECK_THAT(error_of([&] { bottles.start("api"); }, ErrorKind::isolation),
             Catch::Contains("127.0.0.1:41001 (its egress.port) is in use by another process"));
  CHECK(f.count(f.egress("start")) == 0);
  CHECK(f.count(f.vm_start()) == 0);
  CHECK(f.clock->slept() == std::chrono::milliseconds(0));
}

TEST_CASE("pipelock that never gets healthy: the bottle does not start", "[host][egress][pipelock]") {
  EgressFixture f;
  f.env.set("BOTTLE_PIPELOCK", "/usr/bin/pipelock");
  const ManagedPipelock pipelock = write_managed_pipelock(f.dirs, f.spec, "/usr/bin/pipelock", "127.0.0.1:41003");
  f.runner.push_result(exited(3));  // egress probe: not running yet
  f.runner.push_result(exited(0));  // egress start
  f.runner.push_result(exited(0));  // pipelock start
  f.runner.fallback = exited(1);    // every health check fails
  Bottles bottles = f.bottles();

  CHECK_THAT(error_of([&] { bottles.start("api"); }, ErrorKind::isolation),
             Catch::Contains("pipelock for api did not become healthy"));
  // Egress first (an engine's network where pipelock listens may come up only with
  // it), then pipelock, polled until the deadline.
  const auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() >= 3);
  // (egress's start names pipelock as its parent, so it is not f.egress("start"))
  const auto name_of = [](const Argv& argv) {
    const auto at = std::find(argv.begin(), argv.end(), "--name");
    return at == argv.end() || at + 1 == argv.end() ? std::string() : *(at + 1);
  };
  CHECK(name_of(argvs[1]) == "bottle-egress");
  CHECK(std::find(argvs[1].begin(), argvs[1].end(), "--start") != argvs[1].end());
  CHECK(argvs[2] == daemon_start_argv(pipelock.daemon()));
  CHECK(f.count(pipelock.health_argv()) == polls_until_deadline);
  CHECK(f.clock->slept() == egress_ready_timeout);
  // The VM was not started; egress and pipelock were stopped (pipelock again by the
  // egress roll-back, which is harmless: --oknodo).
  CHECK(f.count(daemon_stop_argv(pipelock.daemon())) >= 1);
  CHECK(f.count(f.egress("stop")) >= 1);
  CHECK(f.count(f.vm_start()) == 0);
}

TEST_CASE("pipelock's port taken: pipelock is not started, nor the bottle", "[host][egress][pipelock]") {
  EgressFixture f;
  f.env.set("BOTTLE_PIPELOCK", "/usr/bin/pipelock");
  const ManagedPipelock pipelock = write_managed_pipelock(f.dirs, f.spec, "/usr/bin/pipelock", "127.0.0.1:41003");
  f.ports->taken = {41003};
  f.runner.fallback = exited(0);
  Bottles bottles = f.bottles();

  CHECK_THAT(error_of([&] { bottles.start("api"); }, ErrorKind::isolation),
             Catch::Contains("pipelock for api: 127.0.0.1:41003 is in use by another process"));
  CHECK(f.count(daemon_start_argv(pipelock.daemon())) == 0);
  CHECK(f.count(f.vm_start()) == 0);
}

TEST_CASE("the default smolmachines backend asks smolvm its version only when an operation needs it",
          "[host][smolmachines]") {
  RecordingRunner runner;
  runner.fallback = exited(0);
  const Host host(Host::Environment{{"BOTTLE_SMOLVM", "/opt/smolvm"}});
  const std::unique_ptr<Backend> smol = make_default_backend(BackendKind::smolmachines, runner, host, StateDirs{});
  CHECK(runner.argvs().empty());  // building it runs nothing (the dashboard's UI thread builds one)
  CHECK(smol->commands().start_argv(BottleSpec{.name = "api"}) ==
        Argv{"/opt/smolvm", "machine", "start", "--name", "bottle-api"});
  CHECK(runner.argvs().empty());

  runner.push_result(exited(2));  // a failing probe fails the operation, and is asked again next time
  CHECK_THROWS_WITH(smol->commands().remove_argvs(BottleSpec{.name = "api"}),
                    "smolmachines: /opt/smolvm --version failed (status 2)");
  runner.push_result(exited(0, "smolvm 1.0.2\n"));
  CHECK(smol->commands().remove_argvs(BottleSpec{.name = "api"}) ==
        std::vector<Argv>{{"/opt/smolvm", "machine", "delete", "--name", "bottle-api", "-f"}});
  CHECK(smol->commands().remove_argvs(BottleSpec{.name = "api"}).size() == 1);
  CHECK(runner.argvs() == std::vector<Argv>{{"/opt/smolvm", "--version"}, {"/opt/smolvm", "--version"}});
}

TEST_CASE("README's environment table lists exactly the variables bottle reads", "[host][readme]") {
  std::ifstream readme(fs::path(BOTTLE_TEST_SOURCE_DIR) / ".." / "README.md");
  REQUIRE(readme);
  std::vector<std::string> documented;
  bool in_section = false;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Environment variables";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const auto end = line.find('`', 3);
    REQUIRE(end != std::string::npos);
    documented.push_back(line.substr(3, end - 3));
  }
  std::vector<std::string> read;
  for (const auto& row : environment_variables()) read.emplace_back(row.name);
  CHECK(documented == read);
}

TEST_CASE("start gives egress its audit log settings, and a bad BOTTLE_EGRESS_AUDIT_MIB starts nothing",
          "[host][egress][audit]") {
  EgressFixture f;
  f.env.set("BOTTLE_EGRESS_AUDIT_MIB", "lots");
  Bottles bottles = f.bottles();
  CHECK(error_of([&] { bottles.start("api"); }) ==
        "environment variable BOTTLE_EGRESS_AUDIT_MIB: must be an integer 1-1024");
  CHECK(f.count(f.egress("start")) == 0);
  CHECK(f.count(f.vm_start()) == 0);
  const fs::path settings = egress_audit_dir(f.dirs, "api") / "audit.json";
  CHECK_FALSE(fs::exists(settings));

  f.env.set("BOTTLE_EGRESS_AUDIT_MIB", "3");
  f.ports->taken = {41001};
  f.runner.fallback = exited(3);  // probe: not our egress; the port is taken, so start stops there
  Bottles again = f.bottles();
  error_of([&] { again.start("api"); }, ErrorKind::isolation);
  CHECK(read_file(settings) == render_egress_audit_config("api", 3 * 1024 * 1024));
}
