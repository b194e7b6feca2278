// Refreshing a forwarded login end to end, with the real agent CLIs in Docker bottles:
// the host login is about to expire, the agent asks its vendor's token endpoint for a
// new one, egress's token broker answers it with dummies and refreshes the host login
// itself (once, with the real refresh token, written back atomically), and the agent
// keeps working with the rotated real token injected. The parts are those of
// test_forwarding_e2e.cpp (forwarding_harness.hpp).
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <ctime>

#include "docker_bridge.hpp"
#include "forwarding_harness.hpp"

using namespace forwarding_harness;

namespace {

// make_certs() plus the token endpoints' hosts (auth.openai.com, platform.claude.com)
// on the fake upstream's certificate.
void make_certs_with_token_host(const fs::path& d) {
  make_certs(d);
  write_file(d / "ext.cnf",
             "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
             "subjectAltName=DNS:chatgpt.com,DNS:auth.openai.com,DNS:evil.example,DNS:api.anthropic.com,"
             "DNS:platform.claude.com\n");
  const auto r = run({"openssl", "x509", "-req", "-in", (d / "server.csr").string(), "-CA", (d / "ca.pem").string(),
                      "-CAkey", (d / "ca.key").string(), "-CAcreateserial", "-out", (d / "server.pem").string(),
                      "-days", "2", "-extfile", (d / "ext.cnf").string()});
  INFO(r.err);
  REQUIRE(r.ok());
}

// The fake token endpoint's state (fake_net.py): "rotate", "error" or "dead".
void set_token_endpoint(const fs::path& d, const std::string& mode, const std::string& refresh_token) {
  replace_file(d / "tokens.json",
               boost::json::serialize(boost::json::object{
                   {"mode", mode}, {"refresh_token", refresh_token}, {"count", 0}, {"account_id", "acct-e2e"}}));
}

// fake_net on Docker's bridge, playing the token endpoints from the home's
// tokens.json, and egress's upstream set to its parent proxy.
std::unique_ptr<Daemon> start_token_net(IntegrationHome& home) {
  const fs::path& d = home.path();
  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  ::setenv("FAKE_NET_TOKENS", (d / "tokens.json").c_str(), 1);
  auto net = start_fake_net(d, gateway);
  ::unsetenv("FAKE_NET_TOKENS");
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + gateway + ":" + std::to_string(parent_port(d));
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();
  return net;
}

}  // namespace

TEST_CASE("forwarding: codex in a bottle refreshes through the egress broker and the host login stays valid",
          "[forwarding][integration][broker]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  make_certs_with_token_host(d);
  // The host token expires in 2 minutes: inside Codex's 5-minute refresh window, and
  // inside the broker's, so the broker refreshes the host login once.
  HostLogin login = write_host_codex_login(d / "codex-home");
  const auto host_file = d / "codex-home" / "auth.json";
  {
    auto doc = boost::json::parse(read_file(host_file)).as_object();
    const std::int64_t now = std::time(nullptr);
    const boost::json::object auth{
        {"chatgpt_account_id", "acct-e2e"}, {"chatgpt_plan_type", "plus"}, {"chatgpt_user_id", "user-e2e"}};
    login.access_token = fake_jwt({{"exp", now + 120}, {"iat", now}, {"https://api.openai.com/auth", auth}});
    doc["tokens"].as_object()["access_token"] = login.access_token;
    write_file(host_file, boost::json::serialize(doc));
  }
  proc_scan::Scanner scanner(real_tokens(login));
  // create would refresh the host login before minting (C4 rule 4): the token endpoint
  // fails for now during create, so the bottle starts with the expiring token and
  // the refresh under test is the broker's.
  set_token_endpoint(d, "error", login.refresh_token);

  const auto net = start_token_net(home);
  home.env()["CODEX_HOME"] = (d / "codex-home").string();
  const std::string name = unique_bottle_name("it-brk");
  BottleCleanup cleanup{home, name};
  auto r =
      home.cli({"create", "--name", name, "--agent", "codex", "--image", codex_image, "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(contains(r.err, "warning: could not refresh the host's codex login"));
  set_token_endpoint(d, "rotate", login.refresh_token);
  r = home.cli({"exec", name, "--", "cat", ".codex/auth.json"});
  REQUIRE(r.ok());
  const std::string first_dummy(boost::json::parse(r.out).at("tokens").at("access_token").as_string());

  home.cli({"exec", name, "--", "timeout", "60", "codex", "exec", "--skip-git-repo-check", "say hi"});

  // One real refresh happened, with the real refresh token, and the rotated login is
  // in the host's own file (mode kept).
  const auto tokens_state = boost::json::parse(read_file(d / "tokens.json")).as_object();
  CHECK(tokens_state.at("count").as_int64() == 1);
  const auto host_doc = boost::json::parse(read_file(host_file)).as_object();
  const auto& host_tokens = host_doc.at("tokens").as_object();
  const std::string rotated_at(host_tokens.at("access_token").as_string());
  CHECK(host_tokens.at("refresh_token") == "rt-1");
  CHECK(host_tokens.at("account_id") == "acct-e2e");
  CHECK(rotated_at != login.access_token);
  CHECK((fs::status(host_file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));

  // The bottle stored fresh dummies (never a real token) and kept working: its later
  // requests reached chatgpt.com with the rotated real token.
  r = home.cli({"exec", name, "--", "cat", ".codex/auth.json"});
  REQUIRE(r.ok());
  const auto bottle_tokens = boost::json::parse(r.out).at("tokens").as_object();
  CHECK(std::string(bottle_tokens.at("access_token").as_string()) != first_dummy);
  CHECK(r.out.find(rotated_at) == std::string::npos);
  CHECK(r.out.find("rt-1") == std::string::npos);
  int with_rotated = 0, refreshes_upstream = 0;
  for (const auto& rec : upstream_requests(d / "upstream.log")) {
    with_rotated += header(rec, "authorization") == "Bearer " + rotated_at ? 1 : 0;
    refreshes_upstream += rec.at("path") == "/oauth/token" ? 1 : 0;
  }
  CHECK(with_rotated > 0);
  CHECK(refreshes_upstream == 2);  // create's, failed for now, and the broker's
  // The audit log shows the refresh egress answered itself; no token, old or rotated.
  const std::string audit = audit_log_with(home, name, R"("action":"broker")", login, first_dummy);
  CHECK(contains(audit, R"("host":"auth.openai.com","method":"POST","path":"/oauth/token")"));
  CHECK(audit.find(rotated_at) == std::string::npos);
  CHECK(audit.find("rt-1") == std::string::npos);

  // codex logout in the bottle revokes nothing upstream; the host login is untouched.
  const auto before_logout = read_file(host_file);
  home.cli({"exec", name, "--", "timeout", "30", "codex", "logout"});
  CHECK(read_file(host_file) == before_logout);
  for (const auto& rec : upstream_requests(d / "upstream.log")) CHECK(rec.at("path") != "/oauth/revoke");

  check_no_token_in_any_argv(scanner);
}

TEST_CASE("forwarding: real claude in a bottle refreshes through the egress broker and the host login stays valid",
          "[forwarding][claude][integration][broker]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  make_certs_with_token_host(d);
  // Two minutes left: inside claude's own refresh window and the broker's.
  HostLogin login = write_host_claude_login(d / "claude-home");
  const auto host_file = d / "claude-home" / ".credentials.json";
  {
    auto doc = boost::json::parse(read_file(host_file)).as_object();
    doc["claudeAiOauth"].as_object()["expiresAt"] = (std::int64_t{std::time(nullptr)} + 120) * 1000;
    write_file(host_file, boost::json::serialize(doc));
  }
  proc_scan::Scanner scanner(real_tokens(login));
  // The endpoint fails while create runs (create would refresh the host login itself),
  // so the refresh under test is the broker's.
  set_token_endpoint(d, "error", login.refresh_token);

  const auto net = start_token_net(home);
  home.env()["CLAUDE_CONFIG_DIR"] = (d / "claude-home").string();
  const std::string name = unique_bottle_name("it-cbrk");
  BottleCleanup cleanup{home, name};
  auto r = home.cli({"create", "--name", name, "--agent", "claude", "--image", "bottle-test-claude:latest",
                     "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(contains(r.err, "warning: could not refresh the host's claude login"));
  set_token_endpoint(d, "rotate", login.refresh_token);
  r = home.cli({"exec", name, "--", "cat", ".claude/.credentials.json"});
  REQUIRE(r.ok());
  const std::string first_dummy(boost::json::parse(r.out).at("claudeAiOauth").at("accessToken").as_string());

  r = home.cli({"exec", name, "--", "timeout", "90", "claude", "-p", "say hi"});
  INFO(r.err);
  CHECK(r.ok());
  CHECK_THAT(r.out, Catch::Contains("hello from the fake Anthropic API"));

  // One real refresh, with the real refresh token; the rotated login is in the host's
  // own file, other fields and mode kept.
  CHECK(boost::json::parse(read_file(d / "tokens.json")).at("count").as_int64() == 1);
  const auto host_oauth = boost::json::parse(read_file(host_file)).at("claudeAiOauth").as_object();
  CHECK(host_oauth.at("accessToken") == "at-1");
  CHECK(host_oauth.at("refreshToken") == "rt-1");
  CHECK(host_oauth.at("subscriptionType") == "max");
  CHECK(host_oauth.at("expiresAt").as_int64() > (std::int64_t{std::time(nullptr)} + 3600) * 1000);
  CHECK((fs::status(host_file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));

  // claude stored the broker's fresh dummies, never a real token, and its request to
  // the API went out with the rotated real token.
  r = home.cli({"exec", name, "--", "cat", ".claude/.credentials.json"});
  REQUIRE(r.ok());
  const auto bottle_oauth = boost::json::parse(r.out).at("claudeAiOauth").as_object();
  CHECK(std::string(bottle_oauth.at("accessToken").as_string()) != first_dummy);
  CHECK(r.out.find("at-1") == std::string::npos);
  CHECK(r.out.find("rt-1") == std::string::npos);
  CHECK(r.out.find(login.refresh_token) == std::string::npos);
  int messages_with_rotated = 0, refreshes_upstream = 0;
  for (const auto& rec : upstream_requests(d / "upstream.log")) {
    const std::string path(rec.at("path").as_string());
    messages_with_rotated += path.rfind("/v1/messages", 0) == 0 && header(rec, "authorization") == "Bearer at-1";
    refreshes_upstream += path == "/v1/oauth/token" ? 1 : 0;
  }
  CHECK(messages_with_rotated > 0);
  CHECK(refreshes_upstream == 2);  // create's, failed for now, and the broker's
  const std::string audit = audit_log_with(home, name, R"("action":"broker")", login, first_dummy);
  CHECK(contains(audit, R"("host":"platform.claude.com","method":"POST","path":"/v1/oauth/token")"));
  CHECK(audit.find("at-1") == std::string::npos);
  CHECK(audit.find("rt-1") == std::string::npos);

  check_no_token_in_any_argv(scanner);
}
