// Unit tests for the host login refresh before minting (host_refresh.hpp): the
// bottle-egress ensure-fresh argv, how its exit is read, and the expiry window.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/base64url.hpp"
#include "bottle/credentials/host_refresh.hpp"
#include "bottle/ops/bottles.hpp"
#include "env_guard.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

std::string jwt(const boost::json::object& payload) {
  return base64url_encode(R"({"alg":"RS256"})") + "." + base64url_encode(boost::json::serialize(payload)) + "." +
         base64url_encode("sig");
}

}  // namespace

TEST_CASE("host refresh: ensure-fresh argv, direct", "[host_refresh]") {
  const std::vector<std::string> expected = {
      "/usr/bin/bottle-egress",   "ensure-fresh", "--kind", "codex", "--host-file",
      "/home/u/.codex/auth.json", "--min-valid",  "600"};
  CHECK(host_refresh_argv({.program = "/usr/bin/bottle-egress",
                           .agent = AgentKind::codex,
                           .host_file = "/home/u/.codex/auth.json"}) == expected);
}

TEST_CASE("host refresh: ensure-fresh argv through the parent proxy, with its CA", "[host_refresh]") {
  const std::vector<std::string> expected = {"/opt/bottle/bin/bottle-egress",
                                             "ensure-fresh",
                                             "--kind",
                                             "claude",
                                             "--host-file",
                                             "/home/u/.claude/.credentials.json",
                                             "--min-valid",
                                             "900",
                                             "--parent-proxy",
                                             "http://127.0.0.1:8888",
                                             "--upstream-ca",
                                             "/etc/test-ca.pem"};
  CHECK(host_refresh_argv({.program = "/opt/bottle/bin/bottle-egress",
                           .agent = AgentKind::claude,
                           .host_file = "/home/u/.claude/.credentials.json",
                           .min_valid_s = 900,
                           .upstream = {.proxy = "http://127.0.0.1:8888", .trusted_ca_file = "/etc/test-ca.pem"}}) ==
        expected);
  // A proxy without a CA file (the real pipelock case): no --cafile.
  const auto proxied = host_refresh_argv({.program = "/b/bottle-egress",
                                          .agent = AgentKind::codex,
                                          .host_file = "/h/auth.json",
                                          .upstream = {.proxy = "http://10.0.0.1:3128"}});
  CHECK(std::vector<std::string>(proxied.end() - 2, proxied.end()) ==
        std::vector<std::string>{"--parent-proxy", "http://10.0.0.1:3128"});
}

TEST_CASE("host refresh: outcome of a run", "[host_refresh]") {
  CHECK(host_refresh_outcome(exited(0, "fresh\n")) == HostRefreshOutcome::fresh);
  CHECK(host_refresh_outcome(exited(0, "refreshed\n")) == HostRefreshOutcome::refreshed);
  CHECK(host_refresh_outcome(exited(3, "", "sign in again")) == HostRefreshOutcome::sign_in_again);
  CHECK(host_refresh_outcome(exited(4)) == HostRefreshOutcome::unavailable);
  CHECK(host_refresh_outcome(exited(2)) == HostRefreshOutcome::unavailable);  // usage error
  CHECK(host_refresh_outcome(exited(1)) == HostRefreshOutcome::unavailable);  // a crash
  ProcessResult missing;
  missing.outcome = ProcessResult::Outcome::failed_to_start;
  missing.start_error = "bottle-egress: not found";
  CHECK(host_refresh_outcome(missing) == HostRefreshOutcome::unavailable);
  ProcessResult killed;
  killed.outcome = ProcessResult::Outcome::signaled;
  killed.code = 3;
  CHECK(host_refresh_outcome(killed) == HostRefreshOutcome::unavailable);
}

TEST_CASE("host refresh: a token is refreshed within 600 seconds of its expiry", "[host_refresh]") {
  constexpr std::int64_t now = 1'900'000'000;
  CHECK(host_token_expiring(now + 120, now));
  CHECK(host_token_expiring(now + 600, now));
  CHECK(host_token_expiring(now - 3600, now));
  CHECK_FALSE(host_token_expiring(now + 601, now));
  CHECK_FALSE(host_token_expiring(now + 7200, now));
  CHECK(host_token_expiring(now + 200, now, 300));
  CHECK_FALSE(host_token_expiring(now + 400, now, 300));
}

TEST_CASE("host refresh: create runs ensure-fresh first, and a dead host session writes nothing",
          "[host_refresh][credential_provisioning]") {
  TempDir tmp;
  const fs::path codex_home = tmp.path() / "codex";
  fs::create_directories(codex_home);
  const std::int64_t exp = static_cast<std::int64_t>(std::time(nullptr)) + 120;
  const boost::json::object auth{{"chatgpt_account_id", "acc-1"}};
  write_file_atomic(codex_home / "auth.json",
                    boost::json::serialize(boost::json::object{
                        {"auth_mode", "chatgpt"},
                        {"tokens",
                         {{"id_token", jwt({{"exp", exp}, {"https://api.openai.com/auth", auth}})},
                          {"access_token", jwt({{"exp", exp}, {"https://api.openai.com/auth", auth}})},
                          {"refresh_token", "rt-unit"}}},
                        {"last_refresh", "2026-11-26T10:00:00Z"}}),
                    0600);
  TestEnv env;
  env.set("CODEX_HOME", codex_home.string());
  const fs::path egress_program = tmp.path() / "bottle-egress";
  write_file_atomic(egress_program, "#!/bin/sh\nexit 1\n", 0700);  // never run: the runner records
  env.set("BOTTLE_EGRESS", egress_program.string());
  env.set("BOTTLE_EGRESS_UPSTREAM", "http://127.0.0.1:3128");
  env.set("BOTTLE_EGRESS_UPSTREAM_CA", (tmp.path() / "ca.pem").string());

  RecordingRunner runner;
  runner.fallback = exited(0);
  runner.push_result(exited(0));  // docker ps (name check)
  runner.push_result(exited(host_refresh_exit_sign_in_again, "", "bottle-egress: ... sign in again"));
  const StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  Bottles bottles(env.host(), runner, dirs, [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(r, std::make_unique<DockerCommands>());
  });
  BottleSpec spec;
  spec.name = "api";
  spec.agent = AgentKind::codex;
  spec.forward_host_credentials = true;

  const std::string message = error_of([&] { bottles.create(spec); });
  CHECK_THAT(message, Catch::Contains("sign in again on the host (run `codex login`)"));
  CHECK_THAT(message, Catch::Contains((codex_home / "auth.json").string()));
  const auto argvs = runner.argvs();
  REQUIRE(argvs.size() >= 2);
  CHECK(argvs[1] == host_refresh_argv({.program = egress_program,
                                       .agent = AgentKind::codex,
                                       .host_file = codex_home / "auth.json",
                                       .upstream = {.proxy = "http://127.0.0.1:3128",
                                                    .trusted_ca_file = (tmp.path() / "ca.pem").string()}}));
  // Nothing of the bottle was written: no spec, no state, no egress CA.
  CHECK_FALSE(fs::exists(dirs.spec_path("api")));
  CHECK_FALSE(fs::exists(dirs.bottle_state_dir("api")));
  for (const auto& argv : argvs) CHECK(argv.front() != "openssl");
}
