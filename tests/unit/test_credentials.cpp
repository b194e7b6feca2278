// Unit tests for Codex and Claude credential forwarding: host files in, dummy files
// and egress routes out. Fixtures are minted here, shaped like real logins.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <ctime>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "bottle/credentials/jwt.hpp"
#include "bottle/spec/spec.hpp"
#include "error_of.hpp"

namespace json = boost::json;
using namespace bottle;

namespace {

constexpr long long real_exp = 1791234567;  // a fixed time, far from any "now + 1h"
constexpr long long real_iat = 1790370567;
const std::string host_file = "/home/dev/.codex/auth.json";
const std::string real_refresh = "rt_REAL-refresh-token-QmFzZTY0LXNlY3JldA";
const std::string real_api_key = "sk-proj-REALKEY0123456789abcdefghijklmnopqrstuv";

std::string jwt(const json::object& payload, std::string_view signature) {
  return base64url_encode(R"({"alg":"RS256","kid":"b0e1","typ":"JWT"})") + "." +
         base64url_encode(json::serialize(payload)) + "." + base64url_encode(signature);
}

json::object auth_block(std::string_view account) {
  return {{"chatgpt_account_id", account},
          {"chatgpt_plan_type", "plus"},
          {"chatgpt_user_id", "user-Xy12"},
          {"user_id", "user-Xy12"},
          {"chatgpt_account_is_fedramp", false}};
}

json::object real_access_claims() {
  return {{"aud", json::array{"https://api.openai.com/v1"}},
          {"client_id", "app_EMoamEEZ73f0CkXaXp7hrann"},
          {"exp", real_exp},
          {"iat", real_iat},
          {"iss", "https://auth.openai.com"},
          {"jti", "8c1d-real"},
          {"https://api.openai.com/auth", auth_block("acc-5150-real")},
          {"https://api.openai.com/profile", json::object{{"email", "dev@example.com"}, {"email_verified", true}}},
          {"scp", json::array{"openid", "profile", "email", "offline_access"}}};
}

json::object real_id_claims() {
  return {{"aud", json::array{"app_EMoamEEZ73f0CkXaXp7hrann"}},
          {"email", "dev@example.com"},
          {"exp", real_exp - 860000},
          {"iat", real_iat},
          {"https://api.openai.com/auth", auth_block("acc-5150-real")}};
}

const std::string real_access = jwt(real_access_claims(), "REAL-ACCESS-SIGNATURE-bytes-do-not-leak");
const std::string real_id = jwt(real_id_claims(), "REAL-ID-SIGNATURE-bytes-do-not-leak");

json::object host_auth() {
  return {{"auth_mode", "chatgpt"},
          {"OPENAI_API_KEY", nullptr},
          {"tokens", json::object{{"id_token", real_id},
                                  {"access_token", real_access},
                                  {"refresh_token", real_refresh},
                                  {"account_id", "acc-5150-real"}}},
          {"last_refresh", "2026-09-20T10:11:12.123456Z"}};
}

std::string text(const json::object& o) { return json::serialize(o); }

const std::vector<std::string> real_secrets{real_access,
                                            real_id,
                                            real_refresh,
                                            real_api_key,
                                            base64url_encode("REAL-ACCESS-SIGNATURE-bytes-do-not-leak"),
                                            base64url_encode("REAL-ID-SIGNATURE-bytes-do-not-leak")};

void check_no_secret(const std::string& output) {
  for (const auto& secret : real_secrets) CHECK(output.find(secret) == std::string::npos);
}

bool is_base64url(std::string_view s) {
  return !s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                           std::string_view::npos;
}

// What egress would read: the route's JSON pointer applied to the host file.
std::string pointed(const json::object& host_file_json, const EgressRoute& route) {
  return std::string(json::value(host_file_json).at_pointer(route.value_json_pointer).as_string());
}

// The routes must be acceptable to the spec validator egress configs go through.
void check_routes_valid(const std::vector<EgressRoute>& routes) {
  BottleSpec spec;
  spec.name = "cred-test";
  spec.egress.routes = routes;
  CHECK_NOTHROW(validate_spec(spec));
}

}  // namespace

// ---- Codex ----------------------------------------------------------------------

TEST_CASE("host credential files are found from the environment's directories", "[credentials]") {
  CHECK(codex_auth_path(std::string("/srv/codex"), std::string("/home/dev")) == "/srv/codex/auth.json");
  CHECK(codex_auth_path(std::nullopt, std::string("/home/dev")) == "/home/dev/.codex/auth.json");
  CHECK(codex_auth_path(std::string(""), std::string("/home/dev")) == "/home/dev/.codex/auth.json");
  CHECK_THAT(error_of([] { codex_auth_path(std::string("rel/codex"), std::string("/home/dev")); }),
             Catch::Contains("CODEX_HOME: must be an absolute path"));
  CHECK_THAT(error_of([] { codex_auth_path(std::nullopt, std::nullopt); }), Catch::Contains("HOME: not set"));
  CHECK_THAT(error_of([] { codex_auth_path(std::nullopt, std::string("home")); }),
             Catch::Contains("HOME: must be an absolute path"));
  CHECK(claude_credentials_path(std::string("/cfg"), std::string("/home/dev")) == "/cfg/.credentials.json");
  CHECK(claude_credentials_path(std::nullopt, std::string("/home/dev")) == "/home/dev/.claude/.credentials.json");
  CHECK(claude_global_config_path(std::string("/cfg"), std::string("/home/dev")) == "/cfg/.claude.json");
  CHECK(claude_global_config_path(std::string(""), std::string("/home/dev")) == "/home/dev/.claude.json");
  CHECK_THAT(error_of([] { claude_credentials_path(std::string("cfg"), std::nullopt); }),
             Catch::Contains("CLAUDE_CONFIG_DIR: must be an absolute path"));
  CHECK_THAT(error_of([] { claude_global_config_path(std::nullopt, std::nullopt); }), Catch::Contains("HOME: not set"));
}

TEST_CASE("codex host auth.json parses in ChatGPT mode", "[credentials][codex]") {
  const CodexHostAuth auth = parse_codex_auth(text(host_auth()));
  CHECK(auth.mode == CodexAuthMode::chatgpt);
  CHECK(auth.access_token == real_access);
  CHECK(auth.id_token == real_id);
  CHECK(auth.refresh_token == real_refresh);
  CHECK(auth.account_id == "acc-5150-real");
  CHECK(auth.last_refresh == "2026-09-20T10:11:12.123456Z");
  CHECK(auth.access_exp == real_exp);
  CHECK(auth.access_claims == real_access_claims());
}

TEST_CASE("codex account id falls back to the id_token claim", "[credentials][codex]") {
  json::object host = host_auth();
  host["tokens"].as_object()["account_id"] = nullptr;
  CHECK(parse_codex_auth(text(host)).account_id == "acc-5150-real");
  host["tokens"].as_object().erase("account_id");
  CHECK(parse_codex_auth(text(host)).account_id == "acc-5150-real");
}

TEST_CASE("codex host auth.json errors name the field and never a secret", "[credentials][codex]") {
  struct Case {
    std::string name;
    std::function<void(json::object&)> edit;
    std::string expected;
  };
  auto set_token = [](std::string key, auto raw) {
    return [key, v = json::value(raw)](json::object& o) { o["tokens"].as_object()[key] = v; };
  };
  const auto head = real_access.substr(0, real_access.find('.'));
  const auto payload = real_access.substr(head.size() + 1, real_access.rfind('.') - head.size() - 1);
  const auto claims_with = [](const char* key, json::value v) {
    json::object c = real_access_claims();
    c[key] = v;
    return jwt(c, "REAL-ACCESS-SIGNATURE-bytes-do-not-leak");
  };
  json::object dummy_claims = real_access_claims();
  dummy_claims["bottle_dummy"] = true;

  const std::string at = "access_token", id = "id_token";
  const std::vector<Case> cases{
      {"no tokens", [](json::object& o) { o.erase("tokens"); }, "tokens: missing"},
      {"tokens not object", [](json::object& o) { o["tokens"] = "x"; }, "tokens: must be an object"},
      {"2 segments", set_token(at, head + "." + payload), "tokens.access_token: expected 3 segments, got 2"},
      {"4 segments", set_token(at, real_access + ".x"), "tokens.access_token: expected 3 segments, got 4"},
      {"padded", set_token(id, real_id + "="), "tokens.id_token: signature: '=' padding"},
      {"payload array", set_token(id, head + "." + base64url_encode("[]") + ".c2ln"),
       "tokens.id_token: payload: must be a JSON object"},
      {"exp string", set_token(at, claims_with("exp", "1791234567")),
       "tokens.access_token: exp: must be an integer number of seconds, not a string"},
      {"exp float", set_token(at, claims_with("exp", 1791234567.25)),
       "tokens.access_token: exp: must be an integer number of seconds, not a floating-point"},
      {"exp huge", set_token(at, claims_with("exp", 1791234567000)), "tokens.access_token: exp: out of range"},
      {"exp null", set_token(at, claims_with("exp", nullptr)), "tokens.access_token: exp: must be an integer"},
      {"dummy host", set_token(at, jwt(dummy_claims, "x")), "tokens.access_token: is a bottle dummy token"},
      {"empty id", set_token(id, ""), "tokens.id_token: must not be empty"},
      {"id number", set_token(id, 5), "tokens.id_token: must be a string"},
      {"no refresh", [](json::object& o) { o["tokens"].as_object().erase("refresh_token"); },
       "tokens.refresh_token: missing"},
      {"no account",
       [](json::object& o) {
         json::object claims = real_id_claims();
         claims.erase("https://api.openai.com/auth");
         o["tokens"].as_object()["id_token"] = jwt(claims, "REAL-ID-SIGNATURE-bytes-do-not-leak");
         o["tokens"].as_object().erase("account_id");
       },
       "tokens.account_id: missing"},
      {"no last_refresh", [](json::object& o) { o.erase("last_refresh"); }, "last_refresh: missing"},
      {"bad last_refresh", [](json::object& o) { o["last_refresh"] = "yesterday"; },
       "last_refresh: must be an RFC 3339 time"},
      {"odd mode", [](json::object& o) { o["auth_mode"] = "agentIdentity"; },
       "auth_mode: \"agentIdentity\" cannot be forwarded"},
      {"secret mode", [](json::object& o) { o["auth_mode"] = real_refresh + "/x"; }, "auth_mode: cannot be forwarded"},
      {"apikey no key", [](json::object& o) { o["auth_mode"] = "apikey"; }, "OPENAI_API_KEY: missing"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    json::object host = host_auth();
    c.edit(host);
    const std::string message = error_of([&] { parse_codex_auth(text(host)); });
    CHECK_THAT(message, Catch::StartsWith("auth.json: " + c.expected));
    check_no_secret(message);
    CHECK(message.find(payload.substr(0, 24)) == std::string::npos);
  }
  CHECK_THAT(error_of([] { parse_codex_auth("{\"tokens\": "); }), Catch::StartsWith("auth.json: not valid JSON"));
  CHECK_THAT(error_of([] { parse_codex_auth("[]"); }), Catch::StartsWith("auth.json: must be a JSON object"));
}

TEST_CASE("codex bottle auth.json has the documented shape", "[credentials][codex]") {
  const CodexBottleAuth out = build_codex_bottle_auth(parse_codex_auth(text(host_auth())), host_file);
  check_no_secret(out.auth_json);

  const json::object file = json::parse(out.auth_json).as_object();
  std::vector<std::string> keys;
  for (const auto& m : file) keys.emplace_back(m.key());
  CHECK(keys == std::vector<std::string>{"auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"});
  CHECK(file.at("auth_mode") == "chatgpt");
  CHECK(file.at("OPENAI_API_KEY").is_null());
  CHECK(file.at("last_refresh") == "2026-09-20T10:11:12.123456Z");
  const json::object& tokens = file.at("tokens").as_object();
  CHECK(tokens.size() == 4);
  CHECK(tokens.at("account_id") == "acc-5150-real");
  const std::string refresh(tokens.at("refresh_token").as_string());
  CHECK_THAT(refresh, Catch::StartsWith("bottle-dummy-refresh-"));
  CHECK(is_base64url(refresh.substr(21)));

  const std::string access(tokens.at("access_token").as_string());
  const std::string id(tokens.at("id_token").as_string());
  CHECK(out.dummies == std::vector<std::string>{id, access, refresh});
  const json::object access_claims = decode_jwt(access, "dummy access").payload;
  const json::object id_claims = decode_jwt(id, "dummy id").payload;

  // The real exp, not a fresh hour: Codex refreshes when exp lapses.
  CHECK(jwt_exp(access_claims, "a") == real_exp);
  CHECK(access_claims.at("exp").is_int64());
  CHECK(jwt_exp(access_claims, "a") != std::int64_t{std::time(nullptr)} + 3600);
  CHECK(jwt_exp(id_claims, "i") == real_exp - 860000);
  CHECK(access_claims.at("iat") == real_iat);
  CHECK(access_claims.at("https://api.openai.com/auth") == json::value(auth_block("acc-5150-real")));
  CHECK(access_claims.at("https://api.openai.com/profile") ==
        real_access_claims().at("https://api.openai.com/profile"));
  CHECK(id_claims.at("email") == "dev@example.com");
  CHECK(id_claims.at("https://api.openai.com/auth").at("chatgpt_account_id") == tokens.at("account_id"));
  CHECK(access_claims.at("bottle_dummy") == true);
  CHECK(id_claims.at("bottle_dummy") == true);
  CHECK(access_claims.at("jti") != id_claims.at("jti"));
  CHECK(access.find('=') == std::string::npos);
}

TEST_CASE("codex egress route swaps only the access token on the ChatGPT hosts", "[credentials][codex]") {
  const CodexBottleAuth out = build_codex_bottle_auth(parse_codex_auth(text(host_auth())), host_file);
  REQUIRE(out.routes.size() == 1);
  const EgressRoute& route = out.routes[0];
  const json::object file = json::parse(out.auth_json).as_object();
  CHECK(route.name == "codex-chatgpt");
  CHECK(route.hosts == std::vector<std::string>{"chatgpt.com", "chat.openai.com"});
  CHECK(route.header == "Authorization");
  CHECK(route.dummy == file.at("tokens").at("access_token").as_string());
  CHECK(route.value_file == host_file);
  CHECK(route.value_json_pointer == "/tokens/access_token");
  // The pointer really finds the real token in the host file.
  CHECK(pointed(host_auth(), route) == real_access);
  check_routes_valid(out.routes);

  const auto hosts = codex_agent_hosts();
  CHECK(std::is_sorted(hosts.begin(), hosts.end()));
  for (const auto& h : route.hosts) CHECK(std::find(hosts.begin(), hosts.end(), h) != hosts.end());
  CHECK(std::find(hosts.begin(), hosts.end(), "api.openai.com") != hosts.end());
  CHECK(std::find(hosts.begin(), hosts.end(), "auth.openai.com") == hosts.end());
  CHECK_THAT(error_of([&] { build_codex_bottle_auth(parse_codex_auth(text(host_auth())), "auth.json"); }),
             Catch::Contains("must be absolute"));
}

TEST_CASE("codex dummies are unique per call and keep tokens.account_id", "[credentials][codex]") {
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i)
    for (const auto& d : build_codex_bottle_auth(parse_codex_auth(text(host_auth())), host_file).dummies)
      seen.insert(d);
  CHECK(seen.size() == 30);

  json::object host = host_auth();
  host["tokens"].as_object()["account_id"] = "acc-workspace-2";
  const CodexBottleAuth out = build_codex_bottle_auth(parse_codex_auth(text(host)), host_file);
  const json::object file = json::parse(out.auth_json).as_object();
  CHECK(file.at("tokens").at("account_id") == "acc-workspace-2");
  for (const char* key : {"id_token", "access_token"}) {
    const auto claims = decode_jwt(file.at("tokens").at(key).as_string(), key).payload;
    CHECK(claims.at("https://api.openai.com/auth").at("chatgpt_account_id") == "acc-workspace-2");
  }
}

TEST_CASE("codex API-key logins get a dummy key of the same shape", "[credentials][codex]") {
  const std::vector<json::object> hosts{
      {{"auth_mode", "apikey"}, {"OPENAI_API_KEY", real_api_key}},
      {{"OPENAI_API_KEY", real_api_key}},  // no auth_mode: a key means API-key mode, as in Codex
  };
  for (const auto& h : hosts) {
    const CodexHostAuth auth = parse_codex_auth(text(h));
    REQUIRE(auth.mode == CodexAuthMode::api_key);
    CHECK(auth.api_key == real_api_key);
    const CodexBottleAuth out = build_codex_bottle_auth(auth, host_file);
    check_no_secret(out.auth_json);
    const json::object file = json::parse(out.auth_json).as_object();
    CHECK(file.size() == 2);
    CHECK(file.at("auth_mode") == "apikey");
    const std::string key(file.at("OPENAI_API_KEY").as_string());
    CHECK_THAT(key, Catch::StartsWith("sk-"));
    CHECK(key.size() > 40);
    REQUIRE(out.routes.size() == 1);
    CHECK(out.routes[0].hosts == std::vector<std::string>{"api.openai.com"});
    CHECK(out.routes[0].header == "Authorization");
    CHECK(out.routes[0].dummy == key);
    CHECK(pointed(h, out.routes[0]) == real_api_key);
    check_routes_valid(out.routes);
  }
  // An old login's exchanged key beside ChatGPT tokens is not forwarded.
  json::object mixed = host_auth();
  mixed["OPENAI_API_KEY"] = real_api_key;
  const CodexBottleAuth out = build_codex_bottle_auth(parse_codex_auth(text(mixed)), host_file);
  CHECK(json::parse(out.auth_json).at("OPENAI_API_KEY").is_null());
  check_no_secret(out.auth_json);
}

// ---- Claude ---------------------------------------------------------------------

namespace {

const std::string claude_file = "/home/dev/.claude/.credentials.json";
const std::string claude_access =
    "sk-ant-oat01-REALaccessTOKEN_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789abcdefghAA";
const std::string claude_refresh =
    "sk-ant-ort01-REALrefreshTOKEN_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789abcdefAA";
constexpr long long claude_expires = 1790028000123;

json::object claude_host() {
  return {{"claudeAiOauth",
           json::object{{"accessToken", claude_access},
                        {"refreshToken", claude_refresh},
                        {"expiresAt", claude_expires},
                        {"refreshTokenExpiresAt", claude_expires + 2592000000LL},
                        {"scopes", json::array{"user:inference", "user:profile", "user:sessions:claude_code"}},
                        {"subscriptionType", "max"},
                        {"rateLimitTier", "default_claude_max_20x"},
                        {"futureSecretField", claude_refresh}}},
          {"mcpOAuth", json::object{{"server|abc", json::object{{"accessToken", claude_access}}}}}};
}

void check_no_claude_secret(const std::string& output) {
  CHECK(output.find(claude_access) == std::string::npos);
  CHECK(output.find(claude_refresh) == std::string::npos);
  CHECK(output.find("REAL") == std::string::npos);
}

}  // namespace

TEST_CASE("claude host credentials parse, with clear errors", "[credentials][claude]") {
  const ClaudeHostCredentials creds = parse_claude_credentials(text(claude_host()));
  CHECK(creds.access_token == claude_access);
  CHECK(creds.refresh_token == claude_refresh);
  CHECK(creds.expires_at_ms == claude_expires);
  CHECK(creds.refresh_token_expires_at_ms == claude_expires + 2592000000LL);
  CHECK(creds.scopes.size() == 3);
  CHECK(creds.subscription_type == "max");
  CHECK_FALSE(creds.client_id.has_value());

  struct Case {
    std::function<void(json::object&)> edit;
    std::string expected;
  };
  auto set = [](std::string key, json::value v) {
    return [key, v](json::object& o) { o["claudeAiOauth"].as_object()[key] = v; };
  };
  const std::vector<Case> cases{
      {[](json::object& o) { o.erase("claudeAiOauth"); }, ": missing"},
      {set("accessToken", ""), ".accessToken: is empty"},
      {set("accessToken", nullptr), ".accessToken: missing"},
      {set("refreshToken", 12), ".refreshToken: must be a string"},
      {set("expiresAt", "1790028000123"), ".expiresAt: must be an integer"},
      {set("expiresAt", 1.5e12), ".expiresAt: must be an integer"},
      {set("expiresAt", -1), ".expiresAt: must be an integer from 0"},
      {set("scopes", json::array{"user:profile"}), ".scopes: must include \"user:inference\""},
      {set("scopes", "user:inference"), ".scopes: must be an array"},
      {[](json::object& o) { o["claudeAiOauth"].as_object().erase("expiresAt"); }, ".expiresAt: missing"},
  };
  for (const auto& c : cases) {
    json::object host = claude_host();
    c.edit(host);
    const std::string message = error_of([&] { parse_claude_credentials(text(host)); });
    CHECK_THAT(message, Catch::StartsWith(".credentials.json: claudeAiOauth" + c.expected));
    check_no_claude_secret(message);
  }
}

TEST_CASE("claude bottle credentials have the real shape and expiry", "[credentials][claude]") {
  const ClaudeHostCredentials host = parse_claude_credentials(text(claude_host()));
  const ClaudeBottleCredentials out = build_claude_bottle_credentials(host, claude_file);
  check_no_claude_secret(out.credentials_json);

  const json::object file = json::parse(out.credentials_json).as_object();
  REQUIRE(file.size() == 1);  // no MCP OAuth or other host entries
  const json::object& oauth = file.at("claudeAiOauth").as_object();
  const std::string access(oauth.at("accessToken").as_string());
  const std::string refresh(oauth.at("refreshToken").as_string());
  CHECK(access == out.dummy_access_token);
  CHECK_THAT(access, Catch::StartsWith("sk-ant-oat01-"));
  CHECK_THAT(refresh, Catch::StartsWith("sk-ant-ort01-"));
  CHECK(access.size() == 108);
  CHECK(refresh.size() == 108);
  CHECK(is_base64url(access.substr(13)));
  CHECK(is_base64url(refresh.substr(13)));
  CHECK(oauth.at("expiresAt") == claude_expires);
  CHECK(oauth.at("refreshTokenExpiresAt") == claude_expires + 2592000000LL);
  CHECK(oauth.at("scopes") == claude_host().at("claudeAiOauth").at("scopes"));
  CHECK(oauth.at("subscriptionType") == "max");
  CHECK(oauth.at("rateLimitTier") == "default_claude_max_20x");
  CHECK_FALSE(oauth.contains("futureSecretField"));
  CHECK(out.dummies == std::vector<std::string>{access, refresh});

  REQUIRE(out.routes.size() == 1);
  const EgressRoute& route = out.routes[0];
  CHECK(route.name == "claude-oauth");
  CHECK(route.hosts == std::vector<std::string>{"api.anthropic.com"});
  CHECK(route.header == "Authorization");
  CHECK(route.dummy == access);
  CHECK(route.value_file == claude_file);
  CHECK(pointed(claude_host(), route) == claude_access);
  check_routes_valid(out.routes);
  const auto hosts = claude_agent_hosts();
  for (const auto& h : route.hosts) CHECK(std::find(hosts.begin(), hosts.end(), h) != hosts.end());
  CHECK(std::find(hosts.begin(), hosts.end(), "platform.claude.com") == hosts.end());

  const ClaudeBottleCredentials again = build_claude_bottle_credentials(host, claude_file);
  CHECK(again.dummies[0] != out.dummies[0]);
  CHECK(again.dummies[1] != out.dummies[1]);
  CHECK_THROWS_AS(build_claude_bottle_credentials(host, "creds.json"), Error);
}

TEST_CASE("claude onboarding state is merged into ~/.claude.json", "[credentials][claude]") {
  ClaudeOnboarding onboarding;
  onboarding.project_dir = "/workspace";
  onboarding.claude_version = "2.1.332";
  onboarding.host_global_config =
      text(json::object{{"oauthAccount", json::object{{"accountUuid", "u-1"}, {"emailAddress", "dev@example.com"}}},
                        {"primaryApiKey", claude_access},
                        {"customApiKeyResponses", json::object{{"approved", json::array{"abc"}}}}});

  const json::object fresh = json::parse(build_claude_global_config("", onboarding)).as_object();
  CHECK(fresh.at("hasCompletedOnboarding") == true);
  CHECK(fresh.at("bypassPermissionsModeAccepted") == true);
  CHECK(fresh.at("theme") == "dark");
  CHECK(fresh.at("lastOnboardingVersion") == "2.1.332");
  CHECK(fresh.at("oauthAccount").at("accountUuid") == "u-1");
  CHECK_FALSE(fresh.contains("primaryApiKey"));
  CHECK_FALSE(fresh.contains("customApiKeyResponses"));
  const json::value& project = fresh.at("projects").at("/workspace");
  CHECK(project.at("hasTrustDialogAccepted") == true);
  CHECK(project.at("hasCompletedProjectOnboarding") == true);
  CHECK(project.at("enableAllProjectMcpServers") == false);

  const std::string existing = R"({"theme": "light", "numStartups": 7, "hasCompletedOnboarding": false,
    "projects": {"/workspace": {"allowedTools": ["Bash"], "enableAllProjectMcpServers": true},
                 "/other": {"hasTrustDialogAccepted": false}}})";
  onboarding.host_global_config.clear();
  const json::object merged = json::parse(build_claude_global_config(existing, onboarding)).as_object();
  CHECK(merged.at("theme") == "light");
  CHECK(merged.at("numStartups") == 7);
  CHECK(merged.at("hasCompletedOnboarding") == true);
  CHECK(merged.at("projects").at("/workspace").at("allowedTools") == json::array{"Bash"});
  CHECK(merged.at("projects").at("/workspace").at("enableAllProjectMcpServers") == true);
  CHECK(merged.at("projects").at("/workspace").at("hasTrustDialogAccepted") == true);
  CHECK(merged.at("projects").at("/other").at("hasTrustDialogAccepted") == false);
  CHECK_FALSE(merged.contains("oauthAccount"));

  onboarding.project_dir = "workspace";
  CHECK_THAT(error_of([&] { build_claude_global_config("", onboarding); }), Catch::Contains("absolute"));
  onboarding.project_dir.clear();
  CHECK_THAT(error_of([&] { build_claude_global_config("[1]", onboarding); }),
             Catch::StartsWith(".claude.json: must be a JSON object"));
  CHECK_THAT(error_of([&] {
               build_claude_global_config(R"({"projects": 3})", ClaudeOnboarding{"/w", "", ""});
             }),
             Catch::StartsWith(".claude.json: projects: must be an object"));
}
