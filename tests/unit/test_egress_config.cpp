// Egress engine inputs: the exact routes file egress reads and the exact bottle-egress
// command line.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bottle/egress/egress_config.hpp"

using bottle::EgressLaunch;
using bottle::EgressRoute;

namespace {

EgressRoute codex_route() {
  EgressRoute r;
  r.name = "codex";
  r.hosts = {"chatgpt.com", "chat.openai.com"};
  r.dummy = "dummy-access-token-0001";
  r.value_file = "/run/bottle/host/codex-auth.json";
  r.value_json_pointer = "/tokens/access_token";
  return r;
}

EgressRoute gh_route() {
  EgressRoute r;
  r.name = "gh";
  r.hosts = {"api.github.com"};
  r.header = "X-Token";
  r.dummy = "bottle-dummy-gh\"\\\n";
  r.value_file = "/run/bottle/host/gh-token";
  return r;
}

EgressLaunch base_launch() {
  return {.program = "/usr/local/bin/bottle-egress",
          .listen_host = "0.0.0.0",
          .listen_port = 8080,
          .ca_file = "/egress/conf/mitmproxy-ca.pem",
          .confdir = "/egress/conf",
          .routes_path = "/egress/routes.json",
          .upstream_proxy = std::nullopt,
          .upstream_trusted_ca = std::nullopt};
}

}  // namespace

TEST_CASE("egress routes: no routes is an empty list", "[egress]") {
  CHECK(bottle::render_egress_routes({}) ==
        "{\n"
        "  \"version\": 1,\n"
        "  \"routes\": []\n"
        "}\n");
}

TEST_CASE("egress routes: exact text, given order, escaped values", "[egress]") {
  const std::string expected =
      "{\n"
      "  \"version\": 1,\n"
      "  \"routes\": [\n"
      "    {\n"
      "      \"name\": \"codex\",\n"
      "      \"hosts\": [\n"
      "        \"chatgpt.com\",\n"
      "        \"chat.openai.com\"\n"
      "      ],\n"
      "      \"header\": \"Authorization\",\n"
      "      \"dummy\": \"dummy-access-token-0001\",\n"
      "      \"value_file\": \"/run/bottle/host/codex-auth.json\",\n"
      "      \"value_json_pointer\": \"/tokens/access_token\"\n"
      "    },\n"
      "    {\n"
      "      \"name\": \"gh\",\n"
      "      \"hosts\": [\n"
      "        \"api.github.com\"\n"
      "      ],\n"
      "      \"header\": \"X-Token\",\n"
      "      \"dummy\": \"bottle-dummy-gh\\\"\\\\\\n\",\n"
      "      \"value_file\": \"/run/bottle/host/gh-token\",\n"
      "      \"value_json_pointer\": \"\"\n"
      "    }\n"
      "  ]\n"
      "}\n";
  CHECK(bottle::render_egress_routes({codex_route(), gh_route()}) == expected);
  // Deterministic: the same input renders the same bytes.
  CHECK(bottle::render_egress_routes({codex_route(), gh_route()}) ==
        bottle::render_egress_routes({codex_route(), gh_route()}));
}

TEST_CASE("bottle-egress argv: direct (no parent proxy)", "[egress]") {
  const std::vector<std::string> expected = {
      "/usr/local/bin/bottle-egress", "--listen",  "0.0.0.0:8080", "--ca", "/egress/conf/mitmproxy-ca.pem", "--routes",
      "/egress/routes.json",          "--confdir", "/egress/conf",
  };
  CHECK(bottle::bottle_egress_argv(base_launch()) == expected);
}

TEST_CASE("bottle-egress argv: parent proxy and a trusted upstream CA", "[egress]") {
  auto launch = base_launch();
  launch.listen_host = "127.0.0.1";
  launch.listen_port = 65535;
  launch.upstream_proxy = "http://pipelock:8888";
  launch.upstream_trusted_ca = "/tmp/t/upstream-ca.pem";
  const std::vector<std::string> expected = {
      "/usr/local/bin/bottle-egress",
      "--listen",
      "127.0.0.1:65535",
      "--ca",
      "/egress/conf/mitmproxy-ca.pem",
      "--routes",
      "/egress/routes.json",
      "--confdir",
      "/egress/conf",
      "--parent-proxy",
      "http://pipelock:8888",
      "--upstream-ca",
      "/tmp/t/upstream-ca.pem",
  };
  CHECK(bottle::bottle_egress_argv(launch) == expected);
  CHECK(bottle::bottle_egress_probe_argv("/usr/local/bin/bottle-egress", "127.0.0.1", 8080) ==
        std::vector<std::string>{"/usr/local/bin/bottle-egress", "probe", "127.0.0.1:8080"});
}

TEST_CASE("egress routes: forwarding's routes carry their token broker", "[egress][broker]") {
  EgressRoute codex = codex_route();
  codex.name = "codex-chatgpt";
  EgressRoute claude;
  claude.name = "claude-oauth";
  claude.hosts = {"api.anthropic.com"};
  claude.dummy = "sk-ant-oat01-dummy";
  claude.value_file = "/run/bottle/host/1/.credentials.json";
  claude.value_json_pointer = "/claudeAiOauth/accessToken";
  CHECK(bottle::default_egress_broker(codex) == bottle::codex_egress_broker());
  CHECK(bottle::default_egress_broker(claude) == bottle::claude_egress_broker());
  CHECK_FALSE(bottle::default_egress_broker(codex_route()));  // a user's route: no broker
  CHECK_FALSE(bottle::default_egress_broker(gh_route()));

  const std::string expected =
      "{\n"
      "  \"version\": 1,\n"
      "  \"routes\": [\n"
      "    {\n"
      "      \"name\": \"codex-chatgpt\",\n"
      "      \"hosts\": [\n"
      "        \"chatgpt.com\",\n"
      "        \"chat.openai.com\"\n"
      "      ],\n"
      "      \"header\": \"Authorization\",\n"
      "      \"dummy\": \"dummy-access-token-0001\",\n"
      "      \"value_file\": \"/run/bottle/host/codex-auth.json\",\n"
      "      \"value_json_pointer\": \"/tokens/access_token\",\n"
      "      \"broker\": {\n"
      "        \"kind\": \"codex\",\n"
      "        \"token_url\": \"https://auth.openai.com/oauth/token\",\n"
      "        \"token_hosts\": [\n"
      "          \"auth.openai.com\"\n"
      "        ],\n"
      "        \"token_path\": \"/oauth/token\",\n"
      "        \"revoke_paths\": [\n"
      "          \"/oauth/revoke\"\n"
      "        ],\n"
      "        \"refresh_pointer\": \"/tokens/refresh_token\",\n"
      "        \"client_id\": \"app_EMoamEEZ73f0CkXaXp7hrann\",\n"
      "        \"dummy_refresh_tokens\": []\n"
      "      }\n"
      "    }\n"
      "  ]\n"
      "}\n";
  CHECK(bottle::render_egress_routes({codex}) == expected);

  // Explicit brokers, keyed by route name, replace the defaults.
  auto broker = bottle::codex_egress_broker();
  broker.dummy_refresh_tokens = {"bottle-dummy-refresh-1"};
  const std::string with_rt = bottle::render_egress_routes({codex, gh_route()}, {{"codex-chatgpt", broker}});
  CHECK(with_rt.find("\"dummy_refresh_tokens\": [\n          \"bottle-dummy-refresh-1\"\n        ]") !=
        std::string::npos);
  CHECK(with_rt.find("\"broker\"") == with_rt.rfind("\"broker\""));  // gh has none
  CHECK(bottle::render_egress_routes({codex_route(), gh_route()}, std::map<std::string, bottle::EgressBroker>{}) ==
        bottle::render_egress_routes({codex_route(), gh_route()}));

  // The bottle's own placeholders: its default brokers accept only those as refresh tokens.
  const std::string own = bottle::render_egress_routes({codex, gh_route()}, std::vector<std::string>{"ph-1", "ph-2"});
  CHECK(own.find("\"dummy_refresh_tokens\": [\n          \"ph-1\",\n          \"ph-2\"\n        ]") !=
        std::string::npos);
  CHECK(own.find("\"broker\"") == own.rfind("\"broker\""));  // still none for gh
}
