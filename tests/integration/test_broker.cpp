// The token broker: the Python broker's logic tests (tests/integration/broker_test.py, of the reference broker
// tests/oracle/egress-addon/bottle_broker.py), then bottle-egress's broker, started as bottle starts it
// (bottle_egress_argv), driven by curl, against fake_net.py's token endpoints reached through a parent proxy standing
// in for pipelock. All on 127.0.0.1; nothing leaves the machine. Token values are test strings; assertions test
// booleans so none is printed.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/temp_dir.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/credentials/jwt.hpp"
#include "bottle/egress/egress_config.hpp"
#include "net_harness.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace net_harness;

namespace {

const std::string codex_dummy_at = "dummy-codex-access-0001";
const std::string codex_dummy_rt = "bottle-dummy-refresh-0001";
const std::string claude_dummy_at = "sk-ant-oat01-dummy-0002";
const std::string claude_dummy_rt = "sk-ant-ort01-dummy-0002";

struct Reply {
  int status = 0;
  std::string body;
};

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string b64url(const std::string& s) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : s) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(abc[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(abc[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}

std::string real_jwt(std::int64_t exp, const std::string& tag) {
  const json::object auth{{"chatgpt_account_id", "acct-1"}, {"chatgpt_plan_type", "plus"}};
  const json::object payload{{"exp", exp}, {"iat", exp - 3600}, {"tag", tag}, {"https://api.openai.com/auth", auth}};
  return b64url(R"({"alg":"RS256"})") + "." + b64url(json::serialize(payload)) + "." + b64url("sig");
}

std::string codex_host_auth(std::int64_t exp) {
  const json::object tokens{{"id_token", real_jwt(exp, "real-id")},
                            {"access_token", real_jwt(exp, "real-access")},
                            {"refresh_token", "rt-0"},
                            {"account_id", "acct-1"}};
  return json::serialize(json::object{{"auth_mode", "chatgpt"},
                                      {"OPENAI_API_KEY", nullptr},
                                      {"tokens", tokens},
                                      {"last_refresh", "2026-01-01T00:00:00Z"},
                                      {"keep_me", "yes"}});
}

std::string claude_host_credentials(std::int64_t expires_at_ms) {
  const json::object oauth{{"accessToken", "at-0"},
                           {"refreshToken", "rt-0"},
                           {"expiresAt", expires_at_ms},
                           {"scopes", json::array{"user:inference"}},
                           {"subscriptionType", "max"}};
  return json::serialize(json::object{{"claudeAiOauth", oauth}, {"mcpOAuth", json::object{{"x", 1}}}});
}

void set_token_endpoint(const fs::path& state, const std::string& mode, const std::string& refresh_token, int count = 0,
                        double delay = 0) {
  replace_file(state, json::serialize(json::object{
                          {"mode", mode}, {"refresh_token", refresh_token}, {"count", count}, {"delay", delay}}));
}

int refreshes_served(const fs::path& state) {
  return static_cast<int>(json::parse(read_file(state)).as_object().at("count").as_int64());
}

// Certificates for every host the fake upstream plays here.
void make_broker_certs(const fs::path& dir) {
  const auto d = dir.string();
  write_file(dir / "ext.cnf",
             "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
             "subjectAltName=DNS:chatgpt.com,DNS:api.anthropic.com,DNS:auth.openai.com,DNS:platform.claude.com\n");
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/ca.key", "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=bottle broker test CA"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=auth.openai.com"},
      {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
       "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/ext.cnf"},
  };
  for (const auto& argv : steps) {
    const auto r = run(argv);
    INFO(r.err);
    REQUIRE(r.ok());
  }
}

class BrokerEgress {
 public:
  BrokerEgress(const std::vector<bottle::EgressRoute>& routes,
               const std::map<std::string, bottle::EgressBroker>& brokers) {
    const fs::path& d = dir_.path();
    make_broker_certs(d);
    set_token_endpoint(tokens(), "rotate", "rt-0");
    net_.emplace(
        std::vector<std::string>{"env", "FAKE_NET_TOKENS=" + tokens().string(), "python3", fake_net_script(), "serve",
                                 (d / "server.pem").string(), (d / "server.key").string(), (d / "ports.json").string(),
                                 upstream_log().string(), (d / "parent.log").string()},
        d / "fake_net.out");
    REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
    parent_port_ = json::parse(read_file(d / "ports.json")).as_object().at("parent").as_int64();
    write_file(d / "routes.json", bottle::render_egress_routes(routes, brokers));
    port_ = free_port();
    start();
  }

  void start() {
    const fs::path& d = dir_.path();
    if (!fs::exists(d / "conf" / "mitmproxy-ca.pem"))
      argv_ = egress_test_argv(d, port_, static_cast<std::uint16_t>(parent_port_));
    egress_.emplace(argv_, egress_log());
    const bool up = wait_until([&] { return !egress_->running() || port_open(port_); }, 30s);
    INFO("egress log:\n" << read_file(egress_log()));
    REQUIRE(up);
    REQUIRE(egress_->running());
  }

  void restart() {
    egress_.reset();
    REQUIRE(wait_until([&] { return !port_open(port_); }, 10s));
    start();
  }

  fs::path path(const std::string& name) const { return dir_.path() / name; }
  fs::path tokens() const { return path("tokens.json"); }
  fs::path egress_log() const { return path("egress.log"); }
  fs::path upstream_log() const { return path("upstream.log"); }
  fs::path ca() const { return path("conf/mitmproxy-ca-cert.pem"); }

  // Thread-safe (no Catch2 macros): status -1 when curl itself failed.
  Reply curl(const std::string& url, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"curl",       "-sS",
                                     "--max-time", "40",
                                     "--noproxy",  "",
                                     "--proxy",    "http://127.0.0.1:" + std::to_string(port_),
                                     "--cacert",   ca().string(),
                                     "-w",         "\n%{http_code}",
                                     url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    bottle::SystemRunner runner;
    const auto r = runner.run({.argv = std::move(argv)});
    if (!r.ok()) return {-1, r.err};
    const auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }

  Reply refresh(const std::string& url, const std::string& dummy_rt, const std::string& client_id) const {
    const json::object body{{"client_id", client_id}, {"grant_type", "refresh_token"}, {"refresh_token", dummy_rt}};
    return curl(url, {"-H", "Content-Type: application/json", "--data", json::serialize(body)});
  }

  // The value of header `name` the upstream received for the last request to `url_path`.
  std::optional<std::string> upstream_header(const std::string& url_path, const std::string& name) const {
    std::optional<std::string> found;
    std::istringstream lines(read_file(upstream_log()));
    for (std::string line; std::getline(lines, line);) {
      const auto rec = json::parse(line).as_object();
      if (rec.at("path").as_string() != url_path) continue;
      const auto& headers = rec.at("headers").as_object();
      found = headers.contains(name) ? std::string(headers.at(name).as_string()) : "<none>";
    }
    return found;
  }

 private:
  TempDir dir_;
  std::optional<Daemon> net_;
  std::optional<Daemon> egress_;
  std::vector<std::string> argv_;  ///< bottle-egress's, kept across restarts (same CA and port)
  std::int64_t parent_port_ = 0;
  std::uint16_t port_ = 0;
};

bottle::EgressRoute route(std::string name, std::string host, std::string dummy, const fs::path& file,
                          std::string pointer) {
  return {.name = std::move(name),
          .hosts = {std::move(host)},
          .header = "Authorization",
          .dummy = std::move(dummy),
          .value_file = file.string(),
          .value_json_pointer = std::move(pointer)};
}

json::object body_json(const Reply& r) {
  const auto v = json::parse(r.body);
  return v.is_object() ? v.as_object() : json::object{};
}

json::object jwt_payload(const json::value& token) {
  return bottle::decode_jwt(std::string(token.as_string()), "token").payload;
}

unsigned file_mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("token broker: logic (python3 -m unittest broker_test)", "[broker]") {
  bottle::SystemRunner runner;
  const auto r =
      runner.run({.argv = {"python3", "-m", "unittest", "-v", "broker_test"},
                  .env = {{"BOTTLE_EGRESS_DIR", std::string(test_paths::source_dir) + "/tests/oracle/egress-addon"},
                          {"PYTHONPATH", "/usr/lib/python3/dist-packages"}},
                  .cwd = std::string(test_paths::source_dir) + "/tests/integration"});
  INFO(r.out << r.err);
  REQUIRE(r.started());
  CHECK(r.code == 0);
  CHECK(contains(r.err, "\nOK"));
}

TEST_CASE("token broker: codex and claude refreshes answered by egress, host login kept alive", "[broker]") {
  TempDir host;
  const auto codex_file = host.path() / "codex" / "auth.json";
  const auto claude_file = host.path() / "claude" / ".credentials.json";
  fs::create_directories(codex_file.parent_path());
  fs::create_directories(claude_file.parent_path());
  const std::int64_t host_exp = now_s() + 3600;
  write_file(codex_file, codex_host_auth(host_exp));
  fs::permissions(codex_file, fs::perms(0640));
  const std::int64_t claude_exp = now_s() + 7200;
  write_file(claude_file, claude_host_credentials(claude_exp * 1000));
  fs::permissions(claude_file, fs::perms(0600));

  auto codex_broker = bottle::codex_egress_broker();
  codex_broker.dummy_refresh_tokens = {codex_dummy_rt};
  auto claude_broker = bottle::claude_egress_broker();
  claude_broker.dummy_refresh_tokens = {claude_dummy_rt};
  BrokerEgress egress(
      {route("codex-chatgpt", "chatgpt.com", codex_dummy_at, codex_file, "/tokens/access_token"),
       route("claude-oauth", "api.anthropic.com", claude_dummy_at, claude_file, "/claudeAiOauth/accessToken")},
      {{"codex-chatgpt", codex_broker}, {"claude-oauth", claude_broker}});
  const std::string codex_token_url = "https://auth.openai.com/oauth/token";
  const std::string claude_token_url = "https://platform.claude.com/v1/oauth/token";
  const std::string codex_client = "app_EMoamEEZ73f0CkXaXp7hrann";
  const std::string claude_client = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

  // Host token fresh: fresh dummies with the real exp, no upstream call.
  const auto minted = egress.refresh(codex_token_url, codex_dummy_rt, codex_client);
  REQUIRE(minted.status == 200);
  auto answer = body_json(minted);
  CHECK(refreshes_served(egress.tokens()) == 0);
  CHECK(answer.at("refresh_token") == json::value(codex_dummy_rt));
  const auto at = jwt_payload(answer.at("access_token"));
  const auto id = jwt_payload(answer.at("id_token"));
  CHECK(at.at("exp").as_int64() == host_exp);
  CHECK(id.at("exp").as_int64() == host_exp);
  CHECK(at.at("bottle_dummy").as_bool());
  CHECK(id.at("https://api.openai.com/auth").as_object().at("chatgpt_account_id") == "acct-1");
  CHECK(std::abs(answer.at("expires_in").as_int64() - (host_exp - now_s())) <= 2);
  CHECK_FALSE(contains(read_file(egress.upstream_log()), codex_dummy_rt));  // never went upstream

  // The newly minted dummy is swapped like the original one (and survives a restart).
  const std::string new_dummy(answer.at("access_token").as_string());
  const std::string real_at(json::parse(read_file(codex_file)).at("tokens").at("access_token").as_string());
  CHECK(egress.curl("https://chatgpt.com/with-new-dummy", {"-H", "Authorization: Bearer " + new_dummy}).status == 200);
  CHECK((egress.upstream_header("/with-new-dummy", "Authorization") == "Bearer " + real_at));
  CHECK(egress.curl("https://chatgpt.com/with-old-dummy", {"-H", "Authorization: Bearer " + codex_dummy_at}).status ==
        200);
  CHECK((egress.upstream_header("/with-old-dummy", "Authorization") == "Bearer " + real_at));
  CHECK(egress.curl("https://api.anthropic.com/leak", {"-H", "Authorization: Bearer " + new_dummy}).status == 403);
  egress.restart();
  CHECK(egress.curl("https://chatgpt.com/after-restart", {"-H", "Authorization: Bearer " + new_dummy}).status == 200);
  CHECK((egress.upstream_header("/after-restart", "Authorization") == "Bearer " + real_at));

  // Host token near expiry: 5 concurrent refreshes, exactly one upstream refresh.
  write_file(codex_file, codex_host_auth(now_s() + 60));
  struct stat before {};
  REQUIRE(::stat(codex_file.c_str(), &before) == 0);
  set_token_endpoint(egress.tokens(), "rotate", "rt-0", 0, 0.5);
  std::vector<std::future<Reply>> pending;
  for (int i = 0; i < 5; ++i)
    pending.push_back(
        std::async(std::launch::async, [&] { return egress.refresh(codex_token_url, codex_dummy_rt, codex_client); }));
  std::vector<Reply> replies;
  for (auto& p : pending) replies.push_back(p.get());
  CHECK(refreshes_served(egress.tokens()) == 1);
  const auto host_doc = json::parse(read_file(codex_file)).as_object();
  const auto& tokens = host_doc.at("tokens").as_object();
  CHECK(tokens.at("refresh_token") == "rt-1");
  const std::int64_t new_exp = jwt_payload(tokens.at("access_token")).at("exp").as_int64();
  CHECK(new_exp > now_s() + 86400);
  for (const auto& r : replies) {
    CHECK(r.status == 200);
    if (r.status != 200) continue;
    CHECK(jwt_payload(body_json(r).at("access_token")).at("exp").as_int64() == new_exp);
  }
  CHECK(tokens.at("account_id") == "acct-1");
  CHECK(host_doc.at("keep_me") == "yes");
  CHECK(host_doc.at("auth_mode") == "chatgpt");
  CHECK(host_doc.at("last_refresh") != "2026-01-01T00:00:00Z");
  CHECK(file_mode(codex_file) == 0640);
  struct stat after {};
  ::stat(codex_file.c_str(), &after);
  CHECK(after.st_ino != before.st_ino);  // replaced by rename, not rewritten in place
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(codex_file.parent_path())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"auth.json"});  // no lock file left behind
  // The rotated real token is what egress injects from now on.
  CHECK(egress.curl("https://chatgpt.com/after-rotation", {"-H", "Authorization: Bearer " + new_dummy}).status == 200);
  CHECK((egress.upstream_header("/after-rotation", "Authorization") ==
         "Bearer " + std::string(tokens.at("access_token").as_string())));

  // Revoke (codex logout in the bottle): a local 200, never upstream.
  const auto revoked = egress.curl("https://auth.openai.com/oauth/revoke",
                                   {"-H", "Content-Type: application/json", "--data",
                                    R"({"token":")" + codex_dummy_rt + R"(","token_type_hint":"refresh_token"})"});
  CHECK(revoked.status == 200);
  CHECK(revoked.body == "{}");
  CHECK_FALSE(egress.upstream_header("/oauth/revoke", "Host"));

  // A login inside the bottle (another grant) is refused.
  CHECK(egress
            .curl(codex_token_url, {"-H", "Content-Type: application/json", "--data",
                                    R"({"grant_type":"authorization_code","code":"x"})"})
            .status == 403);

  // Host session dead: the permanent form, host file untouched.
  write_file(codex_file, codex_host_auth(now_s() + 60));
  const auto dead_before = read_file(codex_file);
  set_token_endpoint(egress.tokens(), "dead", "rt-0");
  const auto dead = egress.refresh(codex_token_url, codex_dummy_rt, codex_client);
  CHECK(dead.status == 401);
  CHECK(body_json(dead).at("error").at("code") == "refresh_token_expired");
  CHECK(read_file(codex_file) == dead_before);

  // Upstream 5xx: a 5xx (transient).
  set_token_endpoint(egress.tokens(), "error", "rt-0");
  const auto down = egress.refresh(codex_token_url, codex_dummy_rt, codex_client);
  CHECK(down.status == 503);
  CHECK(read_file(codex_file) == dead_before);

  // Claude: fresh -> minted; near expiry -> one refresh, written back; dead -> invalid_grant.
  set_token_endpoint(egress.tokens(), "rotate", "rt-0");
  const auto c1 = egress.refresh(claude_token_url, claude_dummy_rt, claude_client);
  REQUIRE(c1.status == 200);
  auto c1j = body_json(c1);
  CHECK(c1j.at("token_type") == "Bearer");
  CHECK(std::abs(c1j.at("expires_in").as_int64() - (claude_exp - now_s())) <= 2);
  CHECK(c1j.at("scope") == "user:inference");
  CHECK(c1j.at("refresh_token") == json::value(claude_dummy_rt));
  const std::string claude_new(c1j.at("access_token").as_string());
  CHECK(claude_new.rfind("sk-ant-oat01-", 0) == 0);
  CHECK(refreshes_served(egress.tokens()) == 0);
  CHECK(egress.curl("https://api.anthropic.com/v1/messages", {"-H", "Authorization: Bearer " + claude_new}).status ==
        200);
  CHECK(egress.upstream_header("/v1/messages", "Authorization") == "Bearer at-0");

  write_file(claude_file, claude_host_credentials((now_s() + 60) * 1000));
  const auto c2 = egress.refresh("https://platform.claude.com/v1/oauth/token", claude_dummy_rt, claude_client);
  REQUIRE(c2.status == 200);
  CHECK(std::abs(body_json(c2).at("expires_in").as_int64() - 28800) <= 5);
  CHECK(refreshes_served(egress.tokens()) == 1);
  const auto claude_doc = json::parse(read_file(claude_file)).as_object();
  const auto& oauth = claude_doc.at("claudeAiOauth").as_object();
  CHECK(oauth.at("accessToken") == "at-1");
  CHECK(oauth.at("refreshToken") == "rt-1");
  CHECK(oauth.at("expiresAt").as_int64() > (now_s() + 28000) * 1000);
  CHECK(oauth.at("subscriptionType") == "max");
  CHECK(claude_doc.contains("mcpOAuth"));
  CHECK(file_mode(claude_file) == 0600);
  CHECK(egress.curl("https://platform.claude.com/v1/oauth/revoke", {"--data", "{}"}).status == 200);
  CHECK_FALSE(egress.upstream_header("/v1/oauth/revoke", "Host"));

  write_file(claude_file, claude_host_credentials((now_s() + 60) * 1000));
  set_token_endpoint(egress.tokens(), "dead", "rt-0");
  const auto c3 = egress.refresh(claude_token_url, claude_dummy_rt, claude_client);
  CHECK(c3.status == 400);
  CHECK(body_json(c3).at("error") == "invalid_grant");

  // The log names routes and outcomes, never a token.
  const auto log = read_file(egress.egress_log());
  for (const auto& secret :
       {std::string("rt-0"), std::string("rt-1"), std::string("at-1"), real_at, new_dummy, codex_dummy_rt, claude_new})
    CHECK_FALSE(contains(log, secret));
  CHECK(logged(log, {{"event", "broker"}, {"host", "auth.openai.com"}, {"status", "200"}, {"result", "refreshed"}}));
  CHECK(logged(log, {{"event", "broker"}, {"result", "permanent"}}));
}
