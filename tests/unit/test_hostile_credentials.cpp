// Hostile input at the host-credential entry points: the Codex auth.json and the
// Claude .credentials.json / .claude.json bottle reads on the host, and the
// environment variables that say where they are. Every row must fail with
// Error(invalid_input) naming the file, the field and the problem, and never echo
// a token.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "error_of.hpp"

namespace json = boost::json;
using namespace bottle;

namespace {

const std::string secret_signature = base64url_encode("HOSTILE-TEST-SIGNATURE-must-not-leak");
const std::string refresh = "rt_HOSTILE-refresh-must-not-leak-0123456789";

std::string jwt(const json::object& payload) {
  return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url_encode(json::serialize(payload)) + "." +
         secret_signature;
}

json::object claims() {
  return {{"exp", 1791234567}, {"https://api.openai.com/auth", json::object{{"chatgpt_account_id", "acc-hostile-1"}}}};
}

json::object codex_host() {
  return {{"auth_mode", "chatgpt"},
          {"OPENAI_API_KEY", nullptr},
          {"tokens", json::object{{"id_token", jwt(claims())},
                                  {"access_token", jwt(claims())},
                                  {"refresh_token", refresh},
                                  {"account_id", "acc-hostile-1"}}},
          {"last_refresh", "2026-09-20T10:11:12Z"}};
}

json::object claude_host() {
  return {{"claudeAiOauth", json::object{{"accessToken", "sk-ant-oat01-HOSTILE-access-must-not-leak"},
                                         {"refreshToken", "sk-ant-ort01-HOSTILE-refresh-must-not-leak"},
                                         {"expiresAt", 1790028000123},
                                         {"scopes", json::array{"user:inference"}}}}};
}

void check_no_secret(const std::string& message) {
  INFO("message: " << message);
  CHECK(message.find("HOSTILE") == std::string::npos);
  CHECK(message.find(secret_signature) == std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

// A file text, either given raw or as an edit of a valid login.
struct FileRow {
  std::string label;
  std::function<std::string()> text;
  std::string expected;
};

std::function<std::string()> raw(std::string text) {
  return [text] { return text; };
}

std::function<std::string()> codex_edit(std::function<void(json::object&)> edit) {
  return [edit] {
    json::object o = codex_host();
    edit(o);
    return json::serialize(o);
  };
}

std::function<std::string()> claude_edit(std::function<void(json::object&)> edit) {
  return [edit] {
    json::object o = claude_host();
    edit(o);
    return json::serialize(o);
  };
}

std::function<void(json::object&)> set_token(std::string key, json::value v) {
  return [key, v](json::object& o) { o["tokens"].as_object()[key] = v; };
}

std::function<void(json::object&)> set_token(std::string key, const std::string& v) {
  return set_token(std::move(key), json::value(json::string(v)));
}

std::function<void(json::object&)> set_token(std::string key, const char* v) {
  return set_token(std::move(key), json::value(v));
}

std::function<void(json::object&)> set_oauth(std::string key, json::value v) {
  return [key, v](json::object& o) { o["claudeAiOauth"].as_object()[key] = v; };
}

}  // namespace

TEST_CASE("hostile codex auth.json files are rejected by field", "[hostile][credentials][codex]") {
  const std::string valid = json::serialize(codex_host());
  json::object exp_string = claims();
  exp_string["exp"] = "1791234567";
  json::object exp_negative = claims();
  exp_negative["exp"] = -5;
  const std::vector<FileRow> rows{
      {"empty file", raw(""), "auth.json: not valid JSON"},
      {"whitespace only", raw(" \n\t"), "auth.json: not valid JSON"},
      {"truncated", raw(valid.substr(0, valid.size() / 2)), "auth.json: not valid JSON"},
      {"not UTF-8", raw("{\"auth_mode\": \"chat\xff\xfegpt\"}"), "auth.json: not valid JSON"},
      {"byte order mark", raw("\xef\xbb\xbf" + valid), "auth.json: not valid JSON"},
      {"NUL byte in the text", raw(std::string("{\"a\":\0}", 8)), "auth.json: not valid JSON"},
      {"nested too deep", raw(std::string(200, '[') + std::string(200, ']')), "auth.json: not valid JSON"},
      {"access token twice", raw(R"({"tokens": {"access_token": "a", "refresh_token": "r", "access_token": "b"}})"),
       "auth.json: $.tokens.access_token: duplicate key"},
      {"array", raw("[]"), "auth.json: must be a JSON object"},
      {"null", raw("null"), "auth.json: must be a JSON object"},
      {"string", raw("\"tokens\""), "auth.json: must be a JSON object"},
      {"auth_mode number", codex_edit([](json::object& o) { o["auth_mode"] = 7; }),
       "auth.json: auth_mode: must be a string"},
      {"auth_mode with newline", codex_edit([](json::object& o) { o["auth_mode"] = "chatgpt\nHOSTILE: 1"; }),
       "auth.json: auth_mode: cannot be forwarded"},
      {"auth_mode with NUL", codex_edit([](json::object& o) { o["auth_mode"] = json::string("chat\0gpt", 8); }),
       "auth.json: auth_mode: must not contain NUL bytes"},
      {"api key object",
       codex_edit([](json::object& o) { o["auth_mode"] = "apikey", o["OPENAI_API_KEY"] = json::object(); }),
       "auth.json: OPENAI_API_KEY: must be a string"},
      {"api key empty", codex_edit([](json::object& o) { o["auth_mode"] = "apikey", o["OPENAI_API_KEY"] = ""; }),
       "auth.json: OPENAI_API_KEY: must not be empty"},
      {"tokens array", codex_edit([](json::object& o) { o["tokens"] = json::array(); }),
       "auth.json: tokens: must be an object"},
      {"id_token object", codex_edit(set_token("id_token", json::object())),
       "auth.json: tokens.id_token: must be a string"},
      {"id_token two segments", codex_edit(set_token("id_token", "eyJhIjoxfQ.eyJhIjoxfQ")),
       "auth.json: tokens.id_token: expected 3 segments, got 2"},
      {"access_token four segments", codex_edit(set_token("access_token", jwt(claims()) + ".x")),
       "auth.json: tokens.access_token: expected 3 segments, got 4"},
      {"access_token padded", codex_edit(set_token("access_token", jwt(claims()) + "=")),
       "auth.json: tokens.access_token: signature: '=' padding"},
      {"access_token bad base64", codex_edit(set_token("access_token", "e$J.e$J." + secret_signature)),
       "auth.json: tokens.access_token: header: invalid base64url character '$'"},
      {"access_token payload array",
       codex_edit(set_token("access_token", "eyJhIjoxfQ." + base64url_encode("[]") + ".c2ln")),
       "auth.json: tokens.access_token: payload: must be a JSON object"},
      {"access_token exp string", codex_edit(set_token("access_token", jwt(exp_string))),
       "auth.json: tokens.access_token: exp: must be an integer number of seconds, not a string"},
      {"access_token exp negative", codex_edit(set_token("access_token", jwt(exp_negative))),
       "auth.json: tokens.access_token: exp: out of range"},
      {"refresh_token NUL", codex_edit(set_token("refresh_token", json::string("rt\0x", 4))),
       "auth.json: tokens.refresh_token: must not contain NUL bytes"},
      {"refresh_token number", codex_edit(set_token("refresh_token", 1)),
       "auth.json: tokens.refresh_token: must be a string"},
      {"account_id with newline", codex_edit(set_token("account_id", "acc-1\r\nX-Injected: 1")),
       "auth.json: tokens.account_id: may contain only"},
      {"account_id with space", codex_edit(set_token("account_id", "acc 1")),
       "auth.json: tokens.account_id: may contain only"},
      {"account_id very long", codex_edit(set_token("account_id", std::string(5000, 'a'))),
       "auth.json: tokens.account_id: is too long"},
      {"last_refresh number", codex_edit([](json::object& o) { o["last_refresh"] = 1790000000; }),
       "auth.json: last_refresh: must be a string"},
      {"last_refresh with a tail", codex_edit([](json::object& o) { o["last_refresh"] = "2026-09-20T10:11:12Z\n; x"; }),
       "auth.json: last_refresh: must be an RFC 3339 time"},
      {"last_refresh very long", codex_edit([](json::object& o) { o["last_refresh"] = std::string(1 << 20, '9'); }),
       "auth.json: last_refresh: must be an RFC 3339 time"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { parse_codex_auth(row.text()); });
      CHECK_THAT(message, Catch::StartsWith(row.expected));
      check_no_secret(message);
    }
  }
}

TEST_CASE("hostile claude .credentials.json files are rejected by field", "[hostile][credentials][claude]") {
  const std::string valid = json::serialize(claude_host());
  const std::vector<FileRow> rows{
      {"empty file", raw(""), ".credentials.json: not valid JSON"},
      {"truncated", raw(valid.substr(0, valid.size() - 3)), ".credentials.json: not valid JSON"},
      {"not UTF-8", raw("{\"claudeAiOauth\": {\"accessToken\": \"\xc0\xaf\"}}"), ".credentials.json: not valid JSON"},
      {"nested too deep", raw("{\"x\":" + std::string(100, '[') + std::string(100, ']') + "}"),
       ".credentials.json: not valid JSON"},
      {"array", raw("[{}]"), ".credentials.json: must be a JSON object"},
      {"no login", raw("{}"), ".credentials.json: claudeAiOauth: missing"},
      {"login a string", claude_edit([](json::object& o) { o["claudeAiOauth"] = "x"; }),
       ".credentials.json: claudeAiOauth: must be an object"},
      {"accessToken NUL", claude_edit(set_oauth("accessToken", json::string("sk\0x", 4))),
       ".credentials.json: claudeAiOauth.accessToken: must not contain NUL bytes"},
      {"accessToken array", claude_edit(set_oauth("accessToken", json::array{"x"})),
       ".credentials.json: claudeAiOauth.accessToken: must be a string"},
      {"refreshToken empty", claude_edit(set_oauth("refreshToken", "")),
       ".credentials.json: claudeAiOauth.refreshToken: is empty"},
      {"expiresAt string", claude_edit(set_oauth("expiresAt", "1790028000123")),
       ".credentials.json: claudeAiOauth.expiresAt: must be an integer"},
      {"expiresAt float", claude_edit(set_oauth("expiresAt", 1790028000123.5)),
       ".credentials.json: claudeAiOauth.expiresAt: must be an integer"},
      {"expiresAt huge", claude_edit(set_oauth("expiresAt", 18446744073709551615ULL)),
       ".credentials.json: claudeAiOauth.expiresAt: must be an integer from 0"},
      {"expiresAt negative", claude_edit(set_oauth("expiresAt", -1)),
       ".credentials.json: claudeAiOauth.expiresAt: must be an integer from 0"},
      {"expiresAt null", claude_edit(set_oauth("expiresAt", nullptr)),
       ".credentials.json: claudeAiOauth.expiresAt: must be an integer"},
      {"refreshTokenExpiresAt string", claude_edit(set_oauth("refreshTokenExpiresAt", "soon")),
       ".credentials.json: claudeAiOauth.refreshTokenExpiresAt: must be an integer"},
      {"scopes string", claude_edit(set_oauth("scopes", "user:inference")),
       ".credentials.json: claudeAiOauth.scopes: must be an array"},
      {"scope number", claude_edit(set_oauth("scopes", json::array{"user:inference", 3})),
       ".credentials.json: claudeAiOauth.scopes[1]: must be a string"},
      {"scopes without inference", claude_edit(set_oauth("scopes", json::array{"user:inference\n"})),
       ".credentials.json: claudeAiOauth.scopes: must include \"user:inference\""},
      {"subscriptionType number", claude_edit(set_oauth("subscriptionType", 5)),
       ".credentials.json: claudeAiOauth.subscriptionType: must be a string"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { parse_claude_credentials(row.text()); });
      CHECK_THAT(message, Catch::StartsWith(row.expected));
      check_no_secret(message);
    }
  }
}

TEST_CASE("hostile claude .claude.json texts are rejected", "[hostile][credentials][claude]") {
  struct Row {
    std::string label;
    std::string existing;
    ClaudeOnboarding onboarding;
    std::string expected;
  };
  const std::vector<Row> rows{
      {"existing truncated", "{\"theme\": ", {}, ".claude.json: not valid JSON"},
      {"existing array", "[]", {}, ".claude.json: must be a JSON object"},
      {"existing projects a string",
       R"({"projects": "x"})",
       {.project_dir = "/workspace"},
       ".claude.json: projects: must be an object"},
      {"existing project a number",
       R"({"projects": {"/workspace": 1}})",
       {.project_dir = "/workspace"},
       ".claude.json: projects[\"/workspace\"]: must be an object"},
      {"host config not UTF-8",
       "",
       {.host_global_config = "{\"oauthAccount\": \"\xff\"}"},
       "host .claude.json: not valid JSON"},
      {"host config a number", "", {.host_global_config = "42"}, "host .claude.json: must be a JSON object"},
      {"relative project", "", {.project_dir = "workspace"}, "project directory must be an absolute path"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { build_claude_global_config(row.existing, row.onboarding); });
      CHECK_THAT(message, Catch::Contains(row.expected));
    }
  }
}

TEST_CASE("hostile credential directories from the environment are rejected", "[hostile][credentials][env]") {
  using Opt = std::optional<std::string>;
  struct Row {
    std::string label;
    Opt dir;   ///< CODEX_HOME or CLAUDE_CONFIG_DIR
    Opt home;  ///< HOME
    std::string expected;
  };
  const std::vector<Row> rows{
      {"relative dir", Opt("rel/dir"), Opt("/home/dev"), "must be an absolute path"},
      {"dir with ':'", Opt("/tmp/a:/etc"), Opt("/home/dev"), "must not contain ':'"},
      {"dir with ','", Opt("/tmp/a,b"), Opt("/home/dev"), "must not contain ','"},
      {"dir with newline", Opt("/tmp/a\nb"), Opt("/home/dev"), "must not contain control characters"},
      {"dir with '..'", Opt("/tmp/../etc"), Opt("/home/dev"), "must not contain '..'"},
      {"dir not UTF-8", Opt("/tmp/\xff"), Opt("/home/dev"), "must be valid UTF-8"},
      {"dir very long", Opt("/" + std::string(5000, 'a')), Opt("/home/dev"), "is too long"},
      {"no HOME", std::nullopt, std::nullopt, "environment variable HOME: not set"},
      {"empty HOME", Opt(""), Opt(""), "environment variable HOME: not set"},
      {"relative HOME", std::nullopt, Opt("home/dev"), "environment variable HOME: must be an absolute path"},
      {"HOME with ':'", std::nullopt, Opt("/home/a:b"), "environment variable HOME: must not contain ':'"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const auto check = [&](const std::string& message, const char* variable) {
        INFO("message: " << message);
        CHECK_THAT(message, Catch::Contains(row.expected));
        CHECK_THAT(message, Catch::StartsWith(std::string("environment variable ") +
                                              (row.dir && !row.dir->empty() ? variable : "HOME")));
        CHECK(message.find('\n') == std::string::npos);
      };
      check(error_of([&] { codex_auth_path(row.dir, row.home); }), "CODEX_HOME");
      check(error_of([&] { claude_credentials_path(row.dir, row.home); }), "CLAUDE_CONFIG_DIR");
      check(error_of([&] { claude_global_config_path(row.dir, row.home); }), "CLAUDE_CONFIG_DIR");
    }
  }
}
