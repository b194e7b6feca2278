// `bottle-cli check NAME` on the real Docker engine: every canary passes on a healthy
// egress bottle (the tiny busybox image, so the probes' fallbacks nc and wget run),
// and each fence broken on purpose fails the canary that guards it. Real token
// values are only compared, never printed.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <ctime>
#include <map>
#include <thread>

#include "bottle/core/base64url.hpp"
#include "cli_harness.hpp"
#include "docker_bridge.hpp"
#include "net_harness.hpp"

using namespace net_harness;

namespace {

struct DockerCheckCleanup {
  std::string name;
  ~DockerCheckCleanup() {
    bottle::SystemRunner r;
    r.run({.argv = {"docker", "rm", "-f", "bottle-" + name, "bottle-" + name + "-egress"}});
    r.run({.argv = {"docker", "network", "rm", "bottle-" + name + "-net"}});
  }
};

std::string fake_jwt(const boost::json::object& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         bottle::base64url_encode(boost::json::serialize(payload)) + "." + bottle::base64url_encode("signature");
}

// name -> status of `check NAME --json`.
std::map<std::string, std::string> statuses(const std::string& json_text) {
  std::map<std::string, std::string> result;
  const auto doc = boost::json::parse(json_text);
  for (const auto& c : doc.at("canaries").as_array())
    result[std::string(c.at("name").as_string())] = std::string(c.at("status").as_string());
  return result;
}

}  // namespace

TEST_CASE("check: a healthy egress bottle passes every canary, and each broken fence fails its own",
          "[docker][integration][check]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-check");
  DockerCheckCleanup cleanup{name};

  // A host Codex login (not forwarded) and a route with a real value: both are
  // real secrets the bottle must not hold.
  const auto codex_home = home.path() / "codex-home";
  fs::create_directories(codex_home);
  const std::int64_t now = std::time(nullptr);
  const std::string access = fake_jwt({{"exp", now + 86400}, {"iat", now}, {"jti", "real-check-access"}});
  const std::string auth_json = boost::json::serialize(
      boost::json::object{{"auth_mode", "chatgpt"},
                          {"OPENAI_API_KEY", nullptr},
                          {"tokens",
                           {{"id_token", fake_jwt({{"exp", now + 3600}, {"chatgpt_account_id", "acct-check"}})},
                            {"access_token", access},
                            {"refresh_token", "real-refresh-token-for-check"},
                            {"account_id", "acct-check"}}},
                          {"last_refresh", "2026-11-26T10:00:00Z"}});
  write_file(codex_home / "auth.json", auth_json);
  home.env()["CODEX_HOME"] = codex_home.string();
  const std::string route_value = "real-route-value-0123456789abcdef";
  write_file(home.path() / "route-token", route_value + "\n");
  write_file(home.path() / "spec.json",
             boost::json::serialize(boost::json::value{
                 {"name", name},
                 {"backend", "docker"},
                 {"image", "bottle-test:latest"},
                 {"egress",
                  {{"routes", boost::json::array{
                                  boost::json::object{{"name", "checkapi"},
                                                      {"hosts", boost::json::array{"api.example.com"}},
                                                      {"dummy", "bottle-dummy-for-check-0123456789"},
                                                      {"value_file", (home.path() / "route-token").string()}}}}}}}));
  auto r = home.cli({"create", "--spec", (home.path() / "spec.json").string()});
  INFO(r.err);
  REQUIRE(r.ok());
  bottle::SystemRunner runner;
  const std::string container = "bottle-" + name;

  SECTION("healthy: all pass") {
    r = home.cli({"check", name, "--json"});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    const auto s = statuses(r.out);
    for (const char* canary : {"public-network", "host", "egress-ports", "dns", "dummy", "tokens", "egress"})
      CHECK(s.at(canary) == "pass");
    CHECK(s.at("workspace") != "fail");
    r = home.cli({"check", name});
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("egress-ports") && Catch::Contains("only the proxy port 8080"));
  }

  SECTION("a real token planted in the bottle fails `tokens`, and is not printed") {
    bottle::Command plant{.argv = {"docker", "exec", "-i", container, "sh", "-c",
                                   "mkdir -p /root/.codex && cat > /root/.codex/auth.json"},
                          .stdin_data = auth_json};
    REQUIRE(runner.run(plant).ok());
    r = home.cli({"check", name, "--json"});
    CHECK(r.code == 6);
    CHECK(statuses(r.out).at("tokens") == "fail");
    CHECK_THAT(r.out, Catch::Contains("Codex access token") && Catch::Contains("/root/.codex/auth.json"));
    CHECK(r.out.find(access) == std::string::npos);
    CHECK(r.err.find(access) == std::string::npos);
  }

  SECTION("the route's real value planted in a process environment fails `tokens`") {
    bottle::Command plant{
        .argv = {"docker", "exec", "-d", container, "sh", "-c", "read -r v < /tmp/v; export LEAK=$v; exec sleep 60"}};
    bottle::Command file{.argv = {"docker", "exec", "-i", container, "sh", "-c", "cat > /tmp/v"},
                         .stdin_data = route_value + "\n"};
    REQUIRE(runner.run(file).ok());
    REQUIRE(runner.run(plant).ok());
    REQUIRE(wait_until([&] { return statuses(home.cli({"check", name, "--json"}).out).at("tokens") == "fail"; }, 10s));
    r = home.cli({"check", name});
    CHECK(r.code == 6);
    CHECK_THAT(r.out, Catch::Contains("real value of route checkapi") && Catch::Contains("environ"));
    CHECK(r.out.find(route_value) == std::string::npos);
  }

  SECTION("connected to the default bridge: `host` fails") {
    REQUIRE(runner.run({.argv = {"docker", "network", "connect", "bridge", container}}).ok());
    r = home.cli({"check", name, "--json"});
    INFO(r.out);
    CHECK(r.code == 6);
    CHECK(statuses(r.out).at("host") == "fail");
  }

  SECTION("egress killed: `egress-ports` and `egress` fail") {
    REQUIRE(runner.run({.argv = {"docker", "kill", container + "-egress"}}).ok());
    r = home.cli({"check", name, "--json"});
    INFO(r.out);
    CHECK(r.code == 6);
    const auto s = statuses(r.out);
    CHECK(s.at("egress-ports") == "fail");
    CHECK(s.at("egress") == "fail");
    CHECK(s.at("dummy") == "fail");
  }

  SECTION("a stopped bottle is exit 5, a missing one exit 4") {
    REQUIRE(home.cli({"stop", name}).ok());
    r = home.cli({"check", name});
    CHECK(r.code == 5);
    CHECK_THAT(r.err, Catch::Contains("is not running"));
    CHECK(home.cli({"check", "it-check-nosuch"}).code == 4);
  }
}

// The fake smolvm runs guest commands on the host, so most of its verdicts say little
// about a VM; it proves the canaries travel through `smolvm machine exec` and come back
// parsed, each named. A machine without --net gets its own network namespace on the fake
// (loopback only, as a VM without a NIC), so the network canaries must pass there.
TEST_CASE("check: on the fake smolvm every canary runs through machine exec and reports by name",
          "[smolmachines][integration][check]") {
  IntegrationHome home;
  home.use_fake_smolvm("0.8.0");
  const std::string name = unique_bottle_name("it-smolchk");
  auto r = home.cli({"create", "--backend", "smolmachines", "--name", name, "--user", "nobody"});
  INFO(r.err);
  REQUIRE(r.ok());
  r = home.cli({"check", name, "--json"});
  INFO(r.out << r.err);
  CHECK((r.code == 0 || r.code == 6));
  const auto s = statuses(r.out);
  CHECK(s.size() == 8);
  for (const char* canary : {"public-network", "host", "dns", "tokens", "workspace"}) {
    CAPTURE(canary);
    REQUIRE(s.count(canary) == 1);
    // Each probe ran and was understood: nothing is "could not check".
    CHECK(s.at(canary) != "could not check");
  }
  // smolvm 0.8 gives this bottle no network at all, so no egress to probe, and no
  // public or host address answers.
  CHECK(s.at("public-network") == "pass");
  CHECK(s.at("host") == "pass");
  CHECK(s.at("egress-ports") == "skipped");
  CHECK(s.at("dummy") == "skipped");
  const std::string log = read_file(home.path() / "fake.log");
  CHECK_THAT(log, Catch::Contains("\"exec\"") && Catch::Contains("bottle-canary"));
  home.cli({"rm", "--force", name});
}

namespace {

// A DNS "resolver" the test controls: counts the queries for names containing
// `label` that reach it on the bridge gateway's port 53. It never answers.
class StubResolver {
 public:
  StubResolver(const std::string& address, std::string label) : label_(std::move(label)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(53);
    REQUIRE(::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) == 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{.tv_sec = 0, .tv_usec = 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] {
      char buffer[512];
      while (!stop_) {
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0 && std::string(buffer, static_cast<std::size_t>(n)).find(label_) != std::string::npos) ++queries_;
      }
    });
  }
  ~StubResolver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  StubResolver(const StubResolver&) = delete;
  StubResolver& operator=(const StubResolver&) = delete;
  int queries() const { return queries_; }

 private:
  std::string label_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("check dns: a lookup on a bottle's network reaches no resolver (a stub the test controls proves it)",
          "[docker][integration][check]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-chkdns");
  const std::string control_net = "bottle-it-dnsctl-" + std::to_string(::getpid());
  DockerCheckCleanup cleanup{name};
  bottle::SystemRunner runner;
  struct NetCleanup {
    std::string net;
    ~NetCleanup() { bottle::SystemRunner().run({.argv = {"docker", "network", "rm", net}}); }
  } net_cleanup{control_net};
  REQUIRE(home.cli({"create", "--name", name, "--image", "bottle-test:latest"}).ok());
  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  StubResolver stub(gateway, "stubcanary");
  auto lookup = [&](const std::string& network, const std::string& label) {
    // Docker's embedded DNS forwards what it cannot answer to --dns: the stub.
    return runner.run({.argv = {"docker", "run", "--rm", "--network", network, "--dns", gateway, "bottle-test:latest",
                                "timeout", "3", "nslookup", "bottle-canary-" + label + ".invalid"}});
  };
  // The control: from an ordinary (not internal) network the query reaches the stub,
  // so the stub would see one from the bottle's network too.
  REQUIRE(runner.run({.argv = {"docker", "network", "create", control_net}}).ok());
  lookup(control_net, "stubcanary-control");
  REQUIRE(wait_until([&] { return stub.queries() > 0; }, 10s));
  const int before = stub.queries();
  // A container on the bottle's own network, with the stub as its upstream: the
  // lookup has ended (failed) before this checks, and nothing reached the stub.
  const auto r = lookup("bottle-" + name + "-net", "stubcanary-bottle");
  CHECK_FALSE(r.ok());
  CHECK(stub.queries() == before);
  // And the bottle's own canary agrees.
  const auto check = home.cli({"check", name, "--json"});
  CHECK(statuses(check.out).at("dns") == "pass");
}
