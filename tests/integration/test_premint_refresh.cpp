// The host login refreshed before a bottle's dummies are minted from it (auth
// reference C4, rule 4): the real `bottle-cli create --forward-host-credentials` for
// a codex bottle on the fake smolvm (--no-start: minting is all that is tested), with
// the host refresh run by `bottle-egress ensure-fresh` against fake_net.py's token endpoint,
// reached through a parent proxy standing in for pipelock (BOTTLE_EGRESS_UPSTREAM).
// All on 127.0.0.1. Token values are test strings; assertions compare booleans.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <boost/json.hpp>
#include <ctime>
#include <optional>
#include <sstream>

#include "bottle/core/base64url.hpp"
#include "bottle/credentials/jwt.hpp"
#include "cli_harness.hpp"
#include "net_harness.hpp"

namespace json = boost::json;
using namespace net_harness;

namespace {

const std::string real_refresh_token = "real-rt-premint-0001";

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string fake_jwt(const json::object& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         bottle::base64url_encode(json::serialize(payload)) + "." + bottle::base64url_encode("real-signature");
}

std::int64_t exp_of(const std::string& token) {
  return bottle::decode_jwt(token, "token").payload.at("exp").as_int64();
}

// A host ~/.codex/auth.json as `codex login` leaves it, the access token expiring at `exp`.
std::string codex_host_login(std::int64_t exp) {
  const json::object auth{
      {"chatgpt_account_id", "acct-pm"}, {"chatgpt_plan_type", "plus"}, {"chatgpt_user_id", "user-pm"}};
  const json::object tokens{
      {"id_token",
       fake_jwt(
           {{"exp", exp}, {"iat", exp - 3600}, {"email", "dev@example.com"}, {"https://api.openai.com/auth", auth}})},
      {"access_token", fake_jwt({{"exp", exp}, {"iat", exp - 3600}, {"https://api.openai.com/auth", auth}})},
      {"refresh_token", real_refresh_token},
      {"account_id", "acct-pm"}};
  return json::serialize(json::object{{"auth_mode", "chatgpt"},
                                      {"OPENAI_API_KEY", nullptr},
                                      {"tokens", tokens},
                                      {"last_refresh", "2026-11-26T10:00:00Z"}});
}

// fake_net.py with its token endpoints on, posing as auth.openai.com.
class TokenNet {
 public:
  explicit TokenNet(const std::string& mode) {
    const fs::path& d = dir_.path();
    write_file(d / "ext.cnf",
               "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
               "subjectAltName=DNS:auth.openai.com,DNS:chatgpt.com\n");
    const std::vector<std::vector<std::string>> steps = {
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         (d / "ca.key").string(), "-out", (d / "ca.pem").string(), "-days", "2", "-subj", "/CN=bottle premint test CA"},
        {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         (d / "server.key").string(), "-out", (d / "server.csr").string(), "-subj", "/CN=auth.openai.com"},
        {"openssl", "x509", "-req", "-in", (d / "server.csr").string(), "-CA", (d / "ca.pem").string(), "-CAkey",
         (d / "ca.key").string(), "-CAcreateserial", "-out", (d / "server.pem").string(), "-days", "2", "-extfile",
         (d / "ext.cnf").string()},
    };
    for (const auto& argv : steps) {
      const auto r = run(argv);
      INFO(r.err);
      REQUIRE(r.ok());
    }
    write_file(tokens(),
               json::serialize(json::object{
                   {"mode", mode}, {"refresh_token", real_refresh_token}, {"count", 0}, {"account_id", "acct-pm"}}));
    daemon_.emplace(
        std::vector<std::string>{"env", "FAKE_NET_TOKENS=" + tokens().string(), "python3", fake_net_script(), "serve",
                                 (d / "server.pem").string(), (d / "server.key").string(), (d / "ports.json").string(),
                                 upstream_log().string(), (d / "parent.log").string()},
        d / "fake_net.out");
    REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
    parent_port = json::parse(read_file(d / "ports.json")).as_object().at("parent").as_int64();
  }
  fs::path ca() const { return dir_.path() / "ca.pem"; }
  fs::path tokens() const { return dir_.path() / "tokens.json"; }
  fs::path upstream_log() const { return dir_.path() / "upstream.log"; }
  int refreshes_served() const {
    return static_cast<int>(json::parse(read_file(tokens())).as_object().at("count").as_int64());
  }
  int token_requests() const {
    int n = 0;
    std::istringstream lines(read_file(upstream_log()));
    for (std::string line; std::getline(lines, line);)
      n += json::parse(line).as_object().at("path") == "/oauth/token" ? 1 : 0;
    return n;
  }
  std::int64_t parent_port = 0;

 private:
  TempDir dir_;
  std::optional<Daemon> daemon_;
};

struct Setup {
  IntegrationHome home;
  fs::path host_file;
  std::string name = unique_bottle_name("it-premint");

  Setup(const TokenNet& net, std::int64_t host_exp) {
    home.use_fake_smolvm("1.9.2");
    const fs::path codex_home = home.path() / "codex-home";
    fs::create_directories(codex_home);
    host_file = codex_home / "auth.json";
    write_file(host_file, codex_host_login(host_exp));
    fs::permissions(host_file, fs::perms::owner_read | fs::perms::owner_write);
    home.env()["CODEX_HOME"] = codex_home.string();
    home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://127.0.0.1:" + std::to_string(net.parent_port);
    home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = net.ca().string();
  }

  bottle::ProcessResult create() {
    return home.cli({"create", "--name", name, "--backend", "smolmachines", "--agent", "codex",
                     "--forward-host-credentials", "--no-start"});
  }

  json::object host_tokens() const { return json::parse(read_file(host_file)).at("tokens").as_object(); }

  // The exp of the dummy access token egress swaps (render egress) and of the one in
  // the bottle's auth.json as stored for its first start.
  std::pair<std::int64_t, std::int64_t> dummy_exps() {
    const auto r = home.cli({"render", "egress", name});
    REQUIRE(r.ok());
    std::optional<std::int64_t> routed;
    const json::value rendered = json::parse(r.out);
    for (const auto& route : rendered.at("routes").as_array())
      if (route.at("name") == "codex-chatgpt") routed = exp_of(std::string(route.at("dummy").as_string()));
    REQUIRE(routed);
    const fs::path state = home.path() / "state" / "bottles" / name / "credentials.json";
    std::optional<std::int64_t> in_file;
    const json::value stored = json::parse(read_file(state));
    for (const auto& file : stored.at("files").as_array()) {
      if (!std::string(file.at("path").as_string()).ends_with("/.codex/auth.json")) continue;
      const auto auth = json::parse(file.at("content").as_string());
      in_file = exp_of(std::string(auth.at("tokens").at("access_token").as_string()));
    }
    REQUIRE(in_file);
    return {*routed, *in_file};
  }
};

unsigned file_mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("premint refresh: a host token expiring in 2 minutes is refreshed once before minting",
          "[premint][broker][smolmachines][integration]") {
  TokenNet net("rotate");
  Setup s(net, now_s() + 120);
  const std::string old_access(s.host_tokens().at("access_token").as_string());

  const auto r = s.create();
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_FALSE(contains(r.err, "warning"));

  // One real refresh, with the real refresh token; the rotated login is in the host's
  // own file, mode kept.
  CHECK(net.refreshes_served() == 1);
  CHECK(net.token_requests() == 1);
  const auto tokens = s.host_tokens();
  const std::string new_access(tokens.at("access_token").as_string());
  CHECK(tokens.at("refresh_token") == "rt-1");
  CHECK(tokens.at("account_id") == "acct-pm");
  CHECK((new_access != old_access));
  const std::int64_t new_exp = exp_of(new_access);
  CHECK(new_exp > now_s() + 86400);
  CHECK(file_mode(s.host_file) == 0600);

  // The bottle's dummies carry the NEW exp; neither is a real token.
  const auto [routed, in_file] = s.dummy_exps();
  CHECK(routed == new_exp);
  CHECK(in_file == new_exp);
  const std::string state = read_file(s.home.path() / "state" / "bottles" / s.name / "credentials.json");
  CHECK_FALSE(contains(state, new_access));
  CHECK_FALSE(contains(state, "rt-1"));
  CHECK_FALSE(contains(state, real_refresh_token));
}

TEST_CASE("premint refresh: a host token valid for hours is minted without an upstream call",
          "[premint][broker][smolmachines][integration]") {
  TokenNet net("rotate");
  const std::int64_t exp = now_s() + 3 * 3600;
  Setup s(net, exp);
  const std::string before = read_file(s.host_file);

  const auto r = s.create();
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(net.refreshes_served() == 0);
  CHECK(net.token_requests() == 0);
  CHECK((read_file(s.host_file) == before));
  const auto [routed, in_file] = s.dummy_exps();
  CHECK(routed == exp);
  CHECK(in_file == exp);
}

TEST_CASE("premint refresh: a dead host session fails create with sign-in-again, nothing written",
          "[premint][broker][smolmachines][integration]") {
  TokenNet net("dead");  // 401 refresh_token_expired
  Setup s(net, now_s() + 120);
  const std::string before = read_file(s.host_file);

  const auto r = s.create();
  CHECK(r.code != 0);
  CHECK(contains(r.err, "sign in again on the host"));
  CHECK(contains(r.err, "codex login"));
  CHECK_FALSE(contains(r.err, real_refresh_token));
  CHECK(net.token_requests() == 1);
  CHECK((read_file(s.host_file) == before));
  CHECK_FALSE(fs::exists(s.home.path() / "config" / "bottles" / (s.name + ".json")));
  CHECK_FALSE(fs::exists(s.home.path() / "state" / "bottles" / s.name));
  CHECK_FALSE(contains(read_file(s.home.path() / "fake.log"), "create"));
}

TEST_CASE("premint refresh: an upstream that fails for now only warns, and create goes on",
          "[premint][broker][smolmachines][integration]") {
  TokenNet net("error");  // 500
  const std::int64_t exp = now_s() + 120;
  Setup s(net, exp);

  const auto r = s.create();
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(contains(r.err, "warning: could not refresh the host's codex login"));
  CHECK_FALSE(contains(r.err, real_refresh_token));
  CHECK(net.token_requests() == 1);
  const auto [routed, in_file] = s.dummy_exps();
  CHECK(routed == exp);
  CHECK(in_file == exp);
}
