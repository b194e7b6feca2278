// Hostile input at the command-line entry point, in process: run_cli with a
// recording runner, so a row that slipped through would show up as an engine
// command. Each row must exit non-zero with an error naming the flag or argument,
// run nothing, and leave the state directories untouched.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/frontend/cli.hpp"
#include "cli_fixture.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

struct Row {
  std::string label;
  std::vector<std::string> args;
  int code;
  std::string expected;  ///< a substring of stderr
};

// The CLI fixture plus the awkward files the rows name.
struct Fixture : CliFixture {
  Fixture() {
    fs::create_directories(tmp.path() / "a,b");
    fs::create_directories(tmp.path() / "new\nline");
    fs::create_directories(tmp.path() / "bad\xff");
    std::ofstream(tmp.path() / "prompt.md") << "be brief\n";
    fs::create_symlink(tmp.path() / "prompt.md", tmp.path() / "link.md");
    std::ofstream(tmp.path() / "bad.json") << "{\"name\": \"a\", \"image\": \"-x\"}";
    std::ofstream(tmp.path() / "truncated.json") << "{\"name\": ";
    std::ofstream(tmp.path() / "twice.json") << "{\"name\": \"a\", \"forward_host_credentials\": false, "
                                                "\"forward_host_credentials\": true}";
  }
};

// Every path under `root` with its content, for before/after comparison.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::string content;
    if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      content.assign(std::istreambuf_iterator<char>(in), {});
    }
    files[entry.path().string()] = content;
  }
  return files;
}

const std::string long_value(5000, 'v');

}  // namespace

TEST_CASE("hostile command-line flags are refused by name, running nothing", "[hostile][cli]") {
  const int usage = exit_code::usage, invalid = exit_code::invalid_input;
  const std::vector<Row> rows{
      {"name with shell", {"create", "--name", "a;id", "-w", "ws"}, invalid, "--name: may contain only"},
      {"name with newline", {"create", "--name", "a\nb", "-w", "ws"}, invalid, "--name: may contain only"},
      {"name leading dash", {"create", "--name", "-a", "-w", "ws"}, invalid, "--name: must start and end"},
      {"name empty", {"create", "--name", "", "-w", "ws"}, invalid, "--name: must not be empty"},
      {"name dot dot", {"create", "--name", "..", "-w", "ws"}, invalid, "--name: may contain only"},
      {"name very long", {"create", "--name", std::string(49, 'a')}, invalid, "--name: must be at most 48"},
      {"name unicode", {"create", "--name", "caf\xc3\xa9"}, invalid, "--name: may contain only"},
      {"name a flag", {"create", "--name", "--agent"}, invalid, "--name: must start and end"},
      {"name missing value", {"create", "--name"}, usage, "--name: needs a value"},
      {"backend unknown",
       {"create", "--backend", "nomad"},
       invalid,
       "--backend: must be \"docker\", \"smolmachines\", \"kubernetes\" or \"podman\""},
      {"agent padded", {"create", "--agent", "codex "}, invalid, "--agent: must be \"claude\" or \"codex\""},
      {"image option", {"create", "--image", "--privileged"}, invalid, "--image: must not start with '-'"},
      {"image with space", {"create", "--image", "a b"}, invalid, "--image: may contain only"},
      {"user shell", {"create", "--user", "root;id"}, invalid, "--user: must match"},
      {"user leading dash", {"create", "--user", "-0"}, invalid, "--user: must match"},
      {"workspace empty", {"create", "-w", ""}, usage, "--workspace: must be HOST[:GUEST[:ro]]"},
      {"workspace rw flag", {"create", "-w", "ws:/w:rw"}, usage, "--workspace: must be HOST[:GUEST[:ro]]"},
      {"workspace four parts", {"create", "-w", "ws:/w:ro:x"}, usage, "--workspace: must be HOST[:GUEST[:ro]]"},
      {"workspace missing", {"create", "-w", "nonexistent"}, usage, "--workspace: "},
      {"workspace comma", {"create", "-w", "a,b"}, invalid, "--workspace: HOST must not contain ','"},
      {"workspace newline", {"create", "-w", "new\nline"}, invalid, "--workspace: HOST must not contain control"},
      {"workspace not UTF-8", {"create", "-w", "bad\xff"}, invalid, "--workspace: HOST must be valid UTF-8"},
      {"guest relative", {"create", "-w", "ws:work"}, invalid, "--workspace: GUEST must be an absolute path"},
      {"guest dot dot", {"create", "-w", "ws:/w/../../etc"}, invalid, "--workspace: GUEST must not contain '..'"},
      {"guest comma", {"create", "-w", "ws:/w,ro"}, invalid, "--workspace: GUEST must not contain ','"},
      {"env no equals", {"create", "-e", "FOO"}, usage, "--env: must be KEY=VALUE"},
      {"env empty key", {"create", "-e", "=x"}, invalid, "--env: must be an environment variable name"},
      {"env key shell", {"create", "-e", "A;B=1"}, invalid, "--env: must be an environment variable name"},
      {"env key newline", {"create", "-e", "A\nB=1"}, invalid, "--env: must be an environment variable name"},
      {"env value too long", {"create", "-e", "A=" + long_value}, invalid, "--env: is too long"},
      {"env value not UTF-8", {"create", "-e", "A=\xc3("}, invalid, "--env: must be valid UTF-8"},
      {"allow URL", {"create", "--allow", "https://a.com"}, invalid, "--allow: must be a lowercase hostname"},
      {"allow YAML", {"create", "--allow", "a.com\n  mode: audit"}, invalid, "--allow: must be a lowercase hostname"},
      {"allow TLD wildcard", {"create", "--allow", "*.com"}, invalid, "--allow: is a wildcard over a top-level"},
      {"allow empty", {"create", "--allow", ""}, invalid, "--allow: must be a hostname of 1-253"},
      {"prompt missing", {"create", "--prompt-file", "missing.md"}, usage, "--prompt-file: "},
      {"prompt a directory", {"create", "--prompt-file", "ws"}, usage, "--prompt-file: "},
      {"prompt a symlink",
       {"create", "--prompt-file", "link.md"},
       exit_code::isolation,
       "goes through a symbolic link"},
      {"prompt with colon", {"create", "--prompt-file", "p:rompt.md"}, invalid, "--prompt-file: must not contain ':'"},
      {"cpus word", {"create", "--cpus", "lots"}, usage, "--cpus: must be a whole number from 1 to 256"},
      {"cpus zero", {"create", "--cpus", "0"}, usage, "--cpus: must be a whole number"},
      {"cpus negative", {"create", "--cpus", "-2"}, usage, "--cpus: must be a whole number"},
      {"cpus overflow", {"create", "--cpus", "99999999999999999999"}, usage, "--cpus: must be a whole number"},
      {"cpus with space", {"create", "--cpus", "2 "}, usage, "--cpus: must be a whole number"},
      {"cpus hex", {"create", "--cpus", "0x10"}, usage, "--cpus: must be a whole number"},
      {"memory float", {"create", "--memory", "512.5"}, usage, "--memory: must be a whole number from 64"},
      {"spec missing", {"create", "--spec", "missing.json"}, invalid, "--spec "},
      {"spec a directory", {"create", "--spec", "ws"}, invalid, "is a directory, not a spec file"},
      {"spec bad field", {"create", "--spec", "bad.json"}, invalid, "bad.json: spec: $.image: must not start with '-'"},
      {"spec truncated",
       {"create", "--spec", "truncated.json"},
       invalid,
       "truncated.json: spec: not valid JSON at line 1"},
      {"spec key twice",
       {"create", "--spec", "twice.json"},
       invalid,
       "twice.json: spec: $.forward_host_credentials: duplicate key"},
      {"spec endless",
       {"create", "--spec", "/dev/zero"},
       invalid,
       "--spec /dev/zero: /dev/zero: is larger than 16 MiB"},
      {"unknown flag echoed safely", {"create", "--x\x1b[2J"}, usage, "unknown option '--x\\x1b[2J'"},
      {"unknown command echoed safely", {"cr\neate"}, usage, "unknown command 'cr\\x0aeate'"},
      {"stop path", {"stop", "../x"}, invalid, "NAME: may contain only"},
      {"stop two names", {"stop", "a", "b"}, usage, "stop: takes one bottle name"},
      {"rm unknown flag", {"rm", "--forse", "a"}, usage, "rm: unknown option '--forse'"},
      {"start newline", {"start", "a\n"}, invalid, "NAME: may contain only"},
      {"config show path", {"config", "show", "../../etc/passwd"}, invalid, "NAME: may contain only"},
      {"render path", {"render", "env", "../x"}, invalid, "NAME: may contain only"},
      {"render unknown item", {"render", "secrets\n", "a"}, usage, "render: unknown item 'secrets\\x0a'"},
      {"exec env key",
       {"exec", "-e", "1A=x", "a", "--", "true"},
       invalid,
       "exec: --env: must be an environment variable"},
      {"exec user shell", {"exec", "-u", "root;id", "a", "--", "true"}, invalid, "exec: --user: must match"},
      {"exec user option", {"exec", "-u", "--privileged", "a", "--", "true"}, invalid, "exec: --user: must match"},
      {"exec name", {"exec", "a b", "--", "true"}, invalid, "NAME: may contain only"},
      {"attach name", {"attach", "$(id)"}, invalid, "NAME: may contain only"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      Fixture f;
      const auto before = snapshot(f.tmp.path());
      const int code = run_cli(row.args, f.ctx);
      INFO("stderr: " << f.err.str());
      CHECK(code == row.code);
      CHECK_THAT(f.err.str(), Catch::StartsWith("bottle-cli: error: ") && Catch::Contains(row.expected));
      CHECK(f.runner.commands().empty());
      CHECK(snapshot(f.tmp.path()) == before);
      // One error line (plus the usage hint): no argument can add lines.
      const std::string err = f.err.str();
      CHECK(std::count(err.begin(), err.end(), '\n') == (code == exit_code::usage ? 2 : 1));
    }
  }
}
