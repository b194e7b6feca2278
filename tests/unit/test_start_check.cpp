// Fail-closed start: the start probe's plan and verdicts (pure), and what create,
// start and ls do with them, through bottle-cli with a RecordingRunner that answers
// the probe (canary_responder.hpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/core/host_interface.hpp"
#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/rows_format.hpp"
#include "bottle/ops/start_check.hpp"
#include "canary_responder.hpp"
#include "cli_fixture.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

const GuestEgress egress_on{.enabled = true, .proxy_url = "http://egress:8080", .ca_bundle_path = "/ca.pem"};

// The probe's output for `plan`: every target times out but the ones in `answers`.
ProcessResult probe_output(const StartProbePlan& plan, const std::map<std::string, std::string>& answers) {
  std::string out;
  for (const auto& t : plan.targets) {
    const std::string endpoint = t.host + ":" + std::to_string(t.port);
    const auto it = answers.find(endpoint);
    out += t.host + " " + std::to_string(t.port) + " " + (it == answers.end() ? "timeout" : it->second) + "\n";
  }
  return exited(0, out);
}

const CanaryResult& named(const std::vector<CanaryResult>& results, const std::string& name) {
  const auto it = std::find_if(results.begin(), results.end(), [&](const CanaryResult& r) { return r.name == name; });
  REQUIRE(it != results.end());
  return *it;
}

bool is_probe(const Argv& argv) { return canary_responder::is_tcp_probe(argv); }

std::size_t probes_in(const RecordingRunner& runner) {
  const auto argvs = runner.argvs();
  return static_cast<std::size_t>(std::count_if(argvs.begin(), argvs.end(), is_probe));
}

std::string ls_json(CliFixture& f, const std::string& state) {
  // Newest responder first: this answer replaces an earlier call's.
  f.runner.respond([state](const Command& c) -> std::optional<ProcessResult> {
    if (c.argv.size() < 2 || c.argv[1] != "ps") return std::nullopt;
    return exited(0, "api\t" + state + "\t2026-11-26 18:50:00 +0000 UTC\tbottle\n");
  });
  REQUIRE(f.run({"ls", "--json"}) == 0);
  return f.out.str();
}

}  // namespace

TEST_CASE("start probe plan: public, then host addresses, then egress's proxy and other ports", "[start-check]") {
  const StartProbePlan plan = start_probe_plan({"10.0.0.1", "172.17.0.1"}, egress_on);
  CHECK(plan.public_count == 2);
  CHECK(plan.host_count == 4);
  std::vector<TcpTarget> expected = canary_public_targets();
  for (const auto& t : canary_host_targets({"10.0.0.1", "172.17.0.1"})) expected.push_back(t);
  for (const auto& t : canary_egress_targets({"egress", 8080})) expected.push_back(t);
  CHECK(plan.targets == expected);
  CHECK(plan.proxy == TcpTarget{"egress", 8080});
  CHECK_FALSE(plan.egress_ports);
  // One exec for every target, each with the start limit (0.3 s).
  const Argv argv = start_probe_argv(plan);
  CHECK(argv == tcp_probe_argv(plan.targets, std::chrono::milliseconds(300)));
  CHECK(argv.at(4) == "0.300");

  const StartProbePlan off = start_probe_plan({"10.0.0.1"}, GuestEgress{});
  CHECK(off.targets.size() == 4);
  REQUIRE(off.egress_ports);
  CHECK(off.egress_ports->status == CanaryStatus::skipped);
  const StartProbePlan bad = start_probe_plan({}, GuestEgress{.enabled = true, .proxy_url = "socks5://x:1"});
  REQUIRE(bad.egress_ports);
  CHECK(bad.egress_ports->status == CanaryStatus::unchecked);
}

TEST_CASE("start probe verdicts: nothing reached passes, anything reached or unjudged fails", "[start-check]") {
  const StartProbePlan plan = start_probe_plan({"10.0.0.1"}, egress_on);
  const std::map<std::string, std::string> healthy = {{"egress:8080", "connected"}, {"egress:22", "refused"}};

  auto results = judge_start_probe(plan, probe_output(plan, healthy));
  REQUIRE(results.size() == 3);
  CHECK(canaries_pass(results));
  CHECK_FALSE(first_failed_canary(results));

  auto open = healthy;
  open["1.1.1.1:443"] = "connected";
  results = judge_start_probe(plan, probe_output(plan, open));
  CHECK(named(results, "public-network").status == CanaryStatus::fail);
  CHECK(named(results, "host").status == CanaryStatus::pass);
  REQUIRE(first_failed_canary(results));
  CHECK(first_failed_canary(results)->name == "public-network");

  auto host = healthy;
  host["10.0.0.1:80"] = "refused";  // a reset is an answer: the host is reachable
  results = judge_start_probe(plan, probe_output(plan, host));
  CHECK(named(results, "host").status == CanaryStatus::fail);
  CHECK_THAT(named(results, "host").reason, Catch::Contains("10.0.0.1:80"));

  auto side_port = healthy;
  side_port["egress:9090"] = "connected";
  results = judge_start_probe(plan, probe_output(plan, side_port));
  CHECK(named(results, "egress-ports").status == CanaryStatus::fail);

  // A probe that did not run, ran without a tool, or answered short: each canary
  // could not be checked (a failure), and says why.
  for (const ProcessResult& broken :
       {exited(1, "", "exec failed"), exited(0, "no-tool\n"), exited(0, "1.1.1.1 443 timeout\n"), timed_out()}) {
    results = judge_start_probe(plan, broken);
    REQUIRE(results.size() == 3);
    for (const auto& r : results) {
      CHECK(r.status == CanaryStatus::unchecked);
      CHECK_THAT(r.reason, Catch::StartsWith("could not check"));
    }
    REQUIRE(first_failed_canary(results));
    CHECK(first_failed_canary(results)->name == "public-network");
  }
  CHECK_THAT(judge_start_probe(plan, exited(0, "no-tool\n")).front().reason, Catch::Contains("no probe tool"));
}

TEST_CASE("start refused: the message names the canary and its reason", "[start-check]") {
  const std::string message = start_refused_message(
      "api", CanaryResult{"host", CanaryStatus::fail, "host address 10.0.0.1:80 is reachable (refused)"});
  CHECK_THAT(message, Catch::Contains("bottle api did not pass its network check, so it was stopped") &&
                          Catch::Contains("canary host failed: host address 10.0.0.1:80 is reachable (refused)"));
  CHECK_THAT(
      start_refused_message("api", CanaryResult{"public-network", CanaryStatus::unchecked, "could not check: x"}),
      Catch::Contains("canary public-network could not be checked: could not check: x"));
}

TEST_CASE("create: the start probe runs right after the engine starts the bottle, as root", "[start-check][cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-egress"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("created bottle api (docker, claude), running\n"));
  const BottleSpec spec = SpecStore(f.ctx.dirs).load("api");
  DockerCommands docker;
  const StartProbePlan plan = start_probe_plan(host_ipv4_addresses(), GuestEgress{});
  const Argv probe = docker.exec_argv(spec, start_probe_argv(plan),
                                      ExecOptions{.user = "root", .env = {{"PATH", std::string(canary_probe_path)}}});
  const auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 5);  // ps, network create, create, start, probe
  CHECK(argvs[3] == docker.start_argv(spec));
  CHECK(argvs[4] == probe);
  CHECK_FALSE(fs::exists(unchecked_marker_path(f.ctx.dirs, "api")));
  CHECK(ls_json(f, "running").find("unchecked") == std::string::npos);
}

TEST_CASE("start: a bottle that fails a network canary is stopped, exit 6, naming the canary", "[start-check][cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-egress", "--no-start"}) == 0);
  const BottleSpec spec = SpecStore(f.ctx.dirs).load("api");
  f.runner.respond(canary_responder::healthy_except("8.8.8.8:53", "connected"));
  const std::size_t before = f.runner.argvs().size();
  CHECK(f.run({"start", "api"}) == exit_code::isolation);
  CHECK_THAT(f.err.str(), Catch::Contains("canary public-network failed: public address 8.8.8.8:53 is reachable"));
  CHECK(f.out.str().empty());
  const auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == before + 3);  // start, probe, stop
  CHECK(argvs[before] == DockerCommands().start_argv(spec));
  CHECK(is_probe(argvs[before + 1]));
  CHECK(argvs[before + 2] == DockerCommands().stop_argv(spec));
  // The stored spec stays (the bottle exists, stopped): start it again once fixed.
  CHECK(SpecStore(f.ctx.dirs).exists("api"));
}

TEST_CASE("start: a probe that could not check is a failure too: the bottle is stopped", "[start-check][cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-egress", "--no-start"}) == 0);
  f.runner.respond([](const Command& c) -> std::optional<ProcessResult> {
    if (!is_probe(c.argv)) return std::nullopt;
    return exited(0, "no-tool\n");
  });
  CHECK(f.run({"start", "api"}) == exit_code::isolation);
  CHECK_THAT(f.err.str(), Catch::Contains("canary public-network could not be checked") &&
                              Catch::Contains("no probe tool in the image"));
  CHECK(f.runner.argvs().back() == DockerCommands().stop_argv(SpecStore(f.ctx.dirs).load("api")));
}

TEST_CASE("create: a bottle that fails its check is removed like any failed create", "[start-check][cli]") {
  CliFixture f;
  f.runner.respond(canary_responder::tcp_probe([](const std::vector<std::string>& targets, std::size_t i) {
    // Connected to a non-internal network: the host's addresses answer.
    return i >= 2 && targets[i].ends_with(":22") ? std::string("refused") : std::string("timeout");
  }));
  CHECK(f.run({"create", "--name", "api", "--no-egress"}) == exit_code::isolation);
  CHECK_THAT(f.err.str(),
             Catch::Contains("so it was removed: canary host failed") && Catch::Contains("create it with --no-check"));
  CHECK_FALSE(SpecStore(f.ctx.dirs).exists("api"));
  CHECK_FALSE(fs::exists(f.ctx.dirs.bottle_state_dir("api")));
  const auto argvs = f.runner.argvs();
  CHECK(std::find(argvs.begin(), argvs.end(), Argv{"docker", "rm", "-f", "bottle-api"}) != argvs.end());
}

TEST_CASE("start --no-check: no probe, an unchecked marker that ls shows, cleared by the next checked start",
          "[start-check][cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-egress", "--no-check"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("running (unchecked)"));
  CHECK(probes_in(f.runner) == 0);
  const fs::path marker = unchecked_marker_path(f.ctx.dirs, "api");
  REQUIRE(fs::exists(marker));
  CHECK((fs::status(marker).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  // The flag is how this start goes, not part of the bottle.
  CHECK(read_file(f.ctx.dirs.config / "bottles" / "api.json").find("check") == std::string::npos);

  CHECK_THAT(ls_json(f, "running"), Catch::Contains(R"("state":"running","workspace":"")") &&
                                        Catch::Contains(R"("managed":true,"unchecked":true})"));
  REQUIRE(f.run({"ls"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("running (unchecked)"));
  // A stopped bottle has nothing to be unchecked about.
  CHECK(ls_json(f, "exited").find("unchecked") == std::string::npos);

  REQUIRE(f.run({"start", "--no-check", "api"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("started bottle api (unchecked"));
  CHECK(probes_in(f.runner) == 0);
  CHECK(fs::exists(marker));

  REQUIRE(f.run({"start", "api"}) == 0);
  CHECK(f.out.str() == "started bottle api\n");
  CHECK(probes_in(f.runner) == 1);
  CHECK_FALSE(fs::exists(marker));
  CHECK(ls_json(f, "running").find("unchecked") == std::string::npos);
}

TEST_CASE("start: --no-check is a flag of create, up and start only", "[start-check][cli]") {
  CliFixture f;
  CHECK(f.run({"stop", "--no-check", "api"}) == exit_code::usage);
  CHECK(f.run({"ls", "--no-check"}) == exit_code::usage);
  CHECK(f.run({"up", "--name", "api", "--no-egress", "--no-check"}) == 0);
  CHECK(probes_in(f.runner) == 0);
  CHECK(f.run({"start", "--help"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("--no-check"));
}

TEST_CASE("an unchecked bottle is marked in the dashboard's row and in ls --json, a checked one is not",
          "[start-check][dashboard]") {
  BottleRow row{.name = "api", .state = EngineState::running, .egress = EgressState::on};
  CHECK(dash_cells(row, 0)[3] == "running");
  CHECK(rows_to_json({row}).find("unchecked") == std::string::npos);
  row.unchecked = true;
  CHECK(dash_cells(row, 0)[3] == "running (unchecked)");
  CHECK_THAT(rows_to_json({row}), Catch::Contains(R"("unchecked":true)"));
}

TEST_CASE("start probe: a proxy address only the pod knows is read from the pod's HTTPS_PROXY, else unresolved",
          "[start-check]") {
  RecordingRunner runner;
  KubernetesOptions options;
  options.egress_inputs = [](const BottleSpec&) { return KubeInputs{}; };
  const Backend backend(runner, std::make_unique<KubernetesCommands>(options));
  BottleSpec spec;
  spec.name = "api";
  spec.backend = BackendKind::kubernetes;

  runner.push_result(exited(0, "http://10.96.4.7:8080"));
  GuestEgress egress = resolved_guest_egress(runner, backend, spec);
  CHECK(egress.proxy_url == "http://10.96.4.7:8080");
  CHECK_FALSE(egress.address_in_guest);
  CHECK(runner.commands().back().argv == Argv{"kubectl", "exec", "-c", "agent", "bottle-api-agent", "--", "env",
                                              "PATH=" + std::string(canary_probe_path), "sh", "-c",
                                              "printf '%s' \"$HTTPS_PROXY\""});

  // No answer, or not an http://HOST:PORT: left as the pod has it, so the probe
  // cannot reach it and the start fails closed.
  for (const ProcessResult& bad : {exited(1), exited(0, ""), exited(0, "socks5://10.0.0.1:1080")}) {
    runner.push_result(bad);
    egress = resolved_guest_egress(runner, backend, spec);
    CHECK(egress.address_in_guest);
    CHECK(egress.proxy_url == "http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080");
  }
  // An engine whose proxy address the host knows is not asked.
  const std::size_t asked = runner.commands().size();
  const Backend docker(runner, std::make_unique<DockerCommands>());
  spec.backend = BackendKind::docker;
  CHECK_FALSE(resolved_guest_egress(runner, docker, spec).address_in_guest);
  CHECK(runner.commands().size() == asked);
}
