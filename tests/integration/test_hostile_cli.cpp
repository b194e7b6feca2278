// Hostile input through the real bottle-cli: flags, spec files, environment
// variables, host credential files and engine output. Docker is a shell-script
// fake (BOTTLE_DOCKER) that logs its argv and lists nothing, so no engine is
// needed. Every row must exit with the documented code, print one clear error
// naming the argument, variable or field, create no engine object, and leave
// BOTTLE_HOME exactly as it was (paths, contents, modes).

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "bottle/spec/spec.hpp"
#include "cli_harness.hpp"

namespace fs = std::filesystem;

namespace {

struct Row {
  std::string label;
  std::vector<std::string> args;
  int code;
  std::string expected;                                        ///< a substring of stderr
  std::map<std::string, std::optional<std::string>> env = {};  ///< nullopt: unset
  std::map<std::string, std::string> files = {};               ///< written under the fixture's host dir
};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// path -> "mode:content" for everything under `root` except the fake's own files.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), root).string();
    if (rel == "host" || rel == "fake") {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::ostringstream entry;
    entry << std::oct << st.st_mode << ":" << (it->is_regular_file() ? read_all(it->path()) : std::string());
    tree[rel] = entry.str();
  }
  return tree;
}

std::string jwt(const std::string& payload) {
  return bottle::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + bottle::base64url_encode(payload) + "." +
         bottle::base64url_encode("HOSTILE-CLI-SIGNATURE");
}

std::string codex_auth(const std::string& access_token) {
  const std::string id = jwt(R"({"exp":1791234567,"https://api.openai.com/auth":{"chatgpt_account_id":"acc-1"}})");
  return R"({"auth_mode":"chatgpt","tokens":{"id_token":")" + id + R"(","access_token":")" + access_token +
         R"(","refresh_token":"rt_HOSTILE_CLI","account_id":"acc-1"},"last_refresh":"2026-09-20T10:11:12Z"})";
}

class HostileCli {
 public:
  HostileCli() {
    fs::create_directories(home_.path() / "fake");
    fs::create_directories(host() / "ws");
    const fs::path docker = home_.path() / "fake" / "docker";
    std::ofstream(docker) << "#!/bin/sh\n"
                             "printf '%s\\n' \"$*\" >> \"$FAKE_DOCKER_LOG\"\n"
                             "if [ \"$1\" = ps ]; then printf '%b' \"${FAKE_DOCKER_PS:-}\"; fi\n"
                             "exit 0\n";
    fs::permissions(docker, fs::perms::owner_all);
    home_.env()["BOTTLE_DOCKER"] = docker.string();
    home_.env()["FAKE_DOCKER_LOG"] = (home_.path() / "fake" / "docker.log").string();
    home_.env()["HOME"] = host().string();
    home_.env()["CODEX_HOME"] = (host() / ".codex").string();
    home_.env()["CLAUDE_CONFIG_DIR"] = (host() / ".claude").string();
    home_.env()["PATH"] = "/usr/local/bin:/usr/bin:/bin";

    // What a user already has: one stored bottle and the egress CA.
    const bottle::StateDirs dirs{home_.path() / "config", home_.path() / "state"};
    bottle::BottleSpec keep;
    keep.name = "keep";
    bottle::SpecStore(dirs).save(keep);
    bottle::SystemRunner runner;
    bottle::ensure_egress_ca(runner, dirs);
  }

  fs::path host() const { return home_.path() / "host"; }

  bottle::ProcessResult run(const Row& row) {
    for (const auto& [name, text] : row.files) {
      fs::create_directories((host() / name).parent_path());
      std::ofstream(host() / name, std::ios::binary) << text;
    }
    // The harness adds variables to the test's own environment; `env -u` is what
    // takes one away.
    const auto saved = home_.env();
    std::vector<std::string> argv{"/usr/bin/env"};
    for (const auto& [name, value] : row.env) {
      if (value) {
        home_.env()[name] = *value;
      } else {
        home_.env().erase(name);
        argv.insert(argv.end(), {"-u", name});
      }
    }
    argv.push_back(test_paths::bottle_cli);
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    bottle::ProcessResult r = home_.run(argv);
    home_.env() = saved;
    return r;
  }

  std::map<std::string, std::string> tree() const { return snapshot(home_.path()); }
  std::string engine_log() const { return read_all(home_.path() / "fake" / "docker.log"); }

 private:
  IntegrationHome home_;
};

}  // namespace

TEST_CASE("hostile input through bottle-cli fails cleanly and writes nothing", "[hostile][integration]") {
  using bottle::exit_code::invalid_input;
  using bottle::exit_code::usage;
  const std::vector<Row> rows{
      {"name with shell", {"create", "--name", "a;touch /tmp/pwned"}, invalid_input, "--name: may contain only"},
      {"name with newline", {"create", "--name", "a\nb"}, invalid_input, "--name: may contain only"},
      {"name leading dash", {"create", "--name", "-rf"}, invalid_input, "--name: must start and end"},
      {"name empty", {"create", "--name", ""}, invalid_input, "--name: must not be empty"},
      {"name very long", {"create", "--name", std::string(300, 'a')}, invalid_input, "--name: must be at most 48"},
      {"image option", {"create", "--name", "x", "--image", "--privileged"}, invalid_input, "--image: must not start"},
      {"allow YAML",
       {"create", "--name", "x", "--allow", "a.com\"\n  mode: audit"},
       invalid_input,
       "--allow: must be a lowercase"},
      {"env not UTF-8", {"create", "--name", "x", "-e", "A=\xff"}, invalid_input, "--env: must be valid UTF-8"},
      {"cpus exponent", {"create", "--name", "x", "--cpus", "1e3"}, usage, "--cpus: must be a whole number"},
      {"spec missing",
       {"create", "--spec", "/nonexistent/spec.json"},
       invalid_input,
       "--spec /nonexistent/spec.json: no such file"},
      {"spec path name",
       {"create", "--spec", "HOST/s.json"},
       invalid_input,
       "spec: $.name: may contain only",
       {},
       {{"s.json", R"({"name": "../../config/bottles/keep"})"}}},
      {"spec truncated",
       {"create", "--spec", "HOST/s.json"},
       invalid_input,
       "spec: not valid JSON at line 1",
       {},
       {{"s.json", R"({"name": "x", "workspaces": [)"}}},
      {"spec not UTF-8",
       {"create", "--spec", "HOST/s.json"},
       invalid_input,
       "spec: not valid JSON: not UTF-8 at byte 10",
       {},
       {{"s.json", "{\"name\": \"\xfe\"}"}}},
      {"spec value_file root",
       {"create", "--spec", "HOST/s.json"},
       invalid_input,
       "$.egress.routes[0].value_file: must name a file",
       {},
       {{"s.json",
         R"({"name": "x", "egress": {"routes": [{"name": "r", "hosts": ["a.com"], "dummy": "bottle-dummy-r", "value_file": "/"}]}})"}}},
      {"stop path", {"stop", "../keep"}, invalid_input, "NAME: may contain only"},
      {"rm option", {"rm", "-rf", "keep"}, usage, "rm: unknown option '-rf'"},
      {"config show path", {"config", "show", "../../etc/passwd"}, invalid_input, "NAME: may contain only"},
      {"render newline", {"render", "pipelock", "keep\n"}, invalid_input, "NAME: may contain only"},
      {"exec user shell", {"exec", "-u", "root;id", "keep", "--", "true"}, invalid_input, "exec: --user: must match"},
      {"unknown command escape", {"\x1b]0;x\x07"}, usage, "unknown command '\\x1b]0;x\\x07'"},
      {"BOTTLE_HOME relative",
       {"ls"},
       invalid_input,
       "environment variable BOTTLE_HOME: must be an absolute path",
       {{"BOTTLE_HOME", "relative/home"}}},
      {"no home at all",
       {"ls"},
       invalid_input,
       "environment variable HOME: not set",
       {{"BOTTLE_HOME", std::nullopt},
        {"HOME", std::nullopt},
        {"XDG_CONFIG_HOME", std::nullopt},
        {"XDG_STATE_HOME", std::nullopt}}},
      {"XDG_STATE_HOME relative",
       {"ls"},
       invalid_input,
       "environment variable XDG_STATE_HOME: must be an absolute path",
       {{"BOTTLE_HOME", std::nullopt}, {"XDG_STATE_HOME", "state"}}},
      {"CODEX_HOME relative",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "environment variable CODEX_HOME: must be an absolute path",
       {{"CODEX_HOME", "codex"}}},
      {"CODEX_HOME mount option",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "environment variable CODEX_HOME: must not contain ':'",
       {{"CODEX_HOME", "/tmp/c:/etc:rw"}}},
      {"auth.json missing",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "auth.json: no such file (log in on the host first"},
      {"auth.json truncated",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "auth.json: not valid JSON",
       {},
       {{".codex/auth.json", codex_auth(jwt(R"({"exp":1})")).substr(0, 40)}}},
      {"auth.json not UTF-8",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "auth.json: not valid JSON: not UTF-8",
       {},
       {{".codex/auth.json", "{\"auth_mode\": \"\xc3\"}"}}},
      {"access token 2 segments",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "auth.json: tokens.access_token: expected 3 segments, got 2",
       {},
       {{".codex/auth.json", codex_auth("eyJhIjoxfQ.eyJhIjoxfQ")}}},
      {"access exp string",
       {"create", "--name", "x", "--agent", "codex", "--forward-host-credentials"},
       invalid_input,
       "auth.json: tokens.access_token: exp: must be an integer number of seconds, not a string",
       {},
       {{".codex/auth.json", codex_auth(jwt(R"({"exp":"1791234567"})"))}}},
      {"claude expiresAt string",
       {"create", "--name", "x", "--agent", "claude", "--forward-host-credentials"},
       invalid_input,
       ".credentials.json: claudeAiOauth.expiresAt: must be an integer",
       {},
       {{".claude/.credentials.json",
         R"({"claudeAiOauth":{"accessToken":"sk-ant-oat01-HOSTILE","refreshToken":"sk-ant-ort01-HOSTILE","expiresAt":"soon","scopes":["user:inference"]}})"}}},
      {"docker ps hostile name",
       {"ls"},
       bottle::exit_code::failure,
       "docker ps: line 1: label io.bottle.name is not a valid",
       {{"FAKE_DOCKER_PS", "\\033]0;EVIL\\007\\trunning\\t2026-11-26 18:50:00 +0000 UTC\\tbottle\\n"}}},
  };
  HostileCli cli;
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      Row resolved = row;
      for (auto& arg : resolved.args)
        if (arg.rfind("HOST/", 0) == 0) arg = (cli.host() / arg.substr(5)).string();
      const auto before = cli.tree();
      const bottle::ProcessResult r = cli.run(resolved);
      INFO("stderr: " << r.err);
      CHECK(r.code == row.code);
      CHECK_THAT(r.err, Catch::StartsWith("bottle-cli: error: ") && Catch::Contains(row.expected));
      CHECK(r.err.find("HOSTILE") == std::string::npos);
      CHECK(r.err.find("EVIL") == std::string::npos);
      CHECK(r.err.find('\x1b') == std::string::npos);
      CHECK(cli.tree() == before);
      // The engine was at most asked what exists (ps) and to clean up (rm).
      std::istringstream log(cli.engine_log());
      for (std::string line; std::getline(log, line);) {
        INFO("docker " << line);
        CHECK((line.rfind("ps ", 0) == 0 || line.rfind("rm ", 0) == 0 || line.rfind("network rm ", 0) == 0));
      }
    }
  }
}
