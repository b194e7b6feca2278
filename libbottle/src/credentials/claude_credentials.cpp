#include "bottle/credentials/claude_credentials.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <boost/json/value.hpp>

#include "bottle/core/error.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view credentials_what = ".credentials.json";
constexpr std::string_view config_what = ".claude.json";
// 9999-12-31T23:59:59.999Z: anything later is a unit mistake, not a time.
constexpr long long max_time_ms = 253402300799999LL;
// 71 random bytes are 95 base64url characters: prefix + 95 ~ the real ~108.
constexpr std::size_t token_random_bytes = 71;

using detail::JsonField;

fs::path claude_dir_file(const std::optional<std::string>& config_dir, const std::optional<std::string>& home,
                         std::string_view in_config_dir, const fs::path& in_home) {
  // The directory is mounted into egress (docker -v), so it must be a path that
  // survives that trip.
  const auto check = [](std::string_view variable, const std::string& path) {
    if (const auto problem = path_problem(path))
      throw Error(ErrorKind::invalid_input, fmt::format("environment variable {}: {}", variable, *problem));
  };
  if (config_dir && !config_dir->empty()) {
    check("CLAUDE_CONFIG_DIR", *config_dir);
    return fs::path(*config_dir) / in_config_dir;
  }
  if (!home || home->empty())
    throw Error(ErrorKind::invalid_input, "environment variable HOME: not set (needed to find Claude's files)");
  check("HOME", *home);
  return fs::path(*home) / in_home;
}

// Claude writes "absent" as null in places (subscriptionType: null).
const json::value* present(const json::object& obj, std::string_view key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::string required_token(const JsonField& oauth, std::string_view key) {
  const json::value* v = present(oauth.object(), key);
  const std::string path = oauth.path() + "." + std::string(key);
  if (v == nullptr) detail::throw_field_error(credentials_what, path, "missing (log in again with claude /login)");
  std::string s = JsonField(*v, path, credentials_what).string();
  // An empty token is what Claude leaves behind after a failed refresh wiped it.
  if (s.empty()) detail::throw_field_error(credentials_what, path, "is empty (log in again with claude /login)");
  return s;
}

std::optional<std::string> optional_text(const JsonField& oauth, std::string_view key) {
  const json::value* v = present(oauth.object(), key);
  if (v == nullptr) return std::nullopt;
  return JsonField(*v, oauth.path() + "." + std::string(key), credentials_what).string();
}

json::object parse_object(std::string_view text, std::string_view what) {
  json::value v = detail::parse_json_text(text, what);
  if (!v.is_object()) throw Error(ErrorKind::invalid_input, fmt::format("{}: must be a JSON object", what));
  return std::move(v.get_object());
}

// Set `key` only when it is absent, so a user's own choice survives re-seeding.
void set_default(json::object& obj, std::string_view key, json::value value) {
  if (obj.find(key) == obj.end()) obj[key] = std::move(value);
}

json::object& child_object(json::object& obj, std::string_view key, std::string_view path) {
  json::value& v = obj[key];
  if (v.is_null()) v = json::object();
  if (!v.is_object()) detail::throw_field_error(config_what, path, "must be an object");
  return v.get_object();
}

}  // namespace

fs::path claude_credentials_path(const std::optional<std::string>& claude_config_dir,
                                 const std::optional<std::string>& home) {
  return claude_dir_file(claude_config_dir, home, ".credentials.json", fs::path(".claude") / ".credentials.json");
}

fs::path claude_global_config_path(const std::optional<std::string>& claude_config_dir,
                                   const std::optional<std::string>& home) {
  return claude_dir_file(claude_config_dir, home, ".claude.json", ".claude.json");
}

fs::path claude_credentials_path_from_environment(const Host& host) {
  return claude_credentials_path(host.env(Var::claude_config_dir), host.env(Var::home));
}

fs::path claude_global_config_path_from_environment(const Host& host) {
  return claude_global_config_path(host.env(Var::claude_config_dir), host.env(Var::home));
}

ClaudeHostCredentials parse_claude_credentials(std::string_view credentials_json_text) {
  const json::object root = parse_object(credentials_json_text, credentials_what);
  const json::value* oauth_value = present(root, "claudeAiOauth");
  if (oauth_value == nullptr)
    throw Error(ErrorKind::invalid_input,
                ".credentials.json: claudeAiOauth: missing (no subscription login; run claude /login on the host)");
  const JsonField oauth(*oauth_value, "claudeAiOauth", credentials_what);
  (void)oauth.object();

  ClaudeHostCredentials creds;
  creds.access_token = required_token(oauth, "accessToken");
  creds.refresh_token = required_token(oauth, "refreshToken");
  if (!oauth.with("expiresAt", [&](const JsonField& f) { creds.expires_at_ms = f.integer(0, max_time_ms); }))
    detail::throw_field_error(credentials_what, "claudeAiOauth.expiresAt", "missing (log in again with claude /login)");
  oauth.with("refreshTokenExpiresAt", [&](const JsonField& f) {
    if (!f.value().is_null()) creds.refresh_token_expires_at_ms = f.integer(0, max_time_ms);
  });
  if (!oauth.with("scopes",
                  [&](const JsonField& f) { f.each([&](const JsonField& s) { creds.scopes.push_back(s.string()); }); }))
    detail::throw_field_error(credentials_what, "claudeAiOauth.scopes", "missing (Claude would force /login)");
  // Without it Claude raises oauth_no_inference_scope and forces /login.
  if (std::find(creds.scopes.begin(), creds.scopes.end(), "user:inference") == creds.scopes.end())
    detail::throw_field_error(credentials_what, "claudeAiOauth.scopes",
                              "must include \"user:inference\" (log in again with claude /login)");
  creds.subscription_type = optional_text(oauth, "subscriptionType");
  creds.rate_limit_tier = optional_text(oauth, "rateLimitTier");
  creds.client_id = optional_text(oauth, "clientId");
  return creds;
}

ClaudeBottleCredentials build_claude_bottle_credentials(const ClaudeHostCredentials& host,
                                                        const std::string& host_credentials_file,
                                                        const RandomSource& random) {
  if (host_credentials_file.empty() || !fs::path(host_credentials_file).is_absolute())
    throw Error(ErrorKind::invalid_input, "claude credentials: the host .credentials.json path must be absolute");
  ClaudeBottleCredentials out;
  // Claude tokens are opaque (not JWTs), so a dummy only needs the real prefix,
  // charset and length; unlike a JWT it cannot carry a marker claim.
  out.dummy_access_token = std::string(claude_access_token_prefix) + random_base64url(token_random_bytes, random);
  const std::string refresh = std::string(claude_refresh_token_prefix) + random_base64url(token_random_bytes, random);

  json::array scopes;
  for (const auto& s : host.scopes) scopes.emplace_back(s);
  // Only known, non-secret fields are copied; anything new in the host entry might
  // be a secret and is left behind.
  json::object oauth{
      {"accessToken", out.dummy_access_token}, {"refreshToken", refresh}, {"expiresAt", host.expires_at_ms}};
  if (host.refresh_token_expires_at_ms) oauth["refreshTokenExpiresAt"] = *host.refresh_token_expires_at_ms;
  oauth["scopes"] = std::move(scopes);
  if (host.subscription_type) oauth["subscriptionType"] = *host.subscription_type;
  if (host.rate_limit_tier) oauth["rateLimitTier"] = *host.rate_limit_tier;
  if (host.client_id) oauth["clientId"] = *host.client_id;
  out.credentials_json = detail::pretty_json(json::object{{"claudeAiOauth", std::move(oauth)}});

  // The OAuth bearer goes with "anthropic-beta: oauth-2025-04-20", which egress
  // leaves alone; only the Authorization value is swapped.
  out.routes.push_back(EgressRoute{.name = "claude-oauth",
                                   .hosts = {"api.anthropic.com"},
                                   .header = "Authorization",
                                   .dummy = out.dummy_access_token,
                                   .value_file = host_credentials_file,
                                   .value_json_pointer = "/claudeAiOauth/accessToken"});
  out.dummies = {out.dummy_access_token, refresh};
  return out;
}

std::string build_claude_global_config(std::string_view existing, const ClaudeOnboarding& onboarding) {
  json::object config;
  if (existing.find_first_not_of(" \t\r\n") != std::string_view::npos) config = parse_object(existing, config_what);

  config["hasCompletedOnboarding"] = true;
  config["bypassPermissionsModeAccepted"] = true;
  set_default(config, "theme", "dark");
  if (!onboarding.claude_version.empty()) config["lastOnboardingVersion"] = onboarding.claude_version;

  if (onboarding.host_global_config.find_first_not_of(" \t\r\n") != std::string::npos) {
    const json::object host = parse_object(onboarding.host_global_config, "host .claude.json");
    // oauthAccount is account metadata (uuids, email, organisation); the host file
    // may also hold API-key approvals and MCP settings, which stay on the host.
    if (const auto it = host.find("oauthAccount"); it != host.end() && it->value().is_object())
      config["oauthAccount"] = it->value();
  }

  if (!onboarding.project_dir.empty()) {
    if (!fs::path(onboarding.project_dir).is_absolute())
      throw Error(ErrorKind::invalid_input, "claude onboarding: project directory must be an absolute path");
    json::object& projects = child_object(config, "projects", "projects");
    json::object& project =
        child_object(projects, onboarding.project_dir, "projects" + detail::member_path(onboarding.project_dir));
    project["hasTrustDialogAccepted"] = true;
    project["hasCompletedProjectOnboarding"] = true;
    set_default(project, "enableAllProjectMcpServers", false);
  }
  return detail::pretty_json(config);
}

std::vector<std::string> claude_agent_hosts() { return {"api.anthropic.com"}; }

}  // namespace bottle
