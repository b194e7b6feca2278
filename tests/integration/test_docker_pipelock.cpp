// Docker and Podman with pipelock installed: egress container -> a pipelock that
// bottle runs on the host, listening on the engine's gateway -> the fake upstream. pipelock
// is tests/fake_pipelock (on PATH as `pipelock`), which enforces the config bottle
// wrote; the upstream poses as the API hosts. Requests enter egress on its bridge
// address, from the host: the bottle -> egress hop (the bottle's only way out) is
// what test_docker_lifecycle and test_forwarding_e2e prove, with the real codex CLI.
// Token values are test strings; assertions test booleans.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <csignal>
#include <functional>

#include "cli_harness.hpp"
#include "docker_bridge.hpp"
#include "net_harness.hpp"
#include "podman_harness.hpp"

namespace fs = std::filesystem;
using namespace net_harness;

namespace {

const std::string real_token = "real-docker-pl-token-0001";
const std::string dummy = "dummy-docker-pl-token-0001";

struct RemoveOnExit {
  IntegrationHome& home;
  std::string name;
  ~RemoveOnExit() { home.cli({"rm", "--force", name}); }
};

// The engine's side of one run: Docker's default bridge, or Podman's default network.
struct Engine {
  std::string backend;  // "docker" or "podman"
  std::string gateway;  // where the host is, seen from egress
  // egress's address on that network, reachable from the host
  std::function<std::string(const std::string& container)> egress_ip;
};

// A bottle with one route, pipelock on PATH: pipelock runs on the engine's gateway as
// egress's parent, swaps reach upstream only through it, and it stops with the bottle.
void pipelock_parent_roundtrip(IntegrationHome& home, FakeNet& net, const Engine& engine) {
  const fs::path token_file = net.path("token");
  write_file(token_file, real_token + "\n");
  home.install_on_path("pipelock", test_paths::fake_pipelock);
  home.env()["FAKE_PIPELOCK_UPSTREAM"] = "127.0.0.1:" + std::to_string(net.upstream_port);
  home.env()["FAKE_PIPELOCK_LOG"] = net.path("pipelock.log").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = net.path("ca.pem").string();

  const std::string name = unique_bottle_name("it-" + engine.backend + "pl");
  write_file(home.path() / "spec.json",
             boost::json::serialize(boost::json::value{
                 {"name", name},
                 {"backend", engine.backend},
                 {"image", "bottle-test:latest"},
                 {"egress",
                  {{"routes", boost::json::array{boost::json::object{{"name", "dockerapi"},
                                                                     {"hosts", boost::json::array{"chatgpt.com"}},
                                                                     {"header", "Authorization"},
                                                                     {"dummy", dummy},
                                                                     {"value_file", token_file.string()}}}}}}}));
  RemoveOnExit cleanup{home, name};
  auto r = home.cli({"create", "--spec", (home.path() / "spec.json").string()});
  INFO(r.err);
  REQUIRE(r.ok());

  // pipelock listens on the gateway (where the egress container reaches the host).
  const std::string& gateway = engine.gateway;
  REQUIRE_FALSE(gateway.empty());
  const fs::path pid_file = home.find_file("pipelock.pid");
  REQUIRE_FALSE(pid_file.empty());
  CHECK(read_file(pid_file.parent_path() / "listen").rfind(gateway + ":", 0) == 0);
  const pid_t pipelock_pid = static_cast<pid_t>(std::stol(read_file(pid_file)));

  // Into egress, as the bottle's requests arrive there.
  const std::string egress_ip = engine.egress_ip("bottle-" + name + "-egress");
  REQUIRE_FALSE(egress_ip.empty());
  const fs::path egress_ca = home.find_file("mitmproxy-ca-cert.pem");
  REQUIRE_FALSE(egress_ca.empty());
  const auto status = [&](const std::string& url, bool with_dummy) {
    std::vector<std::string> argv = {"curl",       "-sS",
                                     "--max-time", "20",
                                     "--noproxy",  "",
                                     "--proxy",    "http://" + egress_ip + ":8080",
                                     "--cacert",   egress_ca.string(),
                                     "-o",         "/dev/null",
                                     "-w",         "%{http_code}"};
    if (with_dummy) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + dummy});
    argv.push_back(url);
    return run(argv).out;
  };
  CHECK(status("https://chatgpt.com/dpl-swap", true) == "200");
  // Without the dummy (with it, egress itself blocks before connecting): pipelock
  // refuses the host off its allowlist, and egress passes its 403 on.
  CHECK(status("https://broken.example/dpl-off-allowlist", false) == "403");
  // Plain HTTP reaches pipelock as a request it can read and judge (absolute form),
  // not as an opaque CONNECT tunnel to port 80.
  CHECK(status("http://chatgpt.com/dpl-plain", false) == "200");
  CHECK(status("http://broken.example/dpl-plain-off-allowlist", false) == "403");
  const std::string pipelock_log = read_file(net.path("pipelock.log"));
  CHECK(contains(pipelock_log, "CONNECT chatgpt.com:443"));
  CHECK(contains(pipelock_log, "CONNECT broken.example:443"));
  CHECK(contains(pipelock_log, "GET http://chatgpt.com/dpl-plain HTTP/1.1"));
  CHECK(contains(pipelock_log, "GET http://broken.example/dpl-plain-off-allowlist HTTP/1.1"));
  CHECK_FALSE(contains(pipelock_log, ":80 HTTP/1.1"));
  const std::string upstream = read_file(net.path("upstream.log"));
  CHECK(contains(upstream, "\"Bearer " + real_token + "\""));
  CHECK_FALSE(contains(upstream, dummy));
  CHECK_FALSE(contains(upstream, "/dpl-off-allowlist"));
  CHECK(read_file(net.path("parent.log")).empty());  // nothing went around pipelock

  // The egress container wrote its audit log into the bottle's state directory: the
  // swap and the refusal, without any token. (A record lands when egress is done with
  // the flow, which may be just after curl has its answer.)
  const auto logs = [&] { return home.cli({"logs", "--json", name}); };
  CHECK(wait_until([&] { return contains(logs().out, "broken.example") && contains(logs().out, "/dpl-swap"); }, 20s));
  const auto audit = logs();
  CHECK(audit.ok());
  CHECK(audit.err.empty());
  CHECK(contains(audit.out, R"("action":"injected","bottle":")" + name + "\""));
  CHECK(contains(audit.out, R"("host":"chatgpt.com","method":"GET","path":"/dpl-swap","port":443,)"
                            R"("reason":"credential swapped","route":"dockerapi","status":200)"));
  CHECK((contains(audit.out, R"("action":"refused")") || contains(audit.out, R"("action":"blocked")")));
  CHECK_FALSE(contains(audit.out, real_token));
  CHECK_FALSE(contains(audit.out, dummy));
  const auto human = home.cli({"logs", "--since", "1h", name});
  CHECK(contains(human.out, "  injected  200  GET chatgpt.com:443/dpl-swap  "));

  r = home.cli({"stop", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(wait_until([&] { return ::kill(pipelock_pid, 0) != 0; }, 10s));
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

TEST_CASE("docker egress: with pipelock installed, bottle runs it on the bridge gateway as egress's parent",
          "[docker][egress][pipelock][integration]") {
  FakeNet net;
  IntegrationHome home;
  pipelock_parent_roundtrip(
      home, net,
      {.backend = "docker", .gateway = docker_bridge_gateway(), .egress_ip = [](const std::string& c) {
         return first_line(
             run({"docker", "inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", c}).out);
       }});
}

TEST_CASE("podman egress: with pipelock installed, bottle runs it on podman's gateway as egress's parent",
          "[podman][egress][pipelock][integration]") {
  FakeNet net;
  IntegrationHome home;
  use_podman(home, {"bottle-test:latest", "bottle-egress:latest"});
  pipelock_parent_roundtrip(
      home, net,
      {.backend = "podman", .gateway = podman_gateway(home), .egress_ip = [&](const std::string& c) {
         return first_line(
             home.run({"podman", "inspect", "--format", "{{.NetworkSettings.Networks.podman.IPAddress}}", c}).out);
       }});
}
