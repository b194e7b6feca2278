#include "bottle/egress/token_broker.hpp"

#include <sys/stat.h>

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <ctime>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/credentials/jwt.hpp"
#include "bottle/egress/broker_request.hpp"
#include "core/json_reader.hpp"
#include "egress/host_file_lock.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

using Failure = TokenBroker::Failure;

constexpr std::string_view claude_access_prefix = "sk-ant-oat01-";

bool is_permanent_code(std::string_view code) {
  return code == "refresh_token_expired" || code == "refresh_token_reused" || code == "refresh_token_invalidated" ||
         code == "invalid_grant";
}

// RFC 6901 tokens of the refresh pointer.
std::vector<std::string> pointer_parts(std::string_view pointer) {
  auto parts = detail::json_pointer_tokens(pointer);
  if (!parts) throw Failure(false, "broker refresh pointer is not a JSON pointer");
  return std::move(*parts);
}

// The object holding the pointer's last key: the token block. Object is json::object
// or const json::object.
template <class Object>
Object& token_block(Object& document, std::string_view pointer) {
  const std::vector<std::string> parts = pointer_parts(pointer);
  Object* node = &document;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    auto* next = node->if_contains(parts[i]);
    if (next == nullptr || !next->is_object()) throw Failure(false, "host file has no token block");
    node = &next->as_object();
  }
  return *node;
}

std::string string_member(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

json::object jwt_payload(std::string_view token) {
  try {
    return decode_jwt(token, "host token").payload;
  } catch (const Error&) { throw Failure(false, "host token is not a JWT"); }
}

// A JSON number that is not a bool, as a double (Python's isinstance(x, (int, float))).
std::optional<double> number_of(const json::value* value) {
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return static_cast<double>(value->as_int64());
  if (value->is_uint64()) return static_cast<double>(value->as_uint64());
  if (value->is_double()) return value->as_double();
  return std::nullopt;
}

// Where Codex looks for the code: error.code, error (a string), code.
std::string error_code(const json::object& reply) {
  if (const json::value* error = reply.if_contains("error")) {
    if (error->is_object()) {
      const json::value* code = error->as_object().if_contains("code");
      if (code != nullptr && code->is_string()) return std::string(code->as_string());
    }
    if (error->is_string()) return std::string(error->as_string());
  }
  return string_member(reply, "code");
}

std::string rfc3339_now(double now) {
  const auto seconds = static_cast<std::time_t>(std::floor(now));
  const auto micros = static_cast<long>(std::llround((now - std::floor(now)) * 1e6));
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, std::min(micros, 999999L));
}

BrokerAnswer failure_answer(std::string_view kind, const Failure& failure) {
  if (failure.permanent) {
    const std::string message = "The host's login has expired or was revoked. Sign in again on the host.";
    if (kind == "codex")  // Codex classifies 401 / refresh_token_expired as permanent
      return {401,
              json::serialize(json::object{{"error", {{"code", "refresh_token_expired"}, {"message", message}}}}),
              "permanent",
              failure.what(),
              "",
              {}};
    return {400,         json::serialize(json::object{{"error", "invalid_grant"}, {"error_description", message}}),
            "permanent", failure.what(),
            "",          {}};
  }
  return {503,
          json::serialize(json::object{{"error",
                                        {{"code", "temporarily_unavailable"},
                                         {"message", "bottle token broker is temporarily unable to refresh"}}}}),
          "transient",
          failure.what(),
          "",
          {}};
}

// Replace the host file (a symlink's target) keeping its mode; temp + fsync + rename.
void write_back(const std::filesystem::path& host_file, const std::string& text) {
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::canonical(host_file, ec);
  struct stat st {};
  if (ec || ::stat(target.c_str(), &st) != 0) throw Failure(false, "cannot write the host credential file (gone)");
  try {
    write_file_atomic(target, text, st.st_mode & 07777);
  } catch (const Error&) {
    // The rotated token is lost with this failure; the host must log in again if
    // upstream already consumed the old one. Say so without a secret.
    throw Failure(false, "cannot write the host credential file");
  }
}

}  // namespace

double broker_wall_clock() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TokenBroker::TokenBroker(EgressBroker config, std::filesystem::path host_file, TokenBrokerOptions options)
    : config_(std::move(config)), host_file_(std::move(host_file)), options_(std::move(options)) {}

BrokerAnswer TokenBroker::answer(std::string_view method, std::string_view path, std::string_view body,
                                 std::string_view content_type) {
  BrokerVerdict verdict = classify_broker_request(config_, method, path, body, content_type);
  if (verdict.kind != BrokerVerdict::Kind::refresh)
    return {verdict.status, std::move(verdict.body_json), std::move(verdict.event), std::move(verdict.reason), "", {}};
  try {
    return mint(current_host_login(), verdict.refresh_token);
  } catch (const Failure& failure) { return failure_answer(config_.kind, failure); }
}

json::object TokenBroker::read_host() const {
  std::string text;
  try {
    text = read_file(host_file_);
  } catch (const Error&) { throw Failure(false, "cannot read host credential file"); }
  json::error_code ec;
  json::value document = json::parse(text, ec);
  if (ec) throw Failure(false, "host credential file is not valid JSON");
  if (!document.is_object()) throw Failure(false, "host credential file is not a JSON object");
  return std::move(document.as_object());
}

std::optional<double> TokenBroker::expires_at(const json::object& document) const {
  const json::object& block = token_block(document, config_.refresh_pointer);
  if (config_.kind == "codex") {
    const json::value* access = block.if_contains("access_token");
    if (access == nullptr || !access->is_string()) throw Failure(false, "host file has no access token");
    return number_of(jwt_payload(access->as_string()).if_contains("exp"));
  }
  const std::optional<double> ms = number_of(block.if_contains("expiresAt"));
  if (!ms) throw Failure(false, "host file has no expiresAt");
  return *ms / 1000.0;
}

bool TokenBroker::fresh(const json::object& document) const {
  const std::optional<double> expires = expires_at(document);
  return !expires || *expires > options_.clock() + static_cast<double>(options_.refresh_window_s);
}

TokenBroker::HostLogin TokenBroker::current_host_login() {
  json::object document = read_host();
  if (fresh(document)) return {std::move(document), false, {}};
  if (config_.host_refreshes) {
    // The copy has no refresh token: what it holds is all there is until the host
    // pushes the next one. A token still valid serves; a lapsed one is "not now",
    // never "sign in again" (the host's login may be fine).
    if (expires_at(document).value_or(0) > options_.clock()) return {std::move(document), false, {}};
    throw Failure(false, "the host refreshes this login and has not pushed a fresh one yet");
  }
  try {
    const detail::HostFileLock lock(host_file_, options_.lock_timeout);
    document = read_host();  // someone (the host CLI, another bottle) may have refreshed meanwhile
    if (fresh(document)) return {std::move(document), false, {}};
    return refresh_host(std::move(document));
  } catch (const detail::HostFileLock::Unavailable& e) { throw Failure(false, e.what()); }
}

TokenBroker::HostLogin TokenBroker::refresh_host(json::object document) {
  json::object& block = token_block(document, config_.refresh_pointer);
  const std::string real_refresh = string_member(block, pointer_parts(config_.refresh_pointer).back());
  if (real_refresh.empty()) throw Failure(true, "host file has no refresh token");
  const json::value* own_client = block.if_contains("clientId");
  const std::string client_id =
      own_client != nullptr && own_client->is_string() ? std::string(own_client->as_string()) : config_.client_id;
  const std::string request = json::serialize(
      json::object{{"client_id", client_id}, {"grant_type", "refresh_token"}, {"refresh_token", real_refresh}});

  UpstreamTokenReply reply;
  try {
    reply = options_.fetch(config_.token_url, request);
  } catch (...) {  // network, TLS, proxy: transient, and the exception's text may quote anything
    throw Failure(false, "upstream refresh failed (no answer)");
  }
  json::error_code ec;
  json::value parsed = json::parse(reply.body.empty() ? std::string_view("{}") : std::string_view(reply.body), ec);
  const json::object answer = !ec && parsed.is_object() ? std::move(parsed.as_object()) : json::object{};
  if (reply.status != 200) {
    const std::string code = error_code(answer);
    if (reply.status == 401 || is_permanent_code(code))
      throw Failure(true, fmt::format("upstream refresh rejected (HTTP {}, {})", reply.status,
                                      is_permanent_code(code) ? code : (code.empty() ? "no code" : "other code")));
    throw Failure(false, fmt::format("upstream refresh failed (HTTP {})", reply.status));
  }
  if (string_member(answer, "access_token").empty())
    throw Failure(false, "upstream refresh answered without an access token");

  const double now = options_.clock();
  json::object extra;
  if (config_.kind == "codex") {
    for (const char* key : {"id_token", "access_token", "refresh_token"}) {
      const std::string value = string_member(answer, key);
      if (!value.empty()) block[key] = value;
    }
    jwt_payload(string_member(block, "access_token"));  // refuse to store garbage
    document["last_refresh"] = rfc3339_now(now);
  } else {
    block["accessToken"] = string_member(answer, "access_token");
    const std::string rotated = string_member(answer, "refresh_token");
    if (!rotated.empty()) block["refreshToken"] = rotated;
    if (const std::optional<double> expires_in = number_of(answer.if_contains("expires_in")))
      block["expiresAt"] = static_cast<std::int64_t>(now * 1000 + *expires_in * 1000);
    const std::string scope = string_member(answer, "scope");
    if (scope.find_first_not_of(" \t\r\n\f\v") != std::string::npos) {
      json::array scopes;
      std::size_t at = 0;
      while ((at = scope.find_first_not_of(" \t\r\n\f\v", at)) != std::string::npos) {
        const std::size_t end = scope.find_first_of(" \t\r\n\f\v", at);
        scopes.emplace_back(scope.substr(at, end == std::string::npos ? std::string::npos : end - at));
        at = end;
      }
      block["scopes"] = std::move(scopes);
    }
    for (const char* key : {"account", "organization"})
      if (const json::value* value = answer.if_contains(key)) extra[key] = *value;
  }
  write_back(host_file_, detail::pretty_json(document));
  return {std::move(document), true, std::move(extra)};
}

BrokerAnswer TokenBroker::mint(const HostLogin& login, const std::string& dummy_refresh_token) const {
  const double now = options_.clock();
  const json::object& block = token_block(login.document, config_.refresh_pointer);
  const std::string event = login.refreshed ? "refreshed" : "minted";
  if (config_.kind == "codex") {
    const json::object access_payload = jwt_payload(string_member(block, "access_token"));
    const json::value* id_token = block.if_contains("id_token");
    const json::object id_payload =
        id_token != nullptr && id_token->is_string() ? jwt_payload(id_token->as_string()) : access_payload;
    const std::string new_access = mint_dummy_jwt(access_payload, options_.random);
    const std::string new_id = mint_dummy_jwt(id_payload, options_.random);
    json::object body{{"id_token", new_id},
                      {"access_token", new_access},
                      {"refresh_token", dummy_refresh_token},
                      {"token_type", "Bearer"}};
    if (const json::value* exp = access_payload.if_contains("exp"); exp != nullptr && exp->is_int64())
      body["expires_in"] =
          std::max<std::int64_t>(0, static_cast<std::int64_t>(static_cast<double>(exp->as_int64()) - now));
    return {200, json::serialize(body), event, "", new_access, {new_id, dummy_refresh_token}};
  }
  const std::string new_access = std::string(claude_access_prefix) + random_base64url(71, options_.random);
  const std::optional<double> expires_ms = number_of(block.if_contains("expiresAt"));
  if (!expires_ms) throw Failure(false, "host file has no expiresAt");
  std::string scope;
  if (const json::value* scopes = block.if_contains("scopes"); scopes != nullptr && scopes->is_array()) {
    for (const json::value& s : scopes->as_array()) {
      if (!scope.empty()) scope += ' ';
      scope += s.is_string() ? std::string(s.as_string()) : json::serialize(s);
    }
  }
  json::object body{{"token_type", "Bearer"},
                    {"access_token", new_access},
                    {"refresh_token", dummy_refresh_token},
                    {"expires_in", std::max<std::int64_t>(0, static_cast<std::int64_t>(*expires_ms / 1000.0 - now))},
                    {"scope", scope}};
  for (const auto& member : login.extra) body[member.key()] = member.value();
  return {200, json::serialize(body), event, "", new_access, {dummy_refresh_token}};
}

}  // namespace bottle
