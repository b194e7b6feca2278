#include <catch2/catch.hpp>

#include "bottle/core/error.hpp"
#include "bottle/spec/spec.hpp"

using namespace bottle;

TEST_CASE("a full spec parses, with comments and trailing commas", "[spec]") {
  const BottleSpec s = parse_spec(R"({
    // a comment
    "name": "api-work",
    "backend": "smolmachines",
    "agent": "codex",
    "image": "registry.local/agents:1.2",
    "user": "dev",
    "workspaces": [{"host": "/src/api", "guest": "/work", "read_only": true}, "/src/lib"],
    "env": {"FOO": "bar", "_X1": ""},
    "egress": {"enabled": true, "routes": [{"name": "gh", "hosts": ["api.github.com"],
               "header": "Authorization", "dummy": "bottle-dummy-gh-token", "value_file": "/home/u/.gh",
               "value_json_pointer": "/token"}]},
    "allowlist": ["github.com", "*.githubusercontent.com"],
    "forward_host_credentials": true,
    "prompt_file": "/src/api/PROMPT.md",
    "resources": {"cpus": 2, "memory_mib": 4096},
  })");
  CHECK(s.name == "api-work");
  CHECK(s.backend == BackendKind::smolmachines);
  CHECK(s.agent == AgentKind::codex);
  CHECK(s.user == "dev");
  CHECK(s.workspaces == std::vector<Mount>{{"/src/api", "/work", true}, {"/src/lib", "/workspace", false}});
  CHECK(s.egress.routes.at(0).value_json_pointer == "/token");
  CHECK(s.allowlist.size() == 2);
  CHECK(s.forward_host_credentials);
  CHECK(s.resources == Resources{2, 4096});
  CHECK(s.guest_workdir() == "/work");
}

TEST_CASE("a minimal spec gets defaults and round-trips through JSON", "[spec]") {
  const BottleSpec s = parse_spec(R"({"name": "a"})");
  CHECK(s.backend == BackendKind::docker);
  CHECK(s.agent == AgentKind::claude);
  CHECK(s.image == "bottle-agent:latest");
  CHECK(s.user == "node");
  CHECK(s.guest_workdir() == "/home/node");
  CHECK(parse_spec(spec_to_json(s)) == s);
}

TEST_CASE("bad specs are rejected with the JSON path and the reason", "[spec]") {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({})", "spec: $: missing key \"name\""},
      {R"({"name": "a", "colour": "red"})", "spec: $.colour: unknown key"},
      {R"({"name": 5})", "spec: $.name: must be a string"},
      {R"({"name": "A"})", "spec: $.name: may contain only lowercase letters, digits, '-' and '_'"},
      {R"({"name": "-a"})", "spec: $.name: must start and end with a lowercase letter or digit"},
      {R"({"name": "a--b"})", "spec: $.name: must not contain \"--\""},
      {R"({"name": "a;rm -rf"})", "spec: $.name: may contain only"},
      {R"({"name": "a\nb"})", "spec: $.name: may contain only"},
      {R"({"name": "..")", "spec: not valid JSON"},
      {R"({"name": "a", "backend": "nomad"})",
       "spec: $.backend: must be \"docker\", \"smolmachines\", \"kubernetes\" or \"podman\""},
      {R"({"name": "a", "agent": "gpt"})", "spec: $.agent: must be \"claude\" or \"codex\""},
      {R"({"name": "a", "image": "-v"})", "spec: $.image: must not start with '-'"},
      {R"({"name": "a", "image": "x y"})", "spec: $.image: may contain only"},
      {R"({"name": "a", "workspaces": [{"host": "rel/path"}]})",
       "spec: $.workspaces[0].host: must be an absolute path"},
      {R"({"name": "a", "workspaces": [{"host": "/a:b"}]})", "spec: $.workspaces[0].host: must not contain ':'"},
      {R"({"name": "a", "workspaces": [{"host": "/a/../etc"}]})", "spec: $.workspaces[0].host: must not contain '..'"},
      {R"({"name": "a", "workspaces": [{"guest": "/x"}]})", "spec: $.workspaces[0]: missing key \"host\""},
      {R"({"name": "a", "workspaces": [{"host": "/a", "mode": "rw"}]})", "spec: $.workspaces[0].mode: unknown key"},
      {R"({"name": "a", "workspaces": ["/a", "/b"]})", "spec: $.workspaces[1].guest: is mounted twice"},
      {R"({"name": "a", "env": {"1X": "v"}})", "spec: $.env.1X: must be an environment variable name"},
      {R"({"name": "a", "env": {"A=B": "v"}})", "spec: $.env[\"A=B\"]: must be an environment variable name"},
      {R"({"name": "a", "env": {"A": 1}})", "spec: $.env.A: must be a string"},
      {R"({"name": "a", "env": {"A": "x\u0000y"}})", "spec: $.env.A: must not contain NUL bytes"},
      {R"({"name": "a", "allowlist": ["Evil.COM"]})", "spec: $.allowlist[0]: must be a lowercase hostname"},
      {R"({"name": "a", "allowlist": ["a..b"]})", "spec: $.allowlist[0]: must not have empty labels"},
      {R"({"name": "a", "allowlist": ["x\"\n  mode: audit"]})", "spec: $.allowlist[0]: must be a lowercase hostname"},
      {R"({"name": "a", "forward_host_credentials": "yes"})",
       "spec: $.forward_host_credentials: must be true or false"},
      {R"({"name": "a", "resources": {"cpus": 1.5}})", "spec: $.resources.cpus: must be an integer"},
      {R"({"name": "a", "resources": {"cpus": 999}})", "spec: $.resources.cpus: must be an integer from 0 to 256"},
      {R"({"name": "a", "resources": {"memory_mib": 10}})",
       "spec: $.resources.memory_mib: must be 0 (default) or from 64"},
      {R"({"name": "a", "egress": {"routes": [{"hosts": []}]}})",
       "spec: $.egress.routes[0].hosts: must list at least one host"},
      {R"({"name": "a", "egress": {"routes": [{"hosts": ["a.com"], "dummy": "short"}]}})",
       "spec: $.egress.routes[0].dummy: must be at least 8 characters"},
      {R"({"name": "a", "egress": {"routes": [{"hosts": ["a.com"], "dummy": "long-enough", "value_file": "/f", "header": "Bad Header"}]}})",
       "spec: $.egress.routes[0].header: must be an HTTP header name"},
      {R"([1, 2])", "spec: $: must be an object"},
      {"{\"name\": \"\xff\"}", "spec: not valid JSON"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    try {
      parse_spec(c.json);
      FAIL("accepted a bad spec");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      CHECK_THAT(e.what(), Catch::StartsWith(c.message));
    }
  }
}

TEST_CASE("bottle names: the boundaries", "[spec]") {
  CHECK_NOTHROW(validate_bottle_name("a"));
  CHECK_NOTHROW(validate_bottle_name("a_b-9"));
  CHECK_NOTHROW(validate_bottle_name(std::string(48, 'a')));
  CHECK_THROWS_WITH(validate_bottle_name(std::string(49, 'a')), Catch::Contains("at most 48"));
  CHECK_THROWS_WITH(validate_bottle_name(""), Catch::Contains("must not be empty"));
  CHECK_THROWS_WITH(validate_bottle_name("a-"), Catch::Contains("must start and end"));
  CHECK_THROWS_WITH(validate_bottle_name("é"), Catch::Contains("may contain only"));
  CHECK_THROWS_WITH(validate_bottle_name(std::string("a\0b", 3)), Catch::Contains("may contain only"));
}
