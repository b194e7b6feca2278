#pragma once
// Shared parts of the credential-forwarding end-to-end tests: host logins as the
// vendors' CLIs leave them, the fake network (fake_net.py) as upstream and parent
// proxy, and the checks that no real token shows up where it must not.
// Token values never appear in assertions' output: checks compare booleans.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <ctime>
#include <memory>

#include "bottle/core/base64url.hpp"
#include "cli_harness.hpp"
#include "net_harness.hpp"
#include "proc_scan.hpp"

namespace forwarding_harness {

using namespace net_harness;

inline constexpr const char* codex_image = "bottle-test-codex:latest";

inline std::string fake_jwt(const boost::json::object& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         bottle::base64url_encode(boost::json::serialize(payload)) + "." + bottle::base64url_encode("signature");
}

struct HostLogin {
  std::string access_token;
  std::string refresh_token = "real-refresh-token-for-the-test";
};

// A host ~/.claude/.credentials.json as `claude /login` leaves it (a subscription
// login, valid for a day: create has nothing to refresh).
inline HostLogin write_host_claude_login(const fs::path& claude_dir) {
  fs::create_directories(claude_dir);
  const std::int64_t now = std::time(nullptr);
  const std::string stamp = std::to_string(now);
  const HostLogin login{"sk-ant-oat01-realE2eAccess" + stamp + "xY_z-0",
                        "sk-ant-ort01-realE2eRefresh" + stamp + "qR-9"};
  const boost::json::object oauth{{"accessToken", login.access_token},
                                  {"refreshToken", login.refresh_token},
                                  {"expiresAt", (now + 86400) * 1000},
                                  {"scopes", boost::json::array{"user:inference", "user:profile"}},
                                  {"subscriptionType", "max"}};
  write_file(claude_dir / ".credentials.json", boost::json::serialize(boost::json::object{{"claudeAiOauth", oauth}}));
  fs::permissions(claude_dir / ".credentials.json", fs::perms::owner_read | fs::perms::owner_write);
  return login;
}

// A host ~/.codex/auth.json as `codex login` leaves it.
inline HostLogin write_host_codex_login(const fs::path& codex_home) {
  fs::create_directories(codex_home);
  const std::int64_t now = std::time(nullptr);
  const boost::json::object auth{
      {"chatgpt_account_id", "acct-e2e"}, {"chatgpt_plan_type", "plus"}, {"chatgpt_user_id", "user-e2e"}};
  HostLogin login;
  login.access_token = fake_jwt({{"exp", now + 3 * 86400},
                                 {"iat", now},
                                 {"https://api.openai.com/auth", auth},
                                 {"jti", "real-" + std::to_string(now)}});
  const std::string id_token = fake_jwt(
      {{"exp", now + 3600}, {"iat", now}, {"email", "dev@example.com"}, {"https://api.openai.com/auth", auth}});
  const boost::json::object file{{"auth_mode", "chatgpt"},
                                 {"OPENAI_API_KEY", nullptr},
                                 {"tokens",
                                  {{"id_token", id_token},
                                   {"access_token", login.access_token},
                                   {"refresh_token", login.refresh_token},
                                   {"account_id", "acct-e2e"}}},
                                 {"last_refresh", "2026-11-26T10:00:00Z"}};
  write_file(codex_home / "auth.json", boost::json::serialize(file));
  fs::permissions(codex_home / "auth.json", fs::perms::owner_read | fs::perms::owner_write);
  return login;
}

inline std::vector<boost::json::object> upstream_requests(const fs::path& log) {
  std::vector<boost::json::object> records;
  std::istringstream lines(read_file(log));
  for (std::string line; std::getline(lines, line);) records.push_back(boost::json::parse(line).as_object());
  return records;
}

inline std::string header(const boost::json::object& record, const std::string& lower_name) {
  for (const auto& [key, value] : record.at("headers").as_object()) {
    std::string k(key);
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    if (k == lower_name) return std::string(value.as_string());
  }
  return {};
}

// A shell script that reads a token on stdin, prints the files under `dirs` that hold
// it, then 1 if the environment holds it, else 0. The token stays in the shell's
// memory: grep reads it as a pattern file and the environment is matched by a
// builtin, so it is in no argv, on the host or in the bottle.
inline std::string token_search_script(const std::string& dirs) {
  return "read -r t; printf '%s\\n' \"$t\" | grep -rlF -f - " + dirs +
         " 2>/dev/null; case \"$(env)\" in *\"$t\"*) echo 1 ;; *) echo 0 ;; esac";
}

// The bottle's codex login (~/.codex/auth.json): its access token is a dummy, and
// neither real token is in the file. Returns the dummy.
inline std::string bottle_codex_dummy(IntegrationHome& home, const std::string& name, const HostLogin& login) {
  const auto r = home.cli({"exec", name, "--", "cat", ".codex/auth.json"});
  REQUIRE(r.ok());
  const std::string dummy(boost::json::parse(r.out).at("tokens").at("access_token").as_string());
  CHECK(dummy != login.access_token);
  CHECK(r.out.find(login.access_token) == std::string::npos);
  CHECK(r.out.find(login.refresh_token) == std::string::npos);
  return dummy;
}

// A connection from the bottle straight to `address`, around its proxy settings, fails.
inline void check_no_direct_route(IntegrationHome& home, const std::string& name, const std::string& address) {
  const auto r =
      home.cli({"exec", name, "--", "sh", "-c",
                "env -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY timeout 5 wget -q -O- http://" +
                    address + "/ >/dev/null 2>&1 && echo REACHED; true"});
  CHECK_THAT(r.out, !Catch::Contains("REACHED"));
}

struct BottleCleanup {
  IntegrationHome& home;
  std::string name;
  ~BottleCleanup() { home.cli({"rm", "--force", name}); }
};

inline std::vector<proc_scan::Secret> real_tokens(const HostLogin& login) {
  return {{"host access token", login.access_token}, {"host refresh token", login.refresh_token}};
}

// The bottle's egress audit log as JSON lines (`bottle-cli logs --json`), once a
// record matching `needle` is in it (egress writes a record when it is done with the
// flow); checked against the scanner's real tokens and the bottle's dummy, by label.
inline std::string audit_log_with(IntegrationHome& home, const std::string& name, const std::string& needle,
                                  const HostLogin& login, const std::string& dummy) {
  const auto logs = [&] { return home.cli({"logs", "--json", name}); };
  CHECK(wait_until([&] { return logs().out.find(needle) != std::string::npos; }, 20s));
  const auto r = logs();
  CHECK(r.ok());
  CHECK(r.err.empty());  // no corrupt line
  for (const auto& secret : real_tokens(login)) {
    INFO("audit log holds the " << secret.label);
    CHECK(r.out.find(secret.value) == std::string::npos);
  }
  CHECK(r.out.find(dummy) == std::string::npos);
  CHECK(r.out.find("Bearer") == std::string::npos);
  return r.out;
}

// fake_net.py serving the certificates make_certs() wrote in `d`, its parent proxy
// listening on `bind`; returns once it wrote its ports.
inline std::unique_ptr<Daemon> start_fake_net(const fs::path& d, const std::string& bind) {
  ::setenv("FAKE_NET_BIND", bind.c_str(), 1);
  auto net = std::make_unique<Daemon>(
      std::vector<std::string>{"python3", fake_net_script(), "serve", (d / "server.pem").string(),
                               (d / "server.key").string(), (d / "ports.json").string(), (d / "upstream.log").string(),
                               (d / "parent.log").string()},
      d / "fake_net.out");
  ::unsetenv("FAKE_NET_BIND");
  REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
  return net;
}

inline std::int64_t parent_port(const fs::path& d) {
  return boost::json::parse(read_file(d / "ports.json")).as_object().at("parent").as_int64();
}

// The agent's requests reached the fake upstream through the parent proxy (a tunnel
// to `host`), carrying the real token and never the dummy.
inline void check_upstream_saw_real_token(const fs::path& d, const HostLogin& login, const std::string& dummy,
                                          const std::string& host = "chatgpt.com") {
  const auto requests = upstream_requests(d / "upstream.log");
  REQUIRE_FALSE(requests.empty());
  int with_real = 0, with_dummy = 0;
  for (const auto& rec : requests) {
    const std::string auth = header(rec, "authorization");
    with_real += auth == "Bearer " + login.access_token ? 1 : 0;
    with_dummy += auth.find(dummy) != std::string::npos ? 1 : 0;
  }
  CHECK(with_real > 0);
  CHECK(with_dummy == 0);
  CHECK_THAT(read_file(d / "parent.log"), Catch::Contains("CONNECT " + host + ":443"));
}

// The scanner saw no real token, and it did look: many passes, with bottle-cli and
// the engine CLI it runs caught alive at least once.
inline void check_no_token_in_any_argv(proc_scan::Scanner& scanner, const std::string& engine = "docker") {
  scanner.stop();
  const auto names = scanner.descendant_names();
  INFO("passes over /proc: " << scanner.sweeps() << ", command lines read: " << scanner.cmdlines_read()
                             << ", environments read: " << scanner.environs_read());
  WARN("argv scan: " << scanner.sweeps() << " passes over /proc, " << scanner.cmdlines_read() << " command lines and "
                     << scanner.environs_read() << " environments read, " << names.size()
                     << " distinct names among this test's processes, " << scanner.hits().size() << " hits");
  INFO("processes found holding a real token:\n" << scanner.report());
  CHECK(scanner.hits().empty());
  CHECK(scanner.sweeps() >= 100);
  CHECK(names.count("bottle-cli") == 1);
  CHECK(names.count(engine) == 1);
  CHECK(scanner.environs_read() > 0);
}

}  // namespace forwarding_harness
