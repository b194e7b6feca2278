// bottle-egress's inputs: the routes file bottle already writes for the mitmproxy
// addon (read back exactly as the addon reads it) and the command line.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bottle/egress/egress_config.hpp"
#include "bottle/egress/egress_proxy_options.hpp"
#include "bottle/egress/egress_routes_file.hpp"
#include "bottle/egress/ensure_fresh.hpp"
#include "error_of.hpp"

namespace {

bottle::EgressRoute route(std::string name, std::vector<std::string> hosts, std::string dummy) {
  return {.name = std::move(name),
          .hosts = std::move(hosts),
          .header = "Authorization",
          .dummy = std::move(dummy),
          .value_file = "/run/bottle/host/auth.json",
          .value_json_pointer = "/tokens/access_token"};
}

}  // namespace

TEST_CASE("egress routes file: read back what bottle renders, hosts lowercased", "[native-egress]") {
  const std::string text =
      bottle::render_egress_routes({route("codex", {"ChatGPT.com", "chatgpt.com"}, "dummy-codex-0001"),
                                    route("plain", {"a.test"}, "dummy-plain-02")},
                                   std::map<std::string, bottle::EgressBroker>{});
  const auto routes = bottle::parse_egress_routes(text);
  REQUIRE(routes.size() == 2);
  CHECK(routes[0].swap.name == "codex");
  CHECK(routes[0].swap.hosts == std::set<std::string>{"chatgpt.com"});
  CHECK(routes[0].swap.header == "Authorization");
  CHECK(routes[0].swap.dummies == std::vector<std::string>{"dummy-codex-0001"});
  CHECK(routes[0].swap.guarded.empty());
  CHECK(routes[0].swap.token_hosts.empty());
  CHECK(routes[0].value_file == "/run/bottle/host/auth.json");
  CHECK(routes[0].value_json_pointer == "/tokens/access_token");
  CHECK_FALSE(routes[0].has_broker);
  CHECK_FALSE(routes[0].broker);
  CHECK(routes[1].swap.hosts == std::set<std::string>{"a.test"});
}

TEST_CASE("egress routes file: a broker's token hosts and the bottle's other dummies are guarded", "[native-egress]") {
  bottle::EgressBroker broker = bottle::codex_egress_broker();
  broker.dummy_refresh_tokens = {"rt-dummy-refresh-9", "dummy-codex-0001", "short"};
  const std::string text = bottle::render_egress_routes({route("codex-chatgpt", {"chatgpt.com"}, "dummy-codex-0001")},
                                                        {{"codex-chatgpt", broker}});
  const auto routes = bottle::parse_egress_routes(text);
  REQUIRE(routes.size() == 1);
  CHECK(routes[0].has_broker);
  CHECK(routes[0].swap.token_hosts == std::set<std::string>{"auth.openai.com"});
  // The swapped dummy is not guarded twice, and a short string would match ordinary traffic.
  CHECK(routes[0].swap.guarded == std::vector<std::string>{"rt-dummy-refresh-9"});
  CHECK(routes[0].token_path == broker.token_path);
  CHECK(routes[0].revoke_paths == broker.revoke_paths);
  // The whole broker for TokenBroker, as the addon's BrokerConfig reads it.
  bottle::EgressBroker expected = broker;
  expected.token_hosts = {"auth.openai.com"};
  expected.dummy_refresh_tokens = {"dummy-codex-0001", "rt-dummy-refresh-9", "short"};
  REQUIRE(routes[0].broker);
  CHECK(*routes[0].broker == expected);
  CHECK(text.find("host_refreshes") == std::string::npos);

  // An egress whose host refreshes the login (a cluster) says so, and reads it back.
  broker.host_refreshes = true;
  const auto pushed = bottle::parse_egress_routes(bottle::render_egress_routes(
      {route("codex-chatgpt", {"chatgpt.com"}, "dummy-codex-0001")}, {{"codex-chatgpt", broker}}));
  REQUIRE(pushed[0].broker);
  CHECK(pushed[0].broker->host_refreshes);
}

TEST_CASE("egress routes file: what the addon refuses is refused, naming the field", "[native-egress]") {
  CHECK(error_of([] { bottle::parse_egress_routes("not json"); }) == "routes file: is not valid JSON");
  CHECK(error_of([] { bottle::parse_egress_routes(R"({"version": 2, "routes": []})"); }) ==
        R"(routes file: expected {"version": 1, "routes": [...]})");
  CHECK(bottle::parse_egress_routes(R"({"version": 1, "routes": []})").empty());
  const auto one = [](const std::string& route) {
    return error_of([&] { bottle::parse_egress_routes(R"({"version": 1, "routes": [)" + route + "]}"); });
  };
  const std::string good_tail = R"("header": "Authorization", "value_file": "/f")";
  CHECK(one(R"({"name": "r", "hosts": ["a.test"], "dummy": "short", )" + good_tail + "}") ==
        "routes[0].dummy: must be at least 8 characters");
  CHECK(one(R"({"name": "r", "hosts": [], "dummy": "long-enough-dummy", )" + good_tail + "}") ==
        "routes[0].hosts: must name at least one host");
  CHECK(one(R"({"name": "r", "hosts": [1], "dummy": "long-enough-dummy", )" + good_tail + "}") ==
        "routes[0].hosts[0]: must be a string");
  CHECK(one(R"({"name": "r", "hosts": ["a.test"], "header": "Authorization", "value_file": "/f"})") ==
        "routes[0].dummy: missing");
  CHECK(one(R"({"name": "r", "hosts": ["a.test"], "dummy": "long-enough-dummy", )" + good_tail +
            R"(, "broker": {"kind": "other"}})") == R"(routes[0].broker.kind: must be "codex" or "claude")");
  CHECK(one(R"({"name": "r", "hosts": ["a.test"], "dummy": "long-enough-dummy", )" + good_tail +
            R"(, "broker": {"kind": "codex", "token_url": "http://auth.test/token"}})") ==
        "routes[0].broker.token_url: must be an https URL");
  CHECK(one(R"({"name": "r", "hosts": ["a.test"], "dummy": "long-enough-dummy", )" + good_tail +
            R"(, "broker": {"kind": "codex", "token_url": "https://auth.test/token", "token_hosts": [],)"
            R"( "token_path": "/token", "revoke_paths": [], "host_refreshes": "yes"}})") ==
        "routes[0].broker.host_refreshes: must be true or false");
}

TEST_CASE("bottle-egress arguments: typed options, the upstream CA from the environment", "[native-egress]") {
  const auto options =
      bottle::parse_egress_args({"--listen", "0.0.0.0:8080", "--ca", "/egress/ca/mitmproxy-ca.pem", "--routes",
                                 "/egress/routes.json", "--parent-proxy", "http://pipelock:8888", "--max-connections",
                                 "64", "--head-timeout", "5", "--idle-timeout", "60"},
                                std::string("/ca/upstream.pem"));
  CHECK(options.listen_host == "0.0.0.0");
  CHECK(options.listen_port == 8080);
  CHECK(options.ca_file == "/egress/ca/mitmproxy-ca.pem");
  CHECK(options.routes_file == "/egress/routes.json");
  REQUIRE(options.parent_proxy);
  CHECK(options.parent_proxy->text() == "pipelock:8888");
  CHECK(options.upstream_ca == "/ca/upstream.pem");
  CHECK(options.max_connections == 64);
  CHECK(options.timeouts.head == std::chrono::seconds(5));
  CHECK(options.timeouts.idle == std::chrono::seconds(60));
  CHECK_FALSE(options.allow_private_upstreams);

  const std::vector<std::string> base = {"--listen", "127.0.0.1:1", "--ca", "/ca.pem", "--routes", "/r.json"};
  const auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  CHECK(bottle::parse_egress_args(with({"--upstream-ca", "/mine.pem"}), std::string("/env.pem")).upstream_ca ==
        "/mine.pem");
  CHECK_FALSE(bottle::parse_egress_args(base, std::nullopt).upstream_ca);
  CHECK_FALSE(bottle::parse_egress_args(base, std::nullopt).confdir);
  CHECK(bottle::parse_egress_args(with({"--confdir", "/egress/conf"}), std::nullopt).confdir == "/egress/conf");
  CHECK_FALSE(bottle::parse_egress_args(base, std::nullopt).audit_config);
  CHECK(bottle::parse_egress_args(with({"--confdir", "/c", "--audit-config", "/cm/audit.json"}), std::nullopt)
            .audit_config == "/cm/audit.json");
  const auto usage = [&](std::vector<std::string> args) {
    return error_of([&] { bottle::parse_egress_args(args, std::nullopt); }, bottle::ErrorKind::usage);
  };
  CHECK(usage({"--ca", "/ca.pem", "--routes", "/r.json"}) == "--listen: is required");
  CHECK(usage(with({"--audit-config", "/cm/audit.json"})) == "--audit-config: needs --confdir, where the log goes");
  CHECK(usage({"--listen", "127.0.0.1", "--ca", "/ca.pem", "--routes", "/r.json"}) ==
        "--listen: must be IPV4:PORT or NAME:PORT");
  CHECK(usage(with({"--parent-proxy", "http://user@pipelock:8888"})) == "--parent-proxy: must be http://HOST:PORT");
  CHECK(usage(with({"--max-connections", "0"})) == "--max-connections: must be a whole number from 1 to 65536");
  CHECK(usage(with({"--head-timeout", "5s"})) == "--head-timeout: must be a whole number from 1 to 86400");
  CHECK(usage(with({"--bogus", "1"})) == "--bogus: unknown option");
  CHECK(usage(with({"--ca"})) == "--ca: needs a value");
  CHECK(usage(with({"stray"})) == "stray: unexpected argument");
  CHECK(usage(with({"--confdir", ""})) == "--confdir: must not be empty");
  CHECK(bottle::parse_egress_args(with({"--allow-private-upstreams"}), std::nullopt).allow_private_upstreams);
}

TEST_CASE("bottle-egress ensure-fresh arguments: typed, every one named when wrong", "[native-egress]") {
  const auto request =
      bottle::parse_ensure_fresh_args({"--kind", "claude", "--host-file", "/h/.credentials.json", "--min-valid", "600",
                                       "--parent-proxy", "http://127.0.0.1:8888"},
                                      std::string("/ca/upstream.pem"));
  CHECK(request.agent == bottle::AgentKind::claude);
  CHECK(request.host_file == "/h/.credentials.json");
  CHECK(request.min_valid_s == 600);
  REQUIRE(request.parent_proxy);
  CHECK(request.parent_proxy->text() == "127.0.0.1:8888");
  CHECK(request.upstream_ca == "/ca/upstream.pem");
  // What host_refresh_argv builds is read back as it was meant.
  const auto argv = bottle::host_refresh_argv({.program = "/b/bottle-egress",
                                               .agent = bottle::AgentKind::codex,
                                               .host_file = "/h/auth.json",
                                               .upstream = {.proxy = "http://10.0.0.1:3128", .trusted_ca_file = ""}});
  const auto read_back = bottle::parse_ensure_fresh_args({argv.begin() + 2, argv.end()}, std::nullopt);
  CHECK(read_back.agent == bottle::AgentKind::codex);
  CHECK(read_back.min_valid_s == bottle::host_refresh_window_s);
  CHECK(read_back.parent_proxy->text() == "10.0.0.1:3128");
  CHECK_FALSE(read_back.upstream_ca);

  const auto usage = [&](std::vector<std::string> args) {
    return error_of([&] { bottle::parse_ensure_fresh_args(args, std::nullopt); }, bottle::ErrorKind::usage);
  };
  CHECK(usage({"--host-file", "/h", "--min-valid", "1"}) == "--kind: is required");
  CHECK(usage({"--kind", "gemini", "--host-file", "/h", "--min-valid", "1"}) == "--kind: must be codex or claude");
  CHECK(usage({"--kind", "codex", "--min-valid", "1"}) == "--host-file: is required");
  CHECK(usage({"--kind", "codex", "--host-file", "/h"}) == "--min-valid: is required");
  CHECK(usage({"--kind", "codex", "--host-file", "/h", "--min-valid", "-5"}) ==
        "--min-valid: must be a whole number from 0 to 86400");
  CHECK(usage({"--kind", "codex", "--host-file", "/h", "--min-valid", "1", "--proxy", "x"}) ==
        "--proxy: unknown option");
  CHECK(usage({"--kind", "codex", "--host-file", ""}) == "--host-file: must not be empty");
  CHECK(usage({"--kind", "codex", "--host-file"}) == "--host-file: needs a value");
  CHECK(usage({"codex"}) == "codex: unexpected argument");
  // ensure-fresh has no switches: egress's own is unknown here.
  CHECK(usage({"--allow-private-upstreams", "x"}) == "--allow-private-upstreams: unknown option");
}

TEST_CASE("bottle-egress probe: an address that listens, one that does not, and bad input", "[native-egress]") {
  CHECK_FALSE(bottle::egress_probe({"127.0.0.1:1"}));  // nothing listens on port 1 here
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  CHECK(bottle::egress_probe({"127.0.0.1:" + std::to_string(ntohs(address.sin_port))}));
  ::close(listener);
  const auto usage = [&](std::vector<std::string> args) {
    return error_of([&] { bottle::egress_probe(args); }, bottle::ErrorKind::usage);
  };
  CHECK(usage({}) == "probe: needs exactly one IPV4:PORT");
  CHECK(usage({"localhost:80"}) == "localhost:80: must be IPV4:PORT");
  CHECK(usage({"127.0.0.1"}) == "127.0.0.1: must be IPV4:PORT");
}
