// Fail-closed start on the real Docker engine: a healthy bottle starts with its network
// canaries, one whose engine setup is broken on purpose does not (it is stopped again,
// egress too, exit 6 naming the canary), and `--no-check` starts it anyway, shown as
// unchecked. Also the two fences `check` must catch that test_docker_check.cpp does
// not break: the bottle's network made without the internal flag, and a real token in
// the environment its container was created with. Real token values are only compared,
// never printed.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <boost/json.hpp>
#include <ctime>
#include <map>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/base64url.hpp"
#include "bottle/spec/spec.hpp"
#include "bottle/workspace/workspace_guard.hpp"
#include "cli_harness.hpp"
#include "net_harness.hpp"

using namespace net_harness;

namespace {

struct FailClosedCleanup {
  std::string name;
  ~FailClosedCleanup() {
    bottle::SystemRunner r;
    r.run({.argv = {"docker", "rm", "-f", "bottle-" + name, "bottle-" + name + "-egress"}});
    r.run({.argv = {"docker", "network", "rm", "bottle-" + name + "-net"}});
  }
};

bool running(const std::string& container) {
  const auto r = bottle::SystemRunner().run({.argv = {"docker", "inspect", "-f", "{{.State.Running}}", container}});
  return r.ok() && r.out.rfind("true", 0) == 0;
}

// name -> status of `check NAME --json`.
std::map<std::string, std::string> statuses(const std::string& json_text) {
  std::map<std::string, std::string> result;
  const auto doc = boost::json::parse(json_text);
  for (const auto& c : doc.at("canaries").as_array())
    result[std::string(c.at("name").as_string())] = std::string(c.at("status").as_string());
  return result;
}

// The `ls --json` row of `name`.
boost::json::object ls_row(IntegrationHome& home, const std::string& name) {
  const auto r = home.cli({"ls", "--json"});
  REQUIRE(r.ok());
  const boost::json::value rows = boost::json::parse(r.out);
  for (const auto& row : rows.as_array())
    if (row.at("name") == name.c_str()) return row.as_object();
  FAIL("no ls row for " << name);
  return {};
}

// Run `argv` and require it to work.
void must(const bottle::Argv& argv) {
  const auto r = bottle::SystemRunner().run({.argv = argv});
  INFO(argv.at(1) << " " << argv.at(2) << ": " << r.err);
  REQUIRE(r.ok());
}

// Re-make the bottle's network as `network_flags` says (it must be stopped): both
// containers leave it, it is removed and created again, and they rejoin it, egress
// under the name the bottle's proxy URL uses.
void remake_network(const std::string& name, const bottle::Argv& network_flags) {
  const std::string container = "bottle-" + name, net = container + "-net";
  must({"docker", "network", "disconnect", net, container});
  must({"docker", "network", "disconnect", net, container + "-egress"});
  must({"docker", "network", "rm", net});
  bottle::Argv create{"docker", "network", "create"};
  create.insert(create.end(), network_flags.begin(), network_flags.end());
  create.push_back(net);
  must(create);
  must({"docker", "network", "connect", "--alias", std::string(bottle::docker_egress_alias), net,
        container + "-egress"});
  must({"docker", "network", "connect", net, container});
}

}  // namespace

TEST_CASE("fail-closed start: a healthy bottle starts checked, a broken one is stopped, --no-check starts it unchecked",
          "[docker][integration][start-check]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-failclosed");
  const std::string container = "bottle-" + name;
  FailClosedCleanup cleanup{name};

  auto r = home.cli({"create", "--name", name, "--image", "bottle-test:latest"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains(", running\n"));
  CHECK(running(container));
  CHECK(ls_row(home, name).count("unchecked") == 0);
  REQUIRE(home.cli({"stop", name}).ok());

  // Broken on purpose: the bottle also sits on Docker's default bridge, where the
  // host (its gateway) answers and there may be a route out.
  must({"docker", "network", "connect", "bridge", container});
  r = home.cli({"start", name});
  INFO(r.out << r.err);
  CHECK(r.code == 6);
  CHECK_THAT(r.err, Catch::Contains("did not pass its network check, so it was stopped") &&
                        (Catch::Contains("canary host failed") || Catch::Contains("canary public-network failed")));
  CHECK_FALSE(running(container));
  CHECK_FALSE(running(container + "-egress"));

  // --no-check starts it anyway, and says so wherever it is listed.
  r = home.cli({"start", "--no-check", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(running(container));
  CHECK(ls_row(home, name).at("unchecked") == true);
  CHECK_THAT(home.cli({"ls"}).out, Catch::Contains("running (unchecked)"));
  const auto marker = home.find_file("unchecked");
  REQUIRE_FALSE(marker.empty());
  struct stat st {};
  REQUIRE(::stat(marker.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // Fixed again, the next checked start passes and clears the mark.
  REQUIRE(home.cli({"stop", name}).ok());
  must({"docker", "network", "disconnect", "bridge", container});
  r = home.cli({"start", name});
  INFO(r.err);
  CHECK(r.ok());
  CHECK(running(container));
  CHECK(ls_row(home, name).count("unchecked") == 0);
  CHECK(home.find_file("unchecked").empty());
}

TEST_CASE("check: the bottle's network made without the internal flag fails a network canary",
          "[docker][integration][check]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-chknet");
  FailClosedCleanup cleanup{name};
  REQUIRE(home.cli({"create", "--name", name, "--image", "bottle-test:latest"}).ok());
  REQUIRE(home.cli({"stop", name}).ok());

  SECTION("without --internal but still without a host address on the bridge: nothing is reachable yet") {
    // bottle's network has two locks: --internal, and no IPv4 address on the host's
    // side of the bridge. Either alone keeps the bottle in: this proves the second.
    remake_network(name, {"-o", "com.docker.network.bridge.inhibit_ipv4=true"});
    REQUIRE(home.cli({"start", name}).ok());
    const auto r = home.cli({"check", name, "--json"});
    INFO(r.out << r.err);
    const auto s = statuses(r.out);
    CHECK(s.at("public-network") == "pass");
    CHECK(s.at("host") == "pass");
  }

  SECTION("an ordinary (not internal) network: `host` fails, and start refuses the bottle") {
    remake_network(name, {});
    auto r = home.cli({"start", "--no-check", name});
    REQUIRE(r.ok());
    r = home.cli({"check", name, "--json"});
    INFO(r.out << r.err);
    CHECK(r.code == 6);
    CHECK(statuses(r.out).at("host") == "fail");
    r = home.cli({"check", name});
    CHECK_THAT(r.out, Catch::Contains("host address") && Catch::Contains("is reachable"));
    REQUIRE(home.cli({"stop", name}).ok());
    r = home.cli({"start", name});
    CHECK(r.code == 6);
    CHECK_FALSE(running("bottle-" + name));
  }
}

namespace {

std::string fake_jwt(const boost::json::object& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         bottle::base64url_encode(boost::json::serialize(payload)) + "." + bottle::base64url_encode("signature");
}

}  // namespace

TEST_CASE("check: a real token in the environment the bottle's container was created with fails `tokens`",
          "[docker][integration][check]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-chkenv");
  const std::string container = "bottle-" + name;
  FailClosedCleanup cleanup{name};

  // The host's Codex login: its access token is a real secret.
  const auto codex_home = home.path() / "codex-home";
  fs::create_directories(codex_home);
  const std::int64_t now = std::time(nullptr);
  const std::string access = fake_jwt({{"exp", now + 86400}, {"iat", now}, {"jti", "real-env-access"}});
  write_file(codex_home / "auth.json",
             boost::json::serialize(boost::json::object{
                 {"auth_mode", "chatgpt"},
                 {"OPENAI_API_KEY", nullptr},
                 {"tokens",
                  {{"id_token", fake_jwt({{"exp", now + 3600}, {"chatgpt_account_id", "acct-env"}})},
                   {"access_token", access},
                   {"refresh_token", "real-refresh-token-for-env-check"},
                   {"account_id", "acct-env"}}},
                 {"last_refresh", "2026-11-26T10:00:00Z"}}));
  home.env()["CODEX_HOME"] = codex_home.string();

  auto r = home.cli({"create", "--name", name, "--image", "bottle-test:latest", "--no-start"});
  INFO(r.err);
  REQUIRE(r.ok());
  // The container made again exactly as bottle makes it (its own argv builder), plus
  // an environment file holding the token: the token never enters an argv.
  r = home.cli({"config", "show", name});
  REQUIRE(r.ok());
  const bottle::BottleSpec spec = bottle::parse_spec(r.out);
  const fs::path env_file = home.path() / "leak.env";
  write_file(env_file, "LEAKED_TOKEN=" + access + "\n");
  fs::permissions(env_file, fs::perms::owner_read | fs::perms::owner_write);
  bottle::Argv create = bottle::DockerCommands().create_argvs(spec, bottle::guard_mounts(spec)).at(1);
  REQUIRE(create.at(1) == "create");
  create.insert(create.begin() + 2, {"--env-file", env_file.string()});
  must({"docker", "rm", "-f", container});
  must(create);

  // The network canaries do not look for tokens: it starts.
  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  r = home.cli({"check", name, "--json"});
  CHECK(r.code == 6);
  CHECK(statuses(r.out).at("tokens") == "fail");
  CHECK_THAT(r.out, Catch::Contains("Codex access token") && Catch::Contains("environ"));
  CHECK(r.out.find(access) == std::string::npos);
  CHECK(r.err.find(access) == std::string::npos);
}
