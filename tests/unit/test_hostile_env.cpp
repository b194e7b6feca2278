// Hostile input at the environment entry points: BOTTLE_HOME and the XDG
// directories (state.cpp), BOTTLE_EGRESS_UPSTREAM/_CA (egress_setup.cpp) and the
// agents' own CODEX_HOME / CLAUDE_CONFIG_DIR. Each row sets the variables, and
// the reader must throw Error(invalid_input) naming the variable and the problem.

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "bottle/egress/egress_setup.hpp"

using namespace bottle;

namespace {

// The Host one row reads: exactly `values`, nothing from the process.
Host host_of(const std::map<std::string, std::optional<std::string>>& values) {
  Host::Environment environment;
  for (const auto& [name, value] : values)
    if (value) environment.emplace(name, *value);
  return Host(environment);
}

struct Row {
  std::string label;
  std::map<std::string, std::optional<std::string>> env;
  std::function<void(const Host&)> read;
  std::string expected;
};

const std::function<void(const Host&)> state_dirs = [](const Host& h) { StateDirs::from_environment(h); };
const std::function<void(const Host&)> upstream = [](const Host& h) { EgressUpstream::from_environment(h); };
const std::function<void(const Host&)> codex_path = [](const Host& h) { codex_auth_path_from_environment(h); };
const std::function<void(const Host&)> claude_path = [](const Host& h) { claude_credentials_path_from_environment(h); };

}  // namespace

TEST_CASE("hostile environment variables are rejected by name", "[hostile][env]") {
  const std::string long_path = "/" + std::string(5000, 'a');
  const std::vector<Row> rows{
      {"BOTTLE_HOME relative",
       {{"BOTTLE_HOME", "bottle-home"}},
       state_dirs,
       "environment variable BOTTLE_HOME: must be an absolute path"},
      {"BOTTLE_HOME dot",
       {{"BOTTLE_HOME", "."}},
       state_dirs,
       "environment variable BOTTLE_HOME: must be an absolute path"},
      {"BOTTLE_HOME tilde",
       {{"BOTTLE_HOME", "~/bottle"}},
       state_dirs,
       "environment variable BOTTLE_HOME: must be an absolute path"},
      {"BOTTLE_HOME leading dash",
       {{"BOTTLE_HOME", "-rf"}},
       state_dirs,
       "environment variable BOTTLE_HOME: must be an absolute path"},
      {"BOTTLE_HOME shell",
       {{"BOTTLE_HOME", "$(id)"}},
       state_dirs,
       "environment variable BOTTLE_HOME: must be an absolute path"},
      {"XDG_CONFIG_HOME relative",
       {{"XDG_CONFIG_HOME", "cfg"}, {"HOME", "/home/u"}},
       state_dirs,
       "environment variable XDG_CONFIG_HOME: must be an absolute path"},
      {"XDG_STATE_HOME relative",
       {{"XDG_STATE_HOME", "state"}, {"HOME", "/home/u"}},
       state_dirs,
       "environment variable XDG_STATE_HOME: must be an absolute path"},
      {"HOME relative", {{"HOME", "home/u"}}, state_dirs, "environment variable HOME: must be an absolute path"},
      {"no HOME and no XDG", {}, state_dirs, "environment variable HOME: not set"},
      {"only XDG_CONFIG_HOME", {{"XDG_CONFIG_HOME", "/c"}}, state_dirs, "environment variable HOME: not set"},
      {"upstream https",
       {{"BOTTLE_EGRESS_UPSTREAM", "https://pipelock:8888"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL"},
      {"upstream option",
       {{"BOTTLE_EGRESS_UPSTREAM", "--mode=transparent"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL"},
      {"upstream host only",
       {{"BOTTLE_EGRESS_UPSTREAM", "pipelock:8888"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL"},
      {"upstream CA relative",
       {{"BOTTLE_EGRESS_UPSTREAM_CA", "ca.pem"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM_CA: must be an absolute path"},
      {"upstream no host",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream no port",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://pipelock"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream space",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://a b:8888"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream newline option",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://x:1\n--y"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream port too big",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://h:99999"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream port zero",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://h:0"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream credentials",
       {{"BOTTLE_EGRESS_UPSTREAM", "http://user:pw@h:8888"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT"},
      {"upstream CA mount option",
       {{"BOTTLE_EGRESS_UPSTREAM_CA", "/ca.pem:/etc:rw"}},
       upstream,
       "environment variable BOTTLE_EGRESS_UPSTREAM_CA: must not contain ':'"},
      {"CODEX_HOME relative",
       {{"CODEX_HOME", ".codex"}, {"HOME", "/home/u"}},
       codex_path,
       "environment variable CODEX_HOME: must be an absolute path"},
      {"CODEX_HOME mount option",
       {{"CODEX_HOME", "/tmp/c:/etc:rw"}, {"HOME", "/home/u"}},
       codex_path,
       "environment variable CODEX_HOME: must not contain ':'"},
      {"CODEX_HOME newline",
       {{"CODEX_HOME", "/tmp/c\n-v /:/host"}, {"HOME", "/home/u"}},
       codex_path,
       "environment variable CODEX_HOME: must not contain control characters"},
      {"CODEX_HOME very long",
       {{"CODEX_HOME", long_path}, {"HOME", "/home/u"}},
       codex_path,
       "environment variable CODEX_HOME: is too long"},
      {"HOME with comma for codex",
       {{"HOME", "/home/a,b"}},
       codex_path,
       "environment variable HOME: must not contain ','"},
      {"no HOME for codex", {}, codex_path, "environment variable HOME: not set"},
      {"CLAUDE_CONFIG_DIR relative",
       {{"CLAUDE_CONFIG_DIR", "claude"}, {"HOME", "/home/u"}},
       claude_path,
       "environment variable CLAUDE_CONFIG_DIR: must be an absolute path"},
      {"CLAUDE_CONFIG_DIR dot dot",
       {{"CLAUDE_CONFIG_DIR", "/home/u/../../etc"}, {"HOME", "/home/u"}},
       claude_path,
       "environment variable CLAUDE_CONFIG_DIR: must not contain '..'"},
      {"CLAUDE_CONFIG_DIR not UTF-8",
       {{"CLAUDE_CONFIG_DIR", "/home/\xff"}, {"HOME", "/home/u"}},
       claude_path,
       "environment variable CLAUDE_CONFIG_DIR: must be valid UTF-8"},
      {"HOME relative for claude", {{"HOME", "u"}}, claude_path, "environment variable HOME: must be an absolute path"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      std::string message;
      {
        const Host host = host_of(row.env);
        try {
          row.read(host);
          FAIL("accepted a hostile environment");
        } catch (const Error& e) {
          CHECK(e.kind() == ErrorKind::invalid_input);
          message = e.what();
        }
      }
      CHECK_THAT(message, Catch::StartsWith(row.expected));
      CHECK(message.find('\n') == std::string::npos);
    }
  }
}
