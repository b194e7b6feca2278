// The native token broker's refresh side (egress/token_broker): minting from a fresh
// host login, one upstream refresh under the host-file lock, the write-back, and the
// permanent and transient answers, as tests/oracle/egress-addon/bottle_broker.py does.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/credentials/jwt.hpp"
#include "bottle/egress/token_broker.hpp"
#include "temp_dir.hpp"

namespace json = boost::json;
using bottle::TokenBroker;

namespace {

constexpr double now_s = 1'800'000'000.0;
constexpr std::string_view real_refresh = "rt-REAL-host-refresh-0123456789";
constexpr std::string_view placeholder = "rt_bottle_placeholder";

std::string jwt(const json::object& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         bottle::base64url_encode(json::serialize(payload)) + ".c2ln";
}

std::string real_access(std::int64_t exp, std::string_view marker = "REAL-ACCESS") {
  return jwt({{"exp", exp}, {"sub", marker}, {"https://api.openai.com/auth", {{"chatgpt_account_id", "acct-1"}}}});
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const std::filesystem::path& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

std::string codex_auth(std::int64_t access_exp) {
  return json::serialize(json::object{{"OPENAI_API_KEY", nullptr},
                                      {"tokens",
                                       {{"id_token", jwt({{"exp", access_exp}, {"email", "dev@example.com"}})},
                                        {"access_token", real_access(access_exp)},
                                        {"refresh_token", real_refresh},
                                        {"account_id", "acct-1"}}},
                                      {"last_refresh", "2026-01-01T00:00:00Z"}});
}

std::string claude_credentials(std::int64_t expires_at_ms) {
  return json::serialize(json::object{{"claudeAiOauth",
                                       {{"accessToken", "sk-ant-oat01-REAL-ACCESS"},
                                        {"refreshToken", "sk-ant-ort01-REAL-REFRESH"},
                                        {"expiresAt", expires_at_ms},
                                        {"scopes", json::array{"user:inference"}},
                                        {"subscriptionType", "max"}}}});
}

json::object parse(const std::string& text) { return json::parse(text).as_object(); }

struct FetchLog {
  std::atomic<int> calls{0};
  std::string last_url;
  std::string last_body;
};

bottle::TokenBrokerOptions options(FetchLog& log, const bottle::UpstreamTokenReply& reply,
                                   std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  bottle::TokenBrokerOptions o;
  o.clock = [] { return now_s; };
  o.fetch = [&log, reply, delay](const std::string& url, const std::string& body) {
    ++log.calls;
    log.last_url = url;
    log.last_body = body;
    std::this_thread::sleep_for(delay);
    return reply;
  };
  return o;
}

bottle::BrokerAnswer refresh(TokenBroker& broker) {
  return broker.answer("POST", "/oauth/token",
                       json::serialize(json::object{{"grant_type", "refresh_token"}, {"refresh_token", placeholder}}),
                       "application/json");
}

}  // namespace

TEST_CASE("token broker: a fresh host login is minted from without an upstream call", "[egress-broker]") {
  TempDir dir;
  const auto host_file = dir.path() / "auth.json";
  const std::string before = codex_auth(static_cast<std::int64_t>(now_s) + 3600);
  write(host_file, before);
  FetchLog log;
  TokenBroker broker(bottle::codex_egress_broker(), host_file, options(log, {500, ""}));

  const bottle::BrokerAnswer answer = refresh(broker);
  CHECK(answer.status == 200);
  CHECK(answer.event == "minted");
  CHECK(log.calls == 0);
  CHECK(read(host_file) == before);
  const json::object body = parse(answer.body_json);
  CHECK(body.at("refresh_token").as_string() == placeholder);
  CHECK(body.at("token_type").as_string() == "Bearer");
  CHECK(body.at("expires_in").as_int64() == 3600);
  const json::object access = bottle::decode_jwt(body.at("access_token").as_string(), "access").payload;
  CHECK(bottle::is_dummy_jwt_payload(access));
  CHECK(access.at("https://api.openai.com/auth").as_object().at("chatgpt_account_id").as_string() == "acct-1");
  CHECK(bottle::decode_jwt(body.at("id_token").as_string(), "id").payload.at("email").as_string() == "dev@example.com");
  CHECK(answer.new_dummy == body.at("access_token").as_string());
  CHECK(answer.new_guarded ==
        std::vector<std::string>{std::string(body.at("id_token").as_string()), std::string(placeholder)});
  CHECK(answer.body_json.find("REAL") == std::string::npos);
}

TEST_CASE("token broker: an expiring codex login is refreshed once and written back", "[egress-broker]") {
  TempDir dir;
  const auto target = dir.path() / "dotfiles-auth.json";
  const auto host_file = dir.path() / "auth.json";
  write(target, codex_auth(static_cast<std::int64_t>(now_s) + 60), 0640);
  std::filesystem::create_symlink(target, host_file);
  const std::string rotated_access = real_access(static_cast<std::int64_t>(now_s) + 7200, "ROTATED-ACCESS");
  FetchLog log;
  TokenBroker broker(bottle::codex_egress_broker(), host_file,
                     options(log, {200, json::serialize(json::object{{"access_token", rotated_access},
                                                                     {"refresh_token", "rt-ROTATED"},
                                                                     {"id_token", jwt({{"email", "new@x"}})}})}));

  const bottle::BrokerAnswer answer = refresh(broker);
  CHECK(answer.status == 200);
  CHECK(answer.event == "refreshed");
  CHECK(log.calls == 1);
  CHECK(log.last_url == "https://auth.openai.com/oauth/token");
  const json::object sent = parse(log.last_body);
  CHECK(sent.at("grant_type").as_string() == "refresh_token");
  CHECK(sent.at("refresh_token").as_string() == real_refresh);
  CHECK(sent.at("client_id").as_string() == bottle::codex_egress_broker().client_id);

  // The symlink stays; its target holds the rotated tokens, every other field, its mode.
  CHECK(std::filesystem::is_symlink(host_file));
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  const json::object stored = parse(read(target));
  CHECK(stored.at("tokens").at("access_token").as_string() == rotated_access);
  CHECK(stored.at("tokens").at("refresh_token").as_string() == "rt-ROTATED");
  CHECK(stored.at("tokens").at("account_id").as_string() == "acct-1");
  CHECK(stored.at("OPENAI_API_KEY").is_null());
  CHECK(stored.at("last_refresh").as_string() == "2027-01-15T08:00:00.000000Z");
  CHECK(parse(answer.body_json).at("expires_in").as_int64() == 7200);
  CHECK(answer.body_json.find("ROTATED") == std::string::npos);
  CHECK(answer.body_json.find("REAL") == std::string::npos);
  // The lock is on the host file itself: no lock file and no temp file stay behind.
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"auth.json", "dotfiles-auth.json"});
}

TEST_CASE("token broker: a claude refresh keeps scopes, expiry and the account fields", "[egress-broker]") {
  TempDir dir;
  const auto host_file = dir.path() / ".credentials.json";
  write(host_file, claude_credentials(static_cast<std::int64_t>(now_s * 1000) + 30'000));
  FetchLog log;
  TokenBroker broker(bottle::claude_egress_broker(), host_file,
                     options(log, {200, json::serialize(json::object{{"access_token", "sk-ant-oat01-ROTATED"},
                                                                     {"refresh_token", "sk-ant-ort01-ROTATED"},
                                                                     {"expires_in", 28800},
                                                                     {"scope", " user:inference  user:profile "},
                                                                     {"account", {{"uuid", "a-1"}}}})}));
  const bottle::BrokerAnswer answer =
      broker.answer("POST", "/v1/oauth/token", "grant_type=refresh_token&refresh_token=sk-ant-ort01-placeholder",
                    "application/x-www-form-urlencoded");
  CHECK(answer.status == 200);
  CHECK(log.calls == 1);
  CHECK(parse(log.last_body).at("refresh_token").as_string() == "sk-ant-ort01-REAL-REFRESH");
  const json::object stored = parse(read(host_file)).at("claudeAiOauth").as_object();
  CHECK(stored.at("accessToken").as_string() == "sk-ant-oat01-ROTATED");
  CHECK(stored.at("refreshToken").as_string() == "sk-ant-ort01-ROTATED");
  CHECK(stored.at("expiresAt").as_int64() == static_cast<std::int64_t>(now_s * 1000) + 28'800'000);
  CHECK(stored.at("scopes") == json::array{"user:inference", "user:profile"});
  CHECK(stored.at("subscriptionType").as_string() == "max");
  const json::object body = parse(answer.body_json);
  CHECK(body.at("access_token").as_string().starts_with("sk-ant-oat01-"));
  CHECK(body.at("access_token").as_string().size() == 13 + 95);
  CHECK(body.at("refresh_token").as_string() == "sk-ant-ort01-placeholder");
  CHECK(body.at("expires_in").as_int64() == 28800);
  CHECK(body.at("scope").as_string() == "user:inference user:profile");
  CHECK(body.at("account").at("uuid").as_string() == "a-1");
  CHECK(answer.body_json.find("ROTATED") == std::string::npos);
}

TEST_CASE("token broker: a dead host session is sign-in-again and the host file is untouched", "[egress-broker]") {
  TempDir dir;
  const auto codex_file = dir.path() / "auth.json";
  const std::string codex_before = codex_auth(static_cast<std::int64_t>(now_s) - 10);
  write(codex_file, codex_before);
  FetchLog log;
  TokenBroker codex(bottle::codex_egress_broker(), codex_file,
                    options(log, {400, R"({"error":{"code":"refresh_token_reused","message":"x"}})"}));
  const bottle::BrokerAnswer dead = refresh(codex);
  CHECK(dead.status == 401);
  CHECK(parse(dead.body_json).at("error").at("code").as_string() == "refresh_token_expired");
  CHECK(dead.event == "permanent");
  CHECK(read(codex_file) == codex_before);

  const auto claude_file = dir.path() / ".credentials.json";
  write(claude_file, claude_credentials(static_cast<std::int64_t>(now_s * 1000)));
  TokenBroker claude(bottle::claude_egress_broker(), claude_file, options(log, {401, ""}));
  const bottle::BrokerAnswer revoked =
      claude.answer("POST", "/v1/oauth/token", R"({"grant_type":"refresh_token","refresh_token":"p"})", "");
  CHECK(revoked.status == 400);
  CHECK(parse(revoked.body_json).at("error").as_string() == "invalid_grant");
}

TEST_CASE("token broker: upstream trouble is a 503 that quotes nothing", "[egress-broker]") {
  TempDir dir;
  const auto host_file = dir.path() / "auth.json";
  const std::string before = codex_auth(static_cast<std::int64_t>(now_s) + 10);
  write(host_file, before);
  FetchLog log;
  TokenBroker server_error(bottle::codex_egress_broker(), host_file, options(log, {502, "<html>bad gateway</html>"}));
  const bottle::BrokerAnswer bad_gateway = refresh(server_error);
  CHECK(bad_gateway.status == 503);
  CHECK(bad_gateway.event == "transient");
  CHECK(bad_gateway.reason == "upstream refresh failed (HTTP 502)");

  bottle::TokenBrokerOptions throwing = options(log, {200, ""});
  throwing.fetch = [](const std::string&, const std::string& body) -> bottle::UpstreamTokenReply {
    throw std::runtime_error("connect failed while sending " + body);
  };
  TokenBroker no_answer(bottle::codex_egress_broker(), host_file, throwing);
  const bottle::BrokerAnswer network = refresh(no_answer);
  CHECK(network.status == 503);
  CHECK(network.reason.find(real_refresh) == std::string::npos);
  CHECK(network.body_json.find(real_refresh) == std::string::npos);

  TokenBroker empty(bottle::codex_egress_broker(), host_file, options(log, {200, R"({"token_type":"Bearer"})"}));
  CHECK(refresh(empty).reason == "upstream refresh answered without an access token");
  CHECK(read(host_file) == before);
}

TEST_CASE("token broker: bottles refreshing at once make one upstream call", "[egress-broker]") {
  TempDir dir;
  const auto host_file = dir.path() / "auth.json";
  write(host_file, codex_auth(static_cast<std::int64_t>(now_s) + 10));
  FetchLog log;
  const std::string rotated = real_access(static_cast<std::int64_t>(now_s) + 7200, "ROTATED");
  // A slow upstream widens the window in which the others would refresh too.
  const auto opts =
      options(log, {200, json::serialize(json::object{{"access_token", rotated}})}, std::chrono::milliseconds(200));
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      TokenBroker broker(bottle::codex_egress_broker(), host_file, opts);
      if (refresh(broker).status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 4);
  CHECK(log.calls == 1);
  CHECK(parse(read(host_file)).at("tokens").at("access_token").as_string() == rotated);
}

TEST_CASE("token broker: a host file locked elsewhere past the timeout is a 503", "[egress-broker]") {
  TempDir dir;
  const auto host_file = dir.path() / "auth.json";
  write(host_file, codex_auth(static_cast<std::int64_t>(now_s) + 10));
  // Another process's refresher (the Python broker, the host's ensure-fresh) holds it.
  const int holder = ::open(host_file.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(holder >= 0);
  REQUIRE(::flock(holder, LOCK_EX) == 0);
  FetchLog log;
  auto opts = options(log, {200, "{}"});
  opts.lock_timeout = std::chrono::milliseconds(200);
  TokenBroker broker(bottle::codex_egress_broker(), host_file, opts);
  const bottle::BrokerAnswer answer = refresh(broker);
  ::close(holder);
  CHECK(answer.status == 503);
  CHECK(answer.reason == "lock timeout");
  CHECK(log.calls == 0);
}

TEST_CASE("token broker: revoke is answered locally and other grants are refused", "[egress-broker]") {
  TempDir dir;
  const auto host_file = dir.path() / "auth.json";
  write(host_file, codex_auth(static_cast<std::int64_t>(now_s) + 3600));
  FetchLog log;
  TokenBroker broker(bottle::codex_egress_broker(), host_file, options(log, {200, "{}"}));
  CHECK(broker.answer("POST", "/oauth/revoke", "", "").status == 200);
  CHECK(broker.answer("POST", "/oauth/token", "grant_type=authorization_code&code=x", "").status == 403);
  CHECK(broker.answer("GET", "/oauth/token", "", "").status == 405);
  CHECK(log.calls == 0);
}

TEST_CASE("token broker: when the host refreshes it mints from the pushed copy and never asks the vendor",
          "[egress-broker]") {
  TempDir dir;
  const auto copy = dir.path() / "value-0";
  bottle::EgressBroker config = bottle::codex_egress_broker();
  config.host_refreshes = true;
  FetchLog log;

  // Inside the refresh window but still valid: minted from, no refresh attempted
  // (the copy has no refresh token; the host pushes the next one).
  json::object pushed = parse(codex_auth(static_cast<std::int64_t>(now_s) + 60));
  pushed.at("tokens").as_object().erase("refresh_token");
  write(copy, json::serialize(pushed), 0440);
  TokenBroker broker(config, copy, options(log, {200, R"({"access_token":"x"})"}));
  bottle::BrokerAnswer answer = refresh(broker);
  CHECK(answer.status == 200);
  CHECK(answer.event == "minted");
  CHECK(parse(answer.body_json).at("expires_in").as_int64() == 60);

  // Lapsed: "not now" (503), never "sign in again", and still no vendor call.
  pushed = parse(codex_auth(static_cast<std::int64_t>(now_s) - 1));
  pushed.at("tokens").as_object().erase("refresh_token");
  write(copy, json::serialize(pushed), 0440);
  answer = refresh(broker);
  CHECK(answer.status == 503);
  CHECK(answer.event == "transient");
  CHECK(answer.reason == "the host refreshes this login and has not pushed a fresh one yet");
  CHECK(log.calls == 0);

  // The same copy without host_refreshes would be the dead session it looks like.
  TokenBroker refreshing(bottle::codex_egress_broker(), copy, options(log, {200, R"({"access_token":"x"})"}));
  CHECK(refresh(refreshing).event == "permanent");
  CHECK(log.calls == 0);
}
