// Unit tests for the guest environment and its rendering: exact maps for codex and
// claude bottles, with egress on and off.

#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "bottle/core/error.hpp"
#include "bottle/frontend/render.hpp"
#include "bottle/spec/guest_env.hpp"
#include "bottle/spec/spec.hpp"

using namespace bottle;
using Env = std::map<std::string, std::string>;

namespace {

BottleSpec spec_for(AgentKind agent, std::string user = "node") {
  BottleSpec s;
  s.name = "work";
  s.agent = agent;
  s.user = std::move(user);
  s.env = {{"FOO", "bar baz"}};
  return s;
}

const GuestEgress egress_on{true, "http://egress:8080", "/etc/bottle/ca-bundle.pem"};

}  // namespace

TEST_CASE("guest env: codex bottle with egress", "[guest_env]") {
  const Env expected{{"CODEX_CA_CERTIFICATE", "/etc/bottle/ca-bundle.pem"},
                     {"FOO", "bar baz"},
                     {"HTTPS_PROXY", "http://egress:8080"},
                     {"HTTP_PROXY", "http://egress:8080"},
                     {"NODE_EXTRA_CA_CERTS", "/etc/bottle/ca-bundle.pem"},
                     {"NO_PROXY", "localhost,127.0.0.1,::1"},
                     {"SSL_CERT_FILE", "/etc/bottle/ca-bundle.pem"},
                     {"http_proxy", "http://egress:8080"},
                     {"https_proxy", "http://egress:8080"},
                     {"no_proxy", "localhost,127.0.0.1,::1"}};
  CHECK(guest_environment(spec_for(AgentKind::codex), egress_on) == expected);
}

TEST_CASE("guest env: codex bottle without egress is the spec's env", "[guest_env]") {
  CHECK(guest_environment(spec_for(AgentKind::codex), GuestEgress{}) == Env{{"FOO", "bar baz"}});
}

TEST_CASE("guest env: claude bottle with egress", "[guest_env]") {
  const Env expected{{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
                     {"DISABLE_AUTOUPDATER", "1"},
                     {"FOO", "bar baz"},
                     {"HTTPS_PROXY", "http://egress:8080"},
                     {"HTTP_PROXY", "http://egress:8080"},
                     {"NODE_EXTRA_CA_CERTS", "/etc/bottle/ca-bundle.pem"},
                     {"NO_PROXY", "localhost,127.0.0.1,::1"},
                     {"SSL_CERT_FILE", "/etc/bottle/ca-bundle.pem"},
                     {"http_proxy", "http://egress:8080"},
                     {"https_proxy", "http://egress:8080"},
                     {"no_proxy", "localhost,127.0.0.1,::1"}};
  CHECK(guest_environment(spec_for(AgentKind::claude), egress_on) == expected);
}

TEST_CASE("guest env: claude bottle without egress keeps the sandbox defaults", "[guest_env]") {
  const Env expected{
      {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"}, {"DISABLE_AUTOUPDATER", "1"}, {"FOO", "bar baz"}};
  CHECK(guest_environment(spec_for(AgentKind::claude), GuestEgress{}) == expected);
}

TEST_CASE("guest env: claude as root is marked as sandboxed", "[guest_env]") {
  const Env env = guest_environment(spec_for(AgentKind::claude, "root"), GuestEgress{});
  CHECK(env.at("IS_SANDBOX") == "1");
  CHECK(guest_environment(spec_for(AgentKind::codex, "root"), GuestEgress{}).count("IS_SANDBOX") == 0);
}

TEST_CASE("guest env: the spec may override agent defaults but not egress", "[guest_env]") {
  BottleSpec s = spec_for(AgentKind::codex);
  s.env = {{"HTTPS_PROXY", "http://elsewhere:1"}, {"no_proxy", "*"},
           {"SSL_CERT_FILE", "/tmp/mine.pem"},    {"CODEX_CA_CERTIFICATE", "/x"},
           {"ALL_PROXY", "socks5://x:1"},         {"all_proxy", "http://x:1"},
           {"CODEX_SANDBOX", "seatbelt"},         {"KEEP", "1"}};
  const Env env = guest_environment(s, egress_on);
  CHECK(env.at("HTTPS_PROXY") == "http://egress:8080");
  CHECK(env.at("no_proxy") == "localhost,127.0.0.1,::1");
  CHECK(env.at("SSL_CERT_FILE") == "/etc/bottle/ca-bundle.pem");
  CHECK(env.at("CODEX_CA_CERTIFICATE") == "/etc/bottle/ca-bundle.pem");
  CHECK(env.count("ALL_PROXY") == 0);
  CHECK(env.count("all_proxy") == 0);
  CHECK(env.count("CODEX_SANDBOX") == 0);
  CHECK(env.at("KEEP") == "1");

  BottleSpec c = spec_for(AgentKind::claude);
  c.env = {{"DISABLE_AUTOUPDATER", "0"}};
  CHECK(guest_environment(c, egress_on).at("DISABLE_AUTOUPDATER") == "0");
}

TEST_CASE("guest env: bad egress settings are rejected", "[guest_env]") {
  const BottleSpec s = spec_for(AgentKind::codex);
  CHECK_THROWS_MATCHES(guest_environment(s, GuestEgress{true, "https://egress:8080", "/etc/b.pem"}), Error,
                       Catch::Matchers::Message("egress proxy URL: must start with http:// and name a host"));
  CHECK_THROWS_AS(guest_environment(s, GuestEgress{true, "egress:8080", "/etc/b.pem"}), Error);
  CHECK_THROWS_AS(guest_environment(s, GuestEgress{true, "http://", "/etc/b.pem"}), Error);
  CHECK_THROWS_MATCHES(guest_environment(s, GuestEgress{true, "http://egress:8080", "b.pem"}), Error,
                       Catch::Matchers::Message("egress CA bundle path: must be an absolute guest path"));
}

TEST_CASE("render_env: sorted KEY=VALUE lines with shell-quoted values", "[guest_env][render]") {
  CHECK(render_env({}) == "");
  CHECK(render_env({{"B", "two words"}, {"A", "plain"}, {"C", "it's"}, {"D", ""}}) ==
        "A=plain\nB='two words'\nC='it'\\''s'\nD=''\n");
}
