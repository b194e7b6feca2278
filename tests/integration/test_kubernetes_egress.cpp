// A kubernetes bottle with forwarded credentials, through bottle-cli, against the
// fake kubectl (tests/fakes/fake_kubectl.py), which backs each pod with a Docker
// container and enforces the agent's NetworkPolicy with an internal network it
// shares with the egress pod only. The egress pod runs the real bottle-egress
// image, whose parent proxy is the fake network on the host; the agent is real codex.
//
// What it proves: the agent pod reaches upstream only through the egress pod's
// Service (the service-link variable in its proxy settings), egress swaps the
// dummy for the access token the host pushed into the Secret, the cluster never
// holds the refresh token, the canaries pass in the pod, and a login the host
// refreshed and pushed (`broker run --once`) is what egress sends next.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <sstream>

#include "cli_harness.hpp"
#include "docker_bridge.hpp"
#include "forwarding_harness.hpp"
#include "kubectl_harness.hpp"

using namespace forwarding_harness;

TEST_CASE("kubernetes egress: bottle-cli runs real codex in a cluster bottle through its egress and pushes logins",
          "[kubernetes][forwarding][integration]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  use_fake_kubectl(home);
  make_certs(d);
  HostLogin login = write_host_codex_login(d / "codex-home");
  proc_scan::Scanner scanner(real_tokens(login));
  const auto net = start_fake_net(d, "0.0.0.0");
  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  const std::string parent = gateway + ":" + std::to_string(parent_port(d));
  home.env()["CODEX_HOME"] = (d / "codex-home").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://" + parent;
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = (d / "ca.pem").string();

  const std::string name = unique_bottle_name("it-kfwd");
  BottleCleanup cleanup{home, name};
  auto r = home.cli({"create", "--backend", "kubernetes", "--context", "fake", "--namespace", "agents", "--name", name,
                     "--agent", "codex", "--image", codex_image, "--forward-host-credentials"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"egress\":\"on\""));

  // The bottle holds dummies only.
  const std::string dummy = bottle_codex_dummy(home, name, login);

  // Real codex's request reaches upstream through the egress pod with the real token.
  const auto run_codex = [&] {
    return home.cli({"exec", name, "--", "timeout", "60", "codex", "exec", "--skip-git-repo-check", "say hi"});
  };
  run_codex();
  check_upstream_saw_real_token(d, login, dummy);
  check_no_direct_route(home, name, parent);

  // Egress logs in its pod; `logs` drains the records to the host's log, each once,
  // every one this bottle's.
  const auto logs = [&] {
    const auto shown = home.cli({"logs", name, "--json"});
    INFO(shown.err);
    CHECK(shown.ok());
    CHECK(shown.err.empty());
    return shown.out;
  };
  const std::string first = logs();
  std::size_t injected = 0;
  {
    std::istringstream lines(first);
    for (std::string line; std::getline(lines, line);) {
      const auto record = boost::json::parse(line).as_object();
      CHECK(record.at("bottle") == name.c_str());
      if (record.at("action") == "injected") ++injected;
    }
  }
  CHECK(injected >= 1);
  CHECK(logs() == first);

  // The fences hold, proven in the pod (the proxy's address read from the pod).
  r = home.cli({"check", name});
  INFO(r.out << r.err);
  CHECK(r.ok());

  // Stopped, egress goes too, its last records kept on the host; started again, the
  // bottle works as before.
  REQUIRE(home.cli({"stop", name}).ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"state\":\"stopped\""));
  CHECK(logs().rfind(first, 0) == 0);
  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  // A stop deleted the pod's home with it: the dummy login is installed again.
  r = home.cli({"exec", name, "--", "cat", ".codex/auth.json"});
  REQUIRE(r.ok());
  CHECK(boost::json::parse(r.out).at("tokens").at("access_token").as_string() == dummy);

  // The host refreshes its login; `broker run --once` pushes the copy, which egress
  // sends from its next request on. The cluster never holds the refresh token.
  const std::string old_access = login.access_token;
  login.access_token = fake_jwt({{"exp", std::time(nullptr) + std::time_t{2} * 86400}, {"jti", "pushed-" + name}});
  {
    const auto auth = d / "codex-home" / "auth.json";
    boost::json::object file = boost::json::parse(read_file(auth)).as_object();
    file["tokens"].as_object()["access_token"] = login.access_token;
    replace_file(auth, boost::json::serialize(file));
  }
  r = home.cli({"broker", "run", "--once", name});
  INFO(r.err);
  CHECK(r.ok());
  CHECK(r.out == "pushed the host's logins to " + name + "'s egress\n");
  fs::remove(d / "upstream.log");
  run_codex();
  CHECK(fs::exists(d / "upstream.log"));
  if (fs::exists(d / "upstream.log")) {
    CHECK(contains(read_file(d / "upstream.log"), login.access_token));
    CHECK_FALSE(contains(read_file(d / "upstream.log"), old_access));
  }
  const auto secret = run({"sh", "-c",
                           "cat \"$0\"/agents/secrets/*.json | python3 -c 'import base64, json, sys\n"
                           "for v in json.load(sys.stdin)[\"data\"].values(): print(base64.b64decode(v).decode())'",
                           (d / "kube-state").string()});
  CHECK(contains(secret.out, login.access_token));
  CHECK_FALSE(contains(secret.out, login.refresh_token));

  // rm leaves nothing: no object, no container, no network.
  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  CHECK(r.ok());
  const auto left = run({"sh", "-c",
                         "find \"$0\"/agents -name '*.json' 2>/dev/null; docker ps -a --format '{{.Names}}'; "
                         "docker network ls --format '{{.Name}}'",
                         (d / "kube-state").string()});
  CHECK_FALSE(contains(left.out, name));
  check_no_token_in_any_argv(scanner, "fake_kubectl.py");
}
