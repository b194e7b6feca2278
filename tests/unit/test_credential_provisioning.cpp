// Unit tests for host credential provisioning: fake host logins in a temp dir
// (pointed at by CODEX_HOME / CLAUDE_CONFIG_DIR / HOME), the guest files and routes
// built from them, the stored state, and installation through a recording backend.
// Every test checks that no real token leaks into what it produces.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <sys/stat.h>
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "env_guard.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace bottle;

namespace {

RandomSource counter_random() {
  auto next = std::make_shared<unsigned char>(0);
  return [next](std::size_t n) {
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>((*next)++);
    return bytes;
  };
}

std::string jwt(const json::object& payload, std::string_view signature) {
  return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url_encode(json::serialize(payload)) + "." +
         base64url_encode(signature);
}

const json::object auth_block{{"chatgpt_account_id", "acc-5150-real"},
                              {"chatgpt_plan_type", "plus"},
                              {"chatgpt_user_id", "user-Xy12"},
                              {"user_id", "user-Xy12"}};
const std::string real_access =
    jwt({{"exp", 1791234567}, {"iat", 1790370567}, {"https://api.openai.com/auth", auth_block}},
        "REAL-ACCESS-SIGNATURE-do-not-leak");
const std::string real_id =
    jwt({{"email", "dev@example.com"}, {"exp", 1791234567}, {"https://api.openai.com/auth", auth_block}},
        "REAL-ID-SIGNATURE-do-not-leak");
const std::string real_refresh = "rt_REAL-refresh-token-do-not-leak";
const std::string real_claude_access = "sk-ant-oat01-REALclaudeACCESStokenDoNotLeak0123456789";
const std::string real_claude_refresh = "sk-ant-ort01-REALclaudeREFRESHtokenDoNotLeak0123456789";
const std::string real_claude_api_key = "sk-ant-api03-REALhostAPIkeyDoNotLeak";
const std::vector<std::string> real_secrets{real_access,
                                            real_id,
                                            real_refresh,
                                            real_claude_access,
                                            real_claude_refresh,
                                            real_claude_api_key,
                                            base64url_encode("REAL-ACCESS-SIGNATURE-do-not-leak")};

void check_no_secret(const std::string& text) {
  for (const auto& secret : real_secrets) CHECK(text.find(secret) == std::string::npos);
}

void write_codex_login(const fs::path& dir) {
  const json::object auth{{"auth_mode", "chatgpt"},
                          {"OPENAI_API_KEY", nullptr},
                          {"tokens", json::object{{"id_token", real_id},
                                                  {"access_token", real_access},
                                                  {"refresh_token", real_refresh},
                                                  {"account_id", "acc-5150-real"}}},
                          {"last_refresh", "2026-09-20T10:11:12.123456Z"}};
  write_file_atomic(dir / "auth.json", json::serialize(auth), 0600);
}

void write_claude_login(const fs::path& dir) {
  const json::object creds{{"claudeAiOauth", json::object{{"accessToken", real_claude_access},
                                                          {"refreshToken", real_claude_refresh},
                                                          {"expiresAt", 1791234567000},
                                                          {"scopes", json::array{"user:inference", "user:profile"}},
                                                          {"subscriptionType", "max"}}}};
  write_file_atomic(dir / ".credentials.json", json::serialize(creds), 0600);
  const json::object global{{"oauthAccount", json::object{{"emailAddress", "dev@example.com"}}},
                            {"primaryApiKey", real_claude_api_key}};
  write_file_atomic(dir / ".claude.json", json::serialize(global), 0600);
}

BottleSpec spec_for(AgentKind agent, std::string user = "node") {
  BottleSpec s;
  s.name = "work";
  s.agent = agent;
  s.user = std::move(user);
  s.workspaces = {{"/src/api", "/workspace", false}};
  s.forward_host_credentials = true;
  return s;
}

std::string all_text(const ForwardedCredentials& fc) {
  std::string text;
  for (const auto& f : fc.files) text += f.path + f.owner + f.content;
  for (const auto& r : fc.routes) text += r.name + r.dummy + r.value_file + r.value_json_pointer + r.header;
  for (const auto& d : fc.dummies) text += d;
  return text;
}

}  // namespace

TEST_CASE("provisioning: codex login becomes dummy files and a route", "[credential_provisioning]") {
  TempDir host;
  write_codex_login(host.path());
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());

  const ForwardedCredentials fc =
      prepare_forwarded_credentials(env.host(), spec_for(AgentKind::codex), counter_random());
  REQUIRE(fc.files.size() == 2);
  CHECK(fc.files[0].path == "/home/node/.codex/auth.json");
  CHECK(fc.files[0].owner == "node:node");
  CHECK(fc.files[0].mode == 0600);
  CHECK(fc.files[1].path == "/home/node/.codex/config.toml");
  CHECK(fc.files[1].owner == "node:node");
  CHECK(fc.files[1].mode == 0600);
  CHECK(fc.files[1].content ==
        "# Written by bottle. The login in auth.json is a forwarded dummy.\n"
        "# A keyring store would ignore auth.json, so the file store is forced.\n"
        "cli_auth_credentials_store = \"file\"\n"
        "forced_login_method = \"chatgpt\"\n"
        "check_for_update_on_startup = false\n"
        "\n[analytics]\nenabled = false\n"
        "\n[otel]\nmetrics_exporter = \"none\"\n"
        "\n[projects.\"/workspace\"]\ntrust_level = \"trusted\"\n");

  const json::object auth = json::parse(fc.files[0].content).as_object();
  const json::object& tokens = auth.at("tokens").as_object();
  const std::string dummy_access(tokens.at("access_token").as_string());
  CHECK(dummy_access != real_access);
  CHECK(tokens.at("account_id").as_string() == "acc-5150-real");
  REQUIRE(fc.routes.size() == 1);
  CHECK(fc.routes[0].dummy == dummy_access);
  CHECK(fc.routes[0].value_file == (host.path() / "auth.json").string());
  CHECK(fc.routes[0].value_json_pointer == "/tokens/access_token");
  CHECK(std::find(fc.dummies.begin(), fc.dummies.end(), dummy_access) != fc.dummies.end());
  check_no_secret(all_text(fc));
}

TEST_CASE("provisioning: claude login becomes dummy files and a route", "[credential_provisioning]") {
  TempDir host;
  write_claude_login(host.path());
  TestEnv env;
  env.set("CLAUDE_CONFIG_DIR", host.path().string());

  const ForwardedCredentials fc =
      prepare_forwarded_credentials(env.host(), spec_for(AgentKind::claude, "root"), counter_random());
  REQUIRE(fc.files.size() == 2);
  CHECK(fc.files[0].path == "/root/.claude/.credentials.json");
  CHECK(fc.files[0].owner == "root:root");
  CHECK(fc.files[0].mode == 0600);
  CHECK(fc.files[1].path == "/root/.claude.json");
  CHECK(fc.files[1].mode == 0600);

  const json::object creds = json::parse(fc.files[0].content).as_object().at("claudeAiOauth").as_object();
  REQUIRE(fc.routes.size() == 1);
  CHECK(fc.routes[0].dummy == creds.at("accessToken").as_string());
  CHECK(fc.routes[0].value_file == (host.path() / ".credentials.json").string());
  CHECK(creds.at("expiresAt").as_int64() == 1791234567000);

  const json::object global = json::parse(fc.files[1].content).as_object();
  CHECK(global.at("hasCompletedOnboarding").as_bool());
  CHECK(global.at("oauthAccount").as_object().at("emailAddress").as_string() == "dev@example.com");
  CHECK(global.at("projects").as_object().at("/workspace").as_object().at("hasTrustDialogAccepted").as_bool());
  CHECK(!global.contains("primaryApiKey"));
  check_no_secret(all_text(fc));
}

TEST_CASE("provisioning: claude via HOME, without a global config", "[credential_provisioning]") {
  TempDir host;
  fs::create_directories(host.path() / ".claude");
  write_claude_login(host.path() / ".claude");
  fs::remove(host.path() / ".claude" / ".claude.json");
  TestEnv env;
  env.set("CLAUDE_CONFIG_DIR", std::nullopt);
  env.set("HOME", host.path().string());
  const ForwardedCredentials fc =
      prepare_forwarded_credentials(env.host(), spec_for(AgentKind::claude), counter_random());
  REQUIRE(fc.files.size() == 2);
  CHECK(fc.files[0].path == "/home/node/.claude/.credentials.json");
  CHECK(fc.files[1].path == "/home/node/.claude.json");
  CHECK(!json::parse(fc.files[1].content).as_object().contains("oauthAccount"));
  CHECK(fc.routes.at(0).value_file == (host.path() / ".claude" / ".credentials.json").string());
}

TEST_CASE("provisioning: nothing without forward_host_credentials", "[credential_provisioning]") {
  TestEnv env;
  env.set("CODEX_HOME", "/nonexistent-bottle-test");
  BottleSpec s = spec_for(AgentKind::codex);
  s.forward_host_credentials = false;
  CHECK(prepare_forwarded_credentials(env.host(), s) == ForwardedCredentials{});
}

TEST_CASE("provisioning: missing or malformed host files name the file and field", "[credential_provisioning]") {
  TempDir host;
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  env.set("CLAUDE_CONFIG_DIR", host.path().string());

  std::string message = error_of([&] { prepare_forwarded_credentials(env.host(), spec_for(AgentKind::codex)); });
  CHECK_THAT(message, Catch::Matchers::Contains((host.path() / "auth.json").string()));
  CHECK_THAT(message, Catch::Matchers::Contains("no such file"));

  message = error_of([&] { prepare_forwarded_credentials(env.host(), spec_for(AgentKind::claude)); });
  CHECK_THAT(message, Catch::Matchers::Contains((host.path() / ".credentials.json").string()));

  const std::string secret = "not-a-jwt-SECRETVALUE";
  write_file_atomic(
      host.path() / "auth.json",
      json::serialize(json::object{
          {"auth_mode", "chatgpt"},
          {"tokens", json::object{{"id_token", real_id}, {"access_token", secret}, {"refresh_token", real_refresh}}},
          {"last_refresh", "2026-09-20T10:11:12Z"}}));
  message = error_of([&] { prepare_forwarded_credentials(env.host(), spec_for(AgentKind::codex)); });
  CHECK_THAT(message, Catch::Matchers::Contains((host.path() / "auth.json").string()));
  CHECK_THAT(message, Catch::Matchers::Contains("tokens.access_token"));
  CHECK(message.find("SECRETVALUE") == std::string::npos);
  check_no_secret(message);

  write_claude_login(host.path());
  write_file_atomic(host.path() / ".claude.json", "[1, 2]");
  message = error_of([&] { prepare_forwarded_credentials(env.host(), spec_for(AgentKind::claude)); });
  CHECK_THAT(message, Catch::Matchers::Contains((host.path() / ".claude.json").string()));
  check_no_secret(message);
}

TEST_CASE("provisioning: state round-trips and holds no real token", "[credential_provisioning]") {
  TempDir host;
  TempDir state;
  write_codex_login(host.path());
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  const StateDirs dirs{state.path() / "config", state.path() / "state"};

  CHECK(!load_forwarded_state(dirs, "work"));
  const ForwardedCredentials fc = prepare_forwarded_credentials(env.host(), spec_for(AgentKind::codex));
  save_forwarded_state(dirs, "work", fc);
  const fs::path path = forwarded_state_path(dirs, "work");
  CHECK(path == state.path() / "state" / "bottles" / "work" / "credentials.json");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string text = read_file(path);
  check_no_secret(text);
  CHECK(text.find(fc.routes.at(0).dummy) != std::string::npos);
  CHECK(text.find((host.path() / "auth.json").string()) != std::string::npos);

  const auto loaded = load_forwarded_state(dirs, "work");
  REQUIRE(loaded);
  CHECK(*loaded == fc);

  write_file_atomic(path, "{\"version\": 1, \"files\": [{\"path\": \"relative\"}]}");
  const std::string message = error_of([&] { load_forwarded_state(dirs, "work"); });
  CHECK_THAT(message, Catch::Matchers::Contains(path.string()));
  CHECK_THAT(message, Catch::Matchers::Contains("corrupt"));
}

TEST_CASE("provisioning: install_guest_files sends content on stdin only", "[credential_provisioning]") {
  TempDir host;
  write_codex_login(host.path());
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  const BottleSpec spec = spec_for(AgentKind::codex);
  const ForwardedCredentials fc = prepare_forwarded_credentials(env.host(), spec);

  RecordingRunner runner;
  Backend docker(runner, std::make_unique<DockerCommands>());
  install_guest_files(docker, spec, fc.files);

  const auto& commands = runner.commands();
  REQUIRE(commands.size() == 3);  // one directory, two files
  const auto& mkdir_argv = commands[0].argv;
  REQUIRE(mkdir_argv.size() >= 2);
  CHECK(mkdir_argv[mkdir_argv.size() - 2] == "/home/node/.codex");
  CHECK(mkdir_argv.back() == "node:node");
  CHECK(!commands[0].stdin_data);
  CHECK(commands[1].stdin_data == fc.files[0].content);
  CHECK(commands[2].stdin_data == fc.files[1].content);
  for (const auto& command : commands) {
    for (const auto& word : command.argv) {
      check_no_secret(word);
      for (const auto& dummy : fc.dummies) CHECK(word.find(dummy) == std::string::npos);
    }
    for (const auto& [key, value] : command.env) check_no_secret(key + value);
  }
}

TEST_CASE("provisioning: install_guest_files reports a failing engine", "[credential_provisioning]") {
  RecordingRunner runner;
  runner.fallback = exited(1, "", "no such container");
  Backend docker(runner, std::make_unique<DockerCommands>());
  const BottleSpec spec = spec_for(AgentKind::codex);
  CHECK_THROWS_AS(install_guest_files(docker, spec, {{"/home/node/.codex/auth.json", "{}", "node:node", 0600}}), Error);
  CHECK(runner.commands().size() == 1);
  CHECK(guest_user_home("root") == "/root");
  CHECK(guest_user_home("node") == "/home/node");
}

TEST_CASE("provisioning: two bottles of one host login never share a dummy", "[credential_provisioning]") {
  TempDir host;
  write_codex_login(host.path());
  write_claude_login(host.path());
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  env.set("CLAUDE_CONFIG_DIR", host.path().string());
  for (const AgentKind agent : {AgentKind::codex, AgentKind::claude}) {
    INFO(to_string(agent));
    // The system random source, as bottle-cli uses it.
    const ForwardedCredentials first = prepare_forwarded_credentials(env.host(), spec_for(agent));
    const ForwardedCredentials second = prepare_forwarded_credentials(env.host(), spec_for(agent));
    REQUIRE_FALSE(first.dummies.empty());
    REQUIRE(first.dummies.size() == second.dummies.size());
    for (const auto& dummy : first.dummies) {
      CHECK(std::find(second.dummies.begin(), second.dummies.end(), dummy) == second.dummies.end());
      // Nor does one bottle's dummy appear anywhere in the other's files.
      for (const auto& file : second.files) CHECK(file.content.find(dummy) == std::string::npos);
    }
  }
}

// -- refreshing an expiring host login before minting ---------------------------

namespace {

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

void write_codex_login_expiring_at(const fs::path& dir, std::int64_t exp, const std::string& tag) {
  const std::string access = jwt({{"exp", exp}, {"tag", tag}, {"https://api.openai.com/auth", auth_block}},
                                 "REAL-ACCESS-SIGNATURE-do-not-leak");
  const json::object auth{{"auth_mode", "chatgpt"},
                          {"tokens", json::object{{"id_token", real_id},
                                                  {"access_token", access},
                                                  {"refresh_token", real_refresh},
                                                  {"account_id", "acc-5150-real"}}},
                          {"last_refresh", "2026-09-20T10:11:12.123456Z"}};
  write_file_atomic(dir / "auth.json", json::serialize(auth), 0600);
}

std::int64_t dummy_exp(const ForwardedCredentials& fc) {
  const std::string at(json::parse(fc.files.at(0).content).at("tokens").at("access_token").as_string());
  const std::string payload = at.substr(at.find('.') + 1, at.rfind('.') - at.find('.') - 1);
  return json::parse(base64url_decode(payload, "dummy")).at("exp").as_int64();
}

}  // namespace

TEST_CASE("provisioning: an expiring codex login is refreshed, then read again", "[credential_provisioning]") {
  TempDir host;
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  const std::int64_t now = unix_now();
  const std::int64_t new_exp = now + 10 * 86400;
  write_codex_login_expiring_at(host.path(), now + 120, "old");
  std::vector<std::pair<AgentKind, fs::path>> calls;
  const RefreshHostLogin refresh = [&](AgentKind agent, const fs::path& file) {
    calls.emplace_back(agent, file);
    write_codex_login_expiring_at(host.path(), new_exp, "new");  // as bottle_broker.py would
  };
  const ForwardedCredentials fc =
      prepare_forwarded_credentials(env.host(), spec_for(AgentKind::codex), counter_random(), refresh);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].first == AgentKind::codex);
  CHECK(calls[0].second == host.path() / "auth.json");
  CHECK(dummy_exp(fc) == new_exp);
  check_no_secret(all_text(fc));
}

TEST_CASE("provisioning: a codex login valid past the window is not refreshed", "[credential_provisioning]") {
  TempDir host;
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  const std::int64_t exp = unix_now() + 3 * 3600;
  write_codex_login_expiring_at(host.path(), exp, "fresh");
  int calls = 0;
  const ForwardedCredentials fc = prepare_forwarded_credentials(
      env.host(), spec_for(AgentKind::codex), counter_random(), [&](AgentKind, const fs::path&) { ++calls; });
  CHECK(calls == 0);
  CHECK(dummy_exp(fc) == exp);

  // API-key mode has no expiry.
  write_file_atomic(
      host.path() / "auth.json",
      json::serialize(json::object{{"auth_mode", "apikey"}, {"OPENAI_API_KEY", "sk-REAL-key-do-not-leak"}}), 0600);
  prepare_forwarded_credentials(env.host(), spec_for(AgentKind::codex), counter_random(),
                                [&](AgentKind, const fs::path&) { ++calls; });
  CHECK(calls == 0);
}

TEST_CASE("provisioning: a refresh that fails for now mints from the current token", "[credential_provisioning]") {
  TempDir host;
  TestEnv env;
  env.set("CODEX_HOME", host.path().string());
  const std::int64_t exp = unix_now() + 120;
  write_codex_login_expiring_at(host.path(), exp, "old");
  int calls = 0;
  const ForwardedCredentials fc = prepare_forwarded_credentials(
      env.host(), spec_for(AgentKind::codex), counter_random(), [&](AgentKind, const fs::path&) { ++calls; });
  CHECK(calls == 1);  // once: still expiring after it is not a reason to ask again
  CHECK(dummy_exp(fc) == exp);
}

TEST_CASE("provisioning: a dead host session stops provisioning", "[credential_provisioning]") {
  TempDir host;
  TestEnv env;
  env.set("CLAUDE_CONFIG_DIR", host.path().string());
  write_claude_login(host.path());  // expiresAt 1791234567000: long past
  const std::string message = error_of([&] {
    prepare_forwarded_credentials(env.host(), spec_for(AgentKind::claude), counter_random(),
                                  [&](AgentKind agent, const fs::path&) {
                                    CHECK(agent == AgentKind::claude);
                                    throw Error(ErrorKind::invalid_input, "sign in again on the host");
                                  });
  });
  CHECK(message == "sign in again on the host");
}
