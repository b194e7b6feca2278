// Hostile input at the spec-file entry point (parse_spec). Every row is a spec a
// user, a script or an attacker-controlled repository could hand to
// `bottle-cli create --spec`; each must fail with Error(invalid_input) whose
// message names the JSON path and the problem, on one line.

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/spec/spec.hpp"

using namespace bottle;

namespace {

struct Row {
  std::string label;
  std::string json;
  std::string expected;  ///< the message starts with this
};

std::string message_of(const std::string& json) {
  try {
    parse_spec(json);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    return e.what();
  }
  FAIL("accepted a hostile spec");
  return {};
}

// {"name": "a", <member>}
std::string with(const std::string& member) { return R"({"name": "a", )" + member + "}"; }

// A valid route with `members` added or replacing the valid value of the same key
// (a key given twice is an error of its own).
std::string route(const std::string& members) {
  const std::vector<std::pair<std::string, std::string>> valid{{"name", R"("gh")"},
                                                               {"hosts", R"(["api.github.com"])"},
                                                               {"dummy", R"("bottle-dummy-gh")"},
                                                               {"value_file", R"("/home/u/.gh/token")"}};
  std::string text;
  for (const auto& [key, value] : valid)
    if (members.find("\"" + key + "\":") == std::string::npos) text += "\"" + key + "\": " + value + ", ";
  return with(R"("egress": {"routes": [{)" + text + members + "}]}");
}

const std::string long_text(5000, 'x');

void run(const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = message_of(row.json);
      CHECK_THAT(message, Catch::StartsWith(row.expected));
      CHECK(message.find('\n') == std::string::npos);
    }
  }
}

}  // namespace

TEST_CASE("hostile specs: malformed JSON text", "[hostile][spec]") {
  run({
      {"empty", "", "spec: not valid JSON"},
      {"whitespace", "  \n ", "spec: not valid JSON"},
      {"truncated object", R"({"name": "a", "agent": )", "spec: not valid JSON at line 1, column 24"},
      {"truncated string", R"({"name": "a)", "spec: not valid JSON"},
      {"unterminated comment", R"({"name": "a"} /* )", "spec: not valid JSON"},
      {"two documents", R"({"name": "a"} {"name": "b"})", "spec: not valid JSON at line 1"},
      {"error on line 3", "{\n  \"name\": \"a\",\n  \"agent\" \"codex\"\n}", "spec: not valid JSON at line 3"},
      {"not UTF-8", "{\"name\": \"a\", \"image\": \"\xff\"}", "spec: not valid JSON: not UTF-8 at byte 24"},
      {"overlong UTF-8 slash", "{\"name\": \"a\", \"user\": \"\xc0\xaf\"}",
       "spec: not valid JSON: not UTF-8 at byte 23"},
      {"UTF-16 surrogate", "{\"name\": \"\xed\xa0\x80\"}", "spec: not valid JSON: not UTF-8 at byte 10"},
      {"truncated UTF-8", "{\"name\": \"a\xe2\x82", "spec: not valid JSON: not UTF-8 at byte 11"},
      {"byte order mark", "\xef\xbb\xbf{\"name\": \"a\"}", "spec: not valid JSON: starts with a byte order mark"},
      {"raw NUL", std::string("{\"name\": \"a\"}\0", 14), "spec: not valid JSON"},
      {"nested too deep", with("\"env\": " + std::string(100, '[') + std::string(100, ']')), "spec: not valid JSON"},
      {"not an object", "[\"name\"]", "spec: $: must be an object"},
      {"a string", R"("name")", "spec: $: must be an object"},
      {"null", "null", "spec: $: must be an object"},
  });
}

TEST_CASE("hostile specs: a key given twice has no single meaning", "[hostile][spec]") {
  run({
      {"top level", R"({"name": "a", "image": "x", "name": "b"})", "spec: $.name: duplicate key"},
      {"same key, escaped", R"({"name": "a", "n\u0061me": "b"})", "spec: $.name: duplicate key"},
      {"nested", with(R"("egress": {"enabled": false, "routes": [], "enabled": true})"),
       "spec: $.egress.enabled: duplicate key"},
      {"inside an array element",
       with(R"("workspaces": [{"host": "/a"}, {"host": "/b", "guest": "/w", "host": "/c"}])"),
       "spec: $.workspaces[1].host: duplicate key"},
      {"after nested arrays", with(R"("env": {"A": "1"}, "allowlist": [["x"], []], "env": {})"),
       "spec: $.env: duplicate key"},
      {"hostile key", with("\"env\": {\"a\\nb\": \"1\", \"a\\nb\": \"2\"}"), "spec: $.env[\"a\\nb\"]: duplicate key"},
  });
}

TEST_CASE("hostile specs: bottle names", "[hostile][spec]") {
  run({
      {"shell metacharacters", R"({"name": "a;rm -rf ~"})", "spec: $.name: may contain only"},
      {"command substitution", R"j({"name": "$(id)"})j", "spec: $.name: may contain only"},
      {"newline", R"({"name": "a\nb"})", "spec: $.name: may contain only"},
      {"carriage return", R"({"name": "a\r"})", "spec: $.name: may contain only"},
      {"escape sequence", R"({"name": "a\u001b[31m"})", "spec: $.name: may contain only"},
      {"leading dash", R"({"name": "-rf"})", "spec: $.name: must start and end"},
      {"trailing dash", R"({"name": "a-"})", "spec: $.name: must start and end"},
      {"dot dot", R"({"name": ".."})", "spec: $.name: may contain only"},
      {"path", R"({"name": "../etc/passwd"})", "spec: $.name: may contain only"},
      {"NUL", R"({"name": "a\u0000b"})", "spec: $.name: must not contain NUL bytes"},
      {"very long", R"({"name": ")" + std::string(49, 'a') + "\"}", "spec: $.name: must be at most 48"},
      {"huge", R"({"name": ")" + std::string(1 << 20, 'a') + "\"}", "spec: $.name: must be at most 48"},
      {"unicode", R"({"name": "caf\u00e9"})", "spec: $.name: may contain only"},
      {"right-to-left override", R"({"name": "a\u202eb"})", "spec: $.name: may contain only"},
      {"empty", R"({"name": ""})", "spec: $.name: must not be empty"},
      {"double dash", R"({"name": "a--b"})", "spec: $.name: must not contain \"--\""},
      {"a number", R"({"name": 1})", "spec: $.name: must be a string"},
      {"null", R"({"name": null})", "spec: $.name: must be a string"},
  });
}

TEST_CASE("hostile specs: image, user, backend, agent", "[hostile][spec]") {
  run({
      {"image flag", with(R"("image": "--privileged")"), "spec: $.image: must not start with '-'"},
      {"image with space", with(R"("image": "alpine --privileged")"), "spec: $.image: may contain only"},
      {"image with newline", with(R"("image": "alpine\n")"), "spec: $.image: may contain only"},
      {"image with semicolon", with(R"("image": "alpine;id")"), "spec: $.image: may contain only"},
      {"image unicode", with(R"("image": "alp\u0131ne")"), "spec: $.image: may contain only"},
      {"image very long", with("\"image\": \"" + std::string(256, 'a') + "\""), "spec: $.image: is too long"},
      {"image empty", with(R"("image": "")"), "spec: $.image: must not be empty"},
      {"user root shell", with(R"("user": "root;sh")"), "spec: $.user: must match"},
      {"user flag", with(R"("user": "-u0")"), "spec: $.user: must match"},
      {"user uppercase", with(R"("user": "Node")"), "spec: $.user: must match"},
      {"user too long", with("\"user\": \"" + std::string(33, 'u') + "\""), "spec: $.user: must be 1-32"},
      {"user newline", with(R"("user": "node\n")"), "spec: $.user: must match"},
      {"backend case", with(R"("backend": "Docker")"),
       "spec: $.backend: must be \"docker\", \"smolmachines\", \"kubernetes\" or \"podman\""},
      {"backend padded", with(R"("backend": "docker ")"), "spec: $.backend: must be"},
      {"agent NUL", with(R"("agent": "codex\u0000")"), "spec: $.agent: must not contain NUL bytes"},
      {"agent array", with(R"("agent": ["codex"])"), "spec: $.agent: must be a string"},
  });
}

TEST_CASE("hostile specs: workspaces and prompt file", "[hostile][spec]") {
  run({
      {"relative host", with(R"("workspaces": ["src"])"), "spec: $.workspaces[0].host: must be an absolute path"},
      {"dot dot host", with(R"("workspaces": ["/src/../../etc"])"),
       "spec: $.workspaces[0].host: must not contain '..'"},
      {"host ends in dot dot", with(R"("workspaces": ["/src/.."])"),
       "spec: $.workspaces[0].host: must not contain '..'"},
      {"host mount option", with(R"("workspaces": ["/src:/etc:rw"])"),
       "spec: $.workspaces[0].host: must not contain ':'"},
      {"host comma", with(R"("workspaces": ["/src,readonly"])"), "spec: $.workspaces[0].host: must not contain ','"},
      {"host newline", with(R"("workspaces": ["/src\n/etc"])"), "spec: $.workspaces[0].host: must not contain control"},
      {"host NUL", with(R"("workspaces": ["/src\u0000"])"), "spec: $.workspaces[0]: must not contain NUL bytes"},
      {"host very long", with("\"workspaces\": [\"/" + long_text + "\"]"), "spec: $.workspaces[0].host: is too long"},
      {"guest relative", with(R"("workspaces": [{"host": "/src", "guest": "work"}])"),
       "spec: $.workspaces[0].guest: must be an absolute path"},
      {"guest dot dot", with(R"("workspaces": [{"host": "/src", "guest": "/w/../../root"}])"),
       "spec: $.workspaces[0].guest: must not contain '..'"},
      {"guest tab", with(R"("workspaces": [{"host": "/src", "guest": "/w\t"}])"),
       "spec: $.workspaces[0].guest: must not contain control"},
      {"read_only string", with(R"("workspaces": [{"host": "/src", "read_only": "false"}])"),
       "spec: $.workspaces[0].read_only: must be true or false"},
      {"workspace number", with(R"("workspaces": [5])"), "spec: $.workspaces[0]: must be an object"},
      {"hostile key", with(R"("workspaces": [{"host": "/src", "x\ny": 1}])"),
       R"(spec: $.workspaces[0]["x\ny"]: unknown key)"},
      {"prompt relative", with(R"("prompt_file": "PROMPT.md")"), "spec: $.prompt_file: must be an absolute path"},
      {"prompt escape", with(R"("prompt_file": "/p\u001b]0;x\u0007")"),
       "spec: $.prompt_file: must not contain control"},
  });
}

TEST_CASE("hostile specs: env, allowlist and resources", "[hostile][spec]") {
  run({
      {"env key with '='", with(R"("env": {"A=B": "v"})"), R"(spec: $.env["A=B"]: must be an environment variable)"},
      {"env key with space", with(R"("env": {"A B": "v"})"), R"(spec: $.env["A B"]: must be an environment variable)"},
      {"env key newline", with(R"("env": {"A\nB": "v"})"), R"(spec: $.env["A\nB"]: must be an environment variable)"},
      {"env key leading dash", with(R"("env": {"-e": "v"})"), "spec: $.env.-e: must be an environment variable"},
      {"env key empty", with(R"("env": {"": "v"})"), R"(spec: $.env[""]: must be an environment variable)"},
      {"env key unicode", with(R"("env": {"\u00c4": "v"})"), "spec: $.env[\"\xc3\x84\"]: must be an environment"},
      {"env key too long", with("\"env\": {\"" + std::string(129, 'K') + "\": \"v\"}"), "spec: $.env.KKKK"},
      {"env value NUL", with(R"("env": {"A": "x\u0000y"})"), "spec: $.env.A: must not contain NUL bytes"},
      {"env value too long", with("\"env\": {\"A\": \"" + long_text + "\"}"), "spec: $.env.A: is too long"},
      {"env value object", with(R"("env": {"A": {"b": 1}})"), "spec: $.env.A: must be a string"},
      {"env an array", with(R"("env": ["A=1"])"), "spec: $.env: must be an object"},
      {"allow uppercase", with(R"("allowlist": ["GitHub.com"])"), "spec: $.allowlist[0]: must be a lowercase hostname"},
      {"allow YAML injection", with(R"("allowlist": ["a.com\"\n  mode: audit\n#"])"),
       "spec: $.allowlist[0]: must be a lowercase"},
      {"allow YAML flow", with(R"("allowlist": ["{a: b}"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow anchor", with(R"("allowlist": ["&x"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow URL", with(R"("allowlist": ["https://a.com/"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow port", with(R"("allowlist": ["a.com:443"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow IDN", with(R"("allowlist": ["b\u00fccher.de"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow leading dash", with(R"("allowlist": ["-a.com"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow empty label", with(R"("allowlist": ["a..com"])"), "spec: $.allowlist[0]: must not have empty labels"},
      {"allow trailing dot", with(R"("allowlist": ["a.com."])"), "spec: $.allowlist[0]: must not end with '.'"},
      {"allow bare star", with(R"("allowlist": ["*"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow TLD wildcard", with(R"("allowlist": ["*.com"])"), "spec: $.allowlist[0]: is a wildcard over a top-level"},
      {"allow inner star", with(R"("allowlist": ["a.*.com"])"), "spec: $.allowlist[0]: must be a lowercase"},
      {"allow long label", with("\"allowlist\": [\"" + std::string(64, 'a') + ".com\"]"),
       "spec: $.allowlist[0]: has a label longer"},
      {"allow too long", with("\"allowlist\": [\"" + std::string(250, 'a') + ".com\"]"),
       "spec: $.allowlist[0]: must be a hostname of 1-253"},
      {"cpus string", with(R"("resources": {"cpus": "2"})"), "spec: $.resources.cpus: must be an integer"},
      {"cpus negative", with(R"("resources": {"cpus": -1})"),
       "spec: $.resources.cpus: must be an integer from 0 to 256"},
      {"cpus huge", with(R"("resources": {"cpus": 18446744073709551615})"),
       "spec: $.resources.cpus: must be an integer from 0"},
      {"cpus beyond uint64", with(R"("resources": {"cpus": 1e30})"), "spec: $.resources.cpus: must be an integer"},
      {"cpus float", with(R"("resources": {"cpus": 2.0})"), "spec: $.resources.cpus: must be an integer"},
      {"memory int overflow", with(R"("resources": {"memory_mib": 4294967360})"),
       "spec: $.resources.memory_mib: must be an integer from 0"},
      {"memory too small", with(R"("resources": {"memory_mib": 1})"),
       "spec: $.resources.memory_mib: must be 0 (default) or from 64"},
      {"forward as string", with(R"("forward_host_credentials": "true")"),
       "spec: $.forward_host_credentials: must be true or false"},
      {"egress port", with(R"("egress": {"port": 70000})"), "spec: $.egress.port: must be an integer from 0 to 65535"},
  });
}

TEST_CASE("hostile specs: egress routes", "[hostile][spec]") {
  run({
      {"name with space",
       with(
           R"("egress": {"routes": [{"name": "g h", "hosts": ["a.com"], "dummy": "bottle-dummy-x", "value_file": "/f"}]})"),
       "spec: $.egress.routes[0].name: must be at most 64"},
      {"name newline",
       with(
           R"("egress": {"routes": [{"name": "gh\nx", "hosts": ["a.com"], "dummy": "bottle-dummy-x", "value_file": "/f"}]})"),
       "spec: $.egress.routes[0].name: must be at most 64"},
      {"host YAML injection",
       with(
           R"("egress": {"routes": [{"name": "gh", "hosts": ["a.com\"\n- evil.com"], "dummy": "bottle-dummy-x", "value_file": "/f"}]})"),
       "spec: $.egress.routes[0].hosts[0]: must be a lowercase hostname"},
      {"host wildcard",
       with(
           R"("egress": {"routes": [{"name": "gh", "hosts": ["*.github.com"], "dummy": "bottle-dummy-x", "value_file": "/f"}]})"),
       "spec: $.egress.routes[0].hosts[0]: must be a lowercase hostname"},
      {"no hosts",
       with(R"("egress": {"routes": [{"name": "gh", "hosts": [], "dummy": "bottle-dummy-x", "value_file": "/f"}]})"),
       "spec: $.egress.routes[0].hosts: must list at least one host"},
      {"header CRLF", route(R"("header": "Authorization\r\nX-Evil: 1")"),
       "spec: $.egress.routes[0].header: must be an HTTP header name"},
      {"header colon", route(R"("header": "Authorization:")"),
       "spec: $.egress.routes[0].header: must be an HTTP header name"},
      {"header very long", route("\"header\": \"" + long_text + "\""),
       "spec: $.egress.routes[0].header: must be an HTTP header name"},
      {"dummy CRLF", route(R"("dummy": "bottle-dummy\r\nX: 1")"),
       "spec: $.egress.routes[0].dummy: must be printable ASCII"},
      {"dummy unicode", route(R"("dummy": "bottle-dummy-\u00e9\u00e9")"),
       "spec: $.egress.routes[0].dummy: must be printable ASCII"},
      {"dummy too long", route("\"dummy\": \"" + long_text + "\""), "spec: $.egress.routes[0].dummy: is too long"},
      {"value_file relative", route(R"("value_file": "gh/token")"),
       "spec: $.egress.routes[0].value_file: must be an absolute path"},
      {"value_file tilde", route(R"("value_file": "~/.config/gh/token")"),
       "spec: $.egress.routes[0].value_file: must be an absolute path"},
      {"value_file root", route(R"("value_file": "/")"), "spec: $.egress.routes[0].value_file: must name a file"},
      {"value_file directory", route(R"("value_file": "/home/u/")"),
       "spec: $.egress.routes[0].value_file: must name a file"},
      {"value_file mount option", route(R"("value_file": "/home/u:/etc/token")"),
       "spec: $.egress.routes[0].value_file: must not contain ':'"},
      {"value_file dot dot", route(R"("value_file": "/home/u/../../etc/shadow")"),
       "spec: $.egress.routes[0].value_file: must not contain '..'"},
      {"value_file newline", route(R"("value_file": "/home/u/t\n")"),
       "spec: $.egress.routes[0].value_file: must not contain control"},
      {"pointer relative", route(R"("value_json_pointer": "tokens/access")"),
       "spec: $.egress.routes[0].value_json_pointer: must be a JSON pointer"},
      {"pointer bad escape", route(R"("value_json_pointer": "/a~2b")"),
       "spec: $.egress.routes[0].value_json_pointer: must be a JSON pointer"},
      {"pointer trailing tilde", route(R"("value_json_pointer": "/a~")"),
       "spec: $.egress.routes[0].value_json_pointer: must be a JSON pointer"},
      {"unknown route key", route(R"("broker": {})"), "spec: $.egress.routes[0].broker: unknown key"},
  });
}
