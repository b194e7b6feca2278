// Hostile input at the engine-output entry points: what `docker ps`, `smolvm machine
// ls --json`, `smolvm --version` and `tmux split-window -P` print. Anyone who can
// run a container can set its labels, so names and states from an engine are
// untrusted; each row must fail with Error(backend) naming the output and the
// field, never echoing a value that could reach a terminal or an argv unescaped.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/frontend/dashboard_launch.hpp"
#include "error_of.hpp"

using namespace bottle;

namespace {

struct Row {
  std::string label;
  std::string output;
  std::string expected;
};

void check_one_safe_line(const std::string& message) {
  INFO("message: " << message);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find('\x1b') == std::string::npos);
  CHECK(message.find("EVIL") == std::string::npos);
}

const std::string when = "2026-11-26 18:50:00 +0000 UTC";

std::string docker_line(const std::string& name, const std::string& state = "running",
                        const std::string& role = "bottle") {
  return name + "\t" + state + "\t" + when + "\t" + role + "\n";
}

}  // namespace

TEST_CASE("hostile docker ps output is refused, naming line and field", "[hostile][engine][docker]") {
  DockerCommands docker;
  const std::vector<Row> rows{
      {"three fields", "api\trunning\tbottle\n", "docker ps: line 1: unexpected output line (expected 4"},
      {"five fields", docker_line("api\tEVIL"), "docker ps: line 1: unexpected output line"},
      {"error text", "Cannot connect to the Docker daemon. EVIL\n", "docker ps: line 1: unexpected output line"},
      {"second line bad", docker_line("api") + "EVIL\n", "docker ps: line 2: unexpected output line"},
      {"name with shell metacharacters", docker_line("a;EVIL"),
       "docker ps: line 1: label io.bottle.name is not a valid"},
      {"name with path", docker_line("../EVIL"), "docker ps: line 1: label io.bottle.name is not a valid bottle name"},
      {"name with leading dash", docker_line("-EVIL"), "docker ps: line 1: label io.bottle.name is not a valid"},
      {"name with escape sequence", docker_line("a\x1b]0;EVIL\x07"), "docker ps: line 1: label io.bottle.name"},
      {"name with NUL", docker_line(std::string("a\0EVIL", 6)), "docker ps: line 1: label io.bottle.name"},
      {"name unicode", docker_line("caf\xc3\xa9"), "docker ps: line 1: label io.bottle.name"},
      {"name very long", docker_line(std::string(4096, 'a')), "docker ps: line 1: label io.bottle.name"},
      {"name empty", docker_line(""), "docker ps: line 1: label io.bottle.name"},
      {"state with escape sequence", docker_line("api", "running\x1b[2J"), "docker ps: line 1: the state is not"},
      {"state with spaces", docker_line("api", "Up 3 minutes EVIL"), "docker ps: line 1: the state is not"},
      {"state empty", docker_line("api", ""), "docker ps: line 1: the state is not"},
      {"unknown role", docker_line("api", "running", "EVIL"), "docker ps: line 1: label io.bottle.role must be"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { docker.parse_list(row.output); }, ErrorKind::backend);
      CHECK_THAT(message, Catch::StartsWith(row.expected));
      check_one_safe_line(message);
    }
  }
  // Tolerated, not hostile: CRLF line ends, blank lines, an unparsable CreatedAt
  // (the age is then unknown), a container from before the role label.
  const auto tolerated = docker.parse_list("\r\n" + docker_line("api").insert(docker_line("api").size() - 1, "\r") +
                                           "web\texited\tyesterday\t\n");
  REQUIRE(tolerated.size() == 2);
  CHECK(tolerated[0].name == "api");
  CHECK(tolerated[1].created_unix == 0);
}

TEST_CASE("hostile smolvm output is refused", "[hostile][engine][smolmachines]") {
  SmolmachinesCommands smol({.smolvm = "smolvm", .pty_resize = "/usr/libexec/bottle/pty-resize"});
  const std::vector<Row> rows{
      {"empty", "", "smolvm machine ls --json: output is not a JSON array"},
      {"human text", "NAME STATE\nEVIL running\n", "smolvm machine ls --json: output is not a JSON array"},
      {"truncated", R"([{"name": "bottle-api", "state": "run)", "output is not a JSON array"},
      {"object", R"({"name": "bottle-api"})", "output is not a JSON array"},
      {"not UTF-8", "[{\"name\": \"bottle-\xff\", \"state\": \"running\"}]", "output is not a JSON array"},
      {"nested too deep", std::string(200, '[') + std::string(200, ']'), "output is not a JSON array"},
      {"trailing garbage", R"([] EVIL)", "output is not a JSON array"},
      {"entry a string", R"(["bottle-api"])", "an entry lacks a string name or state"},
      {"name a number", R"([{"name": 7, "state": "running"}])", "an entry lacks a string name or state"},
      {"state missing", R"([{"name": "bottle-api"}])", "an entry lacks a string name or state"},
      {"state an object", R"([{"name": "bottle-api", "state": {"EVIL": 1}}])", "an entry lacks a string name or state"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { smol.parse_list(row.output); }, ErrorKind::backend);
      CHECK_THAT(message, Catch::StartsWith("smolvm machine ls --json: ") && Catch::Contains(row.expected));
      check_one_safe_line(message);
    }
  }
  const std::vector<Row> states{
      {"state with an escape sequence", "[{\"name\": \"bottle-api\", \"state\": \"run\\u001b[2Jning\"}]",
       "machine bottle-api: the state is not a machine state"},
      {"state empty", R"([{"name": "bottle-api", "state": ""}])",
       "machine bottle-api: the state is not a machine state"},
      {"state with spaces", R"([{"name": "bottle-api", "state": "running; rm"}])",
       "machine bottle-api: the state is not a machine state"},
  };
  for (const auto& row : states) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { smol.parse_list(row.output); }, ErrorKind::backend);
      CHECK_THAT(message, Catch::StartsWith("smolvm machine ls --json: ") && Catch::Contains(row.expected));
      check_one_safe_line(message);
    }
  }
  // Machines that only start with the prefix are not bottle's: skipped, never shown.
  const auto rows_seen = smol.parse_list(R"([{"name": "bottle-../x", "state": "running"},
      {"name": "bottle-", "state": "running"}, {"name": "bottle-A;B", "state": "running"},
      {"name": "bottle--x", "state": "running"}, {"name": "bottle-api", "state": "running"}])");
  REQUIRE(rows_seen.size() == 1);
  CHECK(rows_seen[0].name == "api");

  const std::vector<Row> versions{
      {"empty", "", ""},
      {"name only", "smolvm", ""},
      {"error text", "smolvm: error while loading shared libraries EVIL", ""},
      {"negative", "smolvm -1.0.0", ""},
      {"two parts", "smolvm 1.0", ""},
      {"empty part", "smolvm 1..0", ""},
      {"huge part", "smolvm 9999999.0.0", ""},
      {"uppercase", "SMOLVM 1.0.2", ""},
      {"leading space", " smolvm 1.0.2", ""},
  };
  for (const auto& row : versions) {
    DYNAMIC_SECTION("version: " << row.label) {
      const std::string message = error_of([&] { smolvm_grammar_for_version(row.output); }, ErrorKind::backend);
      CHECK_THAT(message, Catch::StartsWith("smolvm --version: unexpected output (expected \"smolvm X.Y.Z\")"));
      check_one_safe_line(message);
    }
  }
}

TEST_CASE("hostile tmux pane ids are refused", "[hostile][engine][tmux]") {
  const std::vector<Row> rows{
      {"empty", "", "''"},
      {"newline only", "\n", "'\\x0a'"},
      {"no percent", "12\n", "'12\\x0a'"},
      {"percent only", "%\n", "'%\\x0a'"},
      {"option", "-t\n", "'-t\\x0a'"},
      {"window id", "@3\n", "'@3\\x0a'"},
      {"two lines", "%1\n%2\n", "'%1\\x0a%2\\x0a'"},
      {"trailing text", "%1 EVIL\n", "'%1 EVIL\\x0a'"},
      {"escape sequence", "%1\x1b[2J", "'%1\\x1b[2J'"},
      {"very long", "%" + std::string(4096, '1'), "..."},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { parse_tmux_pane_id(row.output); }, ErrorKind::backend);
      CHECK_THAT(message, Catch::StartsWith("tmux split-window: expected a pane id such as %3, got ") &&
                              Catch::Contains(row.expected));
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.find('\x1b') == std::string::npos);
    }
  }
  CHECK(parse_tmux_pane_id("%12\n") == "%12");
  CHECK(parse_tmux_pane_id("%0\r\n") == "%0");
}
