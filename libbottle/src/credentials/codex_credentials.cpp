#include "bottle/credentials/codex_credentials.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>
#include <boost/json/value.hpp>

#include "bottle/core/error.hpp"
#include "bottle/credentials/jwt.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view what = "auth.json";
constexpr std::string_view auth_claims = "https://api.openai.com/auth";

[[noreturn]] void fail(std::string_view path, std::string_view problem) {
  detail::throw_field_error(what, path, problem);
}

// Codex stores optional fields as Option<T>, written as null or left out: both mean
// "absent" here.
const json::value* present(const json::object& obj, std::string_view key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::string required_string(const json::object& obj, std::string_view key, std::string_view path) {
  const json::value* v = present(obj, key);
  if (v == nullptr) fail(path, "missing");
  std::string s = detail::JsonField(*v, std::string(path), what).string();
  if (s.empty()) fail(path, "must not be empty");
  return s;
}

std::optional<std::string> optional_string(const json::object& obj, std::string_view key, std::string_view path) {
  const json::value* v = present(obj, key);
  if (v == nullptr) return std::nullopt;
  return detail::JsonField(*v, std::string(path), what).string();
}

CodexAuthMode resolve_mode(const std::optional<std::string>& auth_mode, bool has_api_key) {
  if (!auth_mode) return has_api_key ? CodexAuthMode::api_key : CodexAuthMode::chatgpt;
  if (*auth_mode == "chatgpt") return CodexAuthMode::chatgpt;
  if (*auth_mode == "apikey") return CodexAuthMode::api_key;
  // Mode names are enum words, not secrets; anything else is not echoed.
  const bool word = auth_mode->size() <= 40 && std::all_of(auth_mode->begin(), auth_mode->end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                    });
  fail("auth_mode", fmt::format("{}cannot be forwarded into a bottle (supported: chatgpt, apikey)",
                                word ? fmt::format("\"{}\" ", *auth_mode) : std::string()));
}

// chrono's RFC 3339 parser is what Codex uses; a value it rejects makes the whole
// file unreadable to Codex, so reject it here with a clearer message.
bool is_rfc3339(const std::string& text) {
  static const std::regex pattern(R"(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2}))");
  return std::regex_match(text, pattern);
}

std::string account_claim(const json::object& claims) {
  const json::value* block = present(claims, auth_claims);
  if (block == nullptr || !block->is_object()) return {};
  const json::value* id = present(block->get_object(), "chatgpt_account_id");
  return id != nullptr && id->is_string() ? std::string(id->get_string()) : std::string();
}

void parse_chatgpt_tokens(const json::object& root, CodexHostAuth& auth) {
  const json::value* tokens_value = present(root, "tokens");
  if (tokens_value == nullptr) fail("tokens", "missing (no ChatGPT login; run `codex login` on the host)");
  const json::object& tokens = detail::JsonField(*tokens_value, "tokens", what).object();

  auth.id_token = required_string(tokens, "id_token", "tokens.id_token");
  auth.access_token = required_string(tokens, "access_token", "tokens.access_token");
  auth.refresh_token = required_string(tokens, "refresh_token", "tokens.refresh_token");

  auth.id_claims = decode_jwt(auth.id_token, "auth.json: tokens.id_token").payload;
  auth.access_claims = decode_jwt(auth.access_token, "auth.json: tokens.access_token").payload;
  // A dummy here means bottle is reading a bottle's own file (nested bottles, or a
  // mis-set CODEX_HOME); forwarding it would route a dummy to a dummy.
  if (is_dummy_jwt_payload(auth.id_claims))
    fail("tokens.id_token", "is a bottle dummy token, not a real login (running inside a bottle?)");
  if (is_dummy_jwt_payload(auth.access_claims))
    fail("tokens.access_token", "is a bottle dummy token, not a real login (running inside a bottle?)");
  auth.access_exp = jwt_exp(auth.access_claims, "auth.json: tokens.access_token");

  auth.account_id = optional_string(tokens, "account_id", "tokens.account_id").value_or("");
  const bool from_claim = auth.account_id.empty();
  if (from_claim) auth.account_id = account_claim(auth.id_claims);
  if (auth.account_id.empty()) fail("tokens.account_id", "missing, and the id_token has no chatgpt_account_id either");
  // Codex sends the account id as the ChatGPT-Account-Id header: it must be a
  // header-safe word (real ones are UUIDs).
  const std::string account_path = from_claim ? "tokens.id_token: chatgpt_account_id" : "tokens.account_id";
  if (auth.account_id.size() > 256) fail(account_path, "is too long (at most 256 characters)");
  if (!std::all_of(auth.account_id.begin(), auth.account_id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      }))
    fail(account_path, "may contain only letters, digits, '-', '_' and '.'");

  const auto last_refresh = optional_string(root, "last_refresh", "last_refresh");
  // Codex hands out no bearer without last_refresh, so a bottle built from such a
  // file could never authenticate.
  if (!last_refresh) fail("last_refresh", "missing (Codex ignores tokens without it; run codex on the host once)");
  if (!is_rfc3339(*last_refresh)) fail("last_refresh", "must be an RFC 3339 time such as 2026-09-20T10:11:12Z");
  auth.last_refresh = *last_refresh;
}

// The dummy's account claim must equal tokens.account_id: Codex's workspace checks
// read the claim, its headers and 401 recovery read account_id.
json::object with_account(json::object claims, const std::string& account_id) {
  json::value& block = claims[auth_claims];
  if (block.is_null()) block = json::object();
  if (block.is_object()) block.get_object()["chatgpt_account_id"] = account_id;
  return claims;
}

void require_absolute(const std::string& host_auth_file) {
  if (host_auth_file.empty() || !fs::path(host_auth_file).is_absolute())
    throw Error(ErrorKind::invalid_input, "codex credentials: the host auth.json path must be absolute");
}

}  // namespace

fs::path codex_auth_path(const std::optional<std::string>& codex_home, const std::optional<std::string>& home) {
  // The directory is mounted into egress (docker -v), so it must be a path that
  // survives that trip.
  const auto check = [](std::string_view variable, const std::string& path) {
    if (const auto problem = path_problem(path))
      throw Error(ErrorKind::invalid_input, fmt::format("environment variable {}: {}", variable, *problem));
  };
  if (codex_home && !codex_home->empty()) {
    check("CODEX_HOME", *codex_home);
    return fs::path(*codex_home) / "auth.json";
  }
  if (!home || home->empty())
    throw Error(ErrorKind::invalid_input, "environment variable HOME: not set (needed to find ~/.codex/auth.json)");
  check("HOME", *home);
  return fs::path(*home) / ".codex" / "auth.json";
}

fs::path codex_auth_path_from_environment(const Host& host) {
  return codex_auth_path(host.env(Var::codex_home), host.env(Var::home));
}

CodexHostAuth parse_codex_auth(std::string_view auth_json_text) {
  const json::value root_value = detail::parse_json_text(auth_json_text, what);
  if (!root_value.is_object()) throw Error(ErrorKind::invalid_input, "auth.json: must be a JSON object");
  const json::object& root = root_value.get_object();

  const auto auth_mode = optional_string(root, "auth_mode", "auth_mode");
  const auto api_key = optional_string(root, "OPENAI_API_KEY", "OPENAI_API_KEY");
  CodexHostAuth auth;
  auth.mode = resolve_mode(auth_mode, api_key.has_value());
  if (auth.mode == CodexAuthMode::api_key) {
    if (!api_key) fail("OPENAI_API_KEY", "missing (auth_mode is apikey)");
    if (api_key->empty()) fail("OPENAI_API_KEY", "must not be empty");
    auth.api_key = *api_key;
    return auth;
  }
  // In ChatGPT mode an OPENAI_API_KEY is a key old logins exchanged: it is neither
  // needed nor forwarded.
  parse_chatgpt_tokens(root, auth);
  return auth;
}

CodexBottleAuth build_codex_bottle_auth(const CodexHostAuth& host, const std::string& host_auth_file,
                                        const RandomSource& random) {
  require_absolute(host_auth_file);
  CodexBottleAuth out;
  if (host.mode == CodexAuthMode::api_key) {
    // Nothing parses an OpenAI key; the sk- prefix only keeps cosmetic checks happy.
    const std::string key = "sk-bottle-" + random_base64url(32, random);
    out.auth_json = detail::pretty_json(json::object{{"auth_mode", "apikey"}, {"OPENAI_API_KEY", key}});
    out.routes.push_back(EgressRoute{.name = "codex-api-key",
                                     .hosts = {"api.openai.com"},
                                     .header = "Authorization",
                                     .dummy = key,
                                     .value_file = host_auth_file,
                                     .value_json_pointer = "/OPENAI_API_KEY"});
    out.dummies = {key};
    return out;
  }

  const std::string id_token = mint_dummy_jwt(with_account(host.id_claims, host.account_id), random);
  const std::string access_token = mint_dummy_jwt(with_account(host.access_claims, host.account_id), random);
  // Opaque to Codex. It is only ever sent to the token endpoint, which bottle must
  // answer itself, so it maps to no real value.
  const std::string refresh_token = "bottle-dummy-refresh-" + random_base64url(32, random);

  json::object tokens{{"id_token", id_token},
                      {"access_token", access_token},
                      {"refresh_token", refresh_token},
                      {"account_id", host.account_id}};
  // auth_mode and a null OPENAI_API_KEY are both explicit: a key without auth_mode
  // would switch Codex to API-key mode.
  json::object file{{"auth_mode", "chatgpt"},
                    {"OPENAI_API_KEY", nullptr},
                    {"tokens", std::move(tokens)},
                    {"last_refresh", host.last_refresh}};
  out.auth_json = detail::pretty_json(file);
  // Only the access token travels in a header (§A7); the id_token is read locally.
  // Codex's first-party hosts are chatgpt.com, *.chatgpt.com and chat.openai.com,
  // but ab.chatgpt.com (Statsig) must not get a bearer, and egress routes take no
  // wildcards, so the two real API hosts are listed.
  out.routes.push_back(EgressRoute{.name = "codex-chatgpt",
                                   .hosts = {"chatgpt.com", "chat.openai.com"},
                                   .header = "Authorization",
                                   .dummy = access_token,
                                   .value_file = host_auth_file,
                                   .value_json_pointer = "/tokens/access_token"});
  out.dummies = {id_token, access_token, refresh_token};
  return out;
}

std::vector<std::string> codex_agent_hosts() { return {"api.openai.com", "chat.openai.com", "chatgpt.com"}; }

}  // namespace bottle
