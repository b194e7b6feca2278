// The token broker's reading of a request (egress/broker_request): what is answered
// locally, what is refused, and what becomes a refresh, as today's broker does.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "bottle/egress/broker_request.hpp"

using bottle::BrokerVerdict;

namespace {

bottle::EgressBroker codex_with_placeholder() {
  bottle::EgressBroker broker = bottle::codex_egress_broker();
  broker.dummy_refresh_tokens = {"rt_bottle_placeholder"};
  return broker;
}

}  // namespace

TEST_CASE("broker request: which requests the broker answers", "[egress-broker]") {
  const auto codex = bottle::codex_egress_broker();
  CHECK(bottle::broker_handles(codex, "auth.openai.com", "/oauth/token"));
  CHECK(bottle::broker_handles(codex, "Auth.OpenAI.com", "/oauth/token?x=1"));
  CHECK(bottle::broker_handles(codex, "auth.openai.com", "/oauth/revoke"));
  CHECK_FALSE(bottle::broker_handles(codex, "auth.openai.com", "/oauth/authorize"));
  CHECK_FALSE(bottle::broker_handles(codex, "chatgpt.com", "/oauth/token"));
  const auto claude = bottle::claude_egress_broker();
  CHECK(bottle::broker_handles(claude, "platform.claude.com", "/v1/oauth/token"));
  CHECK(bottle::broker_handles(claude, "console.anthropic.com", "/v1/oauth/logout"));
}

TEST_CASE("broker request: revoke is answered locally, other methods and grants are refused", "[egress-broker]") {
  const auto broker = codex_with_placeholder();
  CHECK(bottle::classify_broker_request(broker, "POST", "/oauth/revoke?all=1", "token=x", "") ==
        BrokerVerdict{BrokerVerdict::Kind::revoke, 200, "{}", "revoked", "", ""});
  const BrokerVerdict get = bottle::classify_broker_request(broker, "GET", "/oauth/token", "", "");
  CHECK(get.status == 405);
  CHECK(get.body_json == R"({"error":"method_not_allowed"})");
  for (const auto& [body, type] : std::map<std::string, std::string>{
           {"grant_type=authorization_code&code=abc", "application/x-www-form-urlencoded"},
           {R"({"grant_type":"password"})", "application/json"},
           {R"({"grant_type":["refresh_token"]})", ""},
           {"", ""},
           {"{not json", "application/json"}}) {
    INFO(body);
    const BrokerVerdict v = bottle::classify_broker_request(broker, "POST", "/oauth/token", body, type);
    CHECK(v.kind == BrokerVerdict::Kind::refuse);
    CHECK(v.status == 403);
    CHECK(v.reason == "grant other than refresh_token");
    CHECK(
        v.body_json ==
        R"({"error":"unauthorized_client","error_description":"bottle: only token refresh is allowed from a bottle"})");
  }
}

TEST_CASE("broker request: only the bottle's own placeholder refresh token is refreshed", "[egress-broker]") {
  const auto broker = codex_with_placeholder();
  const BrokerVerdict json = bottle::classify_broker_request(
      broker, "POST", "/oauth/token", R"( {"grant_type":"refresh_token","refresh_token":"rt_bottle_placeholder"})", "");
  CHECK(json == BrokerVerdict{BrokerVerdict::Kind::refresh, 0, "", "", "", "rt_bottle_placeholder"});
  const BrokerVerdict form = bottle::classify_broker_request(
      broker, "POST", "/oauth/token", "grant_type=refresh_token&refresh_token=rt%5Fbottle%5Fplaceholder",
      "application/x-www-form-urlencoded");
  CHECK(form.refresh_token == "rt_bottle_placeholder");
  for (const char* body : {"grant_type=refresh_token&refresh_token=rt_real_stolen",
                           "grant_type=refresh_token&refresh_token=", "grant_type=refresh_token",
                           "grant_type=refresh_token&refresh_token=%FF"}) {
    INFO(body);
    const BrokerVerdict v = bottle::classify_broker_request(broker, "POST", "/oauth/token", body, "");
    CHECK(v.status == 403);
    CHECK(v.reason == "refresh token is not this bottle's placeholder");
  }
  // Without a list, any refresh token the bottle sends is its placeholder.
  CHECK(bottle::classify_broker_request(bottle::codex_egress_broker(), "POST", "/oauth/token",
                                        "grant_type=refresh_token&refresh_token=anything", "")
            .kind == BrokerVerdict::Kind::refresh);
}

TEST_CASE("broker request: bodies are read as the broker reads them", "[egress-broker]") {
  using Form = std::map<std::string, std::string>;
  CHECK(bottle::parse_token_body("grant_type=refresh_token&refresh_token=a%2Bb+c&x&y=&=z&refresh_token=%zz", "") ==
        Form{{"grant_type", "refresh_token"}, {"refresh_token", "%zz"}, {"", "z"}});
  CHECK(bottle::parse_token_body(R"({"a":"1","a":2,"b":"x","c":null})", "") == Form{{"b", "x"}});
  CHECK(bottle::parse_token_body(R"({"a":2,"a":"1"})", "") == Form{{"a", "1"}});
  CHECK(bottle::parse_token_body(R"(["grant_type"])", "application/json").empty());
  CHECK(bottle::parse_token_body("grant_type=refresh_token", "Application/JSON").empty());
}
