// The real kubectl client reads the generated Kubernetes objects back. With no
// cluster, kubectl cannot schema-check (apply/create --dry-run=client need the API
// server's OpenAPI and discovery even with --validate=false), but
// `kubectl label --local -f -` parses the YAML stream with kubectl's own decoder and
// prints each object as JSON: that JSON must equal the tree bottle generated, with
// only the added label, so kubectl reads exactly what bottle meant, every object, in
// order. kubectl must be on PATH; without it this test fails.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/kube/kube_objects.hpp"
#include "bottle/kube/kube_yaml.hpp"

namespace json = boost::json;

namespace {

// kubectl prints one pretty JSON document per object, one after another.
std::vector<json::value> parse_json_sequence(const std::string& text) {
  std::vector<json::value> out;
  json::stream_parser parser;
  std::size_t offset = 0;
  while (offset < text.size()) {
    if (text.find_first_not_of(" \t\r\n", offset) == std::string::npos) break;
    offset += parser.write_some(text.data() + offset, text.size() - offset);
    if (parser.done()) {
      out.push_back(parser.release());
      parser.reset();
    }
  }
  REQUIRE_FALSE(parser.done());
  return out;
}

bottle::BottleSpec sample_spec() {
  bottle::BottleSpec s;
  s.name = "api_work";
  s.agent = bottle::AgentKind::claude;
  s.workspaces = {{.host = "/src/api", .guest = "/workspace", .read_only = false},
                  {.host = "/src/docs", .guest = "/docs", .read_only = true}};
  s.env = {{"QUOTE", "a \"b\" 'c' # d: e\n---"}};
  s.egress.routes = {{.name = "gh",
                      .hosts = {"api.github.com"},
                      .header = "Authorization",
                      .dummy = "bottle-dummy-gh",
                      .value_file = "/home/me/.config/gh/token",
                      .value_json_pointer = ""}};
  return s;
}

void check_round_trip(const bottle::BottleSpec& spec, const bottle::KubeOptions& options) {
  const std::vector<json::object> objects =
      bottle::kube_objects(spec, options,
                           {.routes = spec.egress.routes,
                            .brokers = {},
                            .value_files = {{"/home/me/.config/gh/token", "fake-token\n"}},
                            .ca_pem = "-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----\n",
                            .agent_ca_bundle = "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"});
  bottle::SystemRunner runner;
  // A kubeconfig that does not exist: nothing may reach a cluster.
  const auto r = runner.run({.argv = {"kubectl", "label", "--local", "-f", "-", "-o", "json", "io.bottle.checked=1"},
                             .env = {{"KUBECONFIG", "/nonexistent/bottle-test-kubeconfig"}},
                             .stdin_data = bottle::kube_yaml_stream(objects),
                             .timeout = std::chrono::seconds(60)});
  INFO(r.err << r.start_error);
  REQUIRE(r.started());  // kubectl is not installed: this test needs it
  REQUIRE(r.ok());
  const std::vector<json::value> read = parse_json_sequence(r.out);
  REQUIRE(read.size() == objects.size());
  for (std::size_t i = 0; i < objects.size(); ++i) {
    json::object expected = objects[i];
    expected["metadata"].as_object()["labels"].as_object()["io.bottle.checked"] = "1";
    INFO(json::serialize(expected) << "\nkubectl read:\n" << json::serialize(read[i]));
    CHECK(read[i] == json::value(expected));
  }
}

}  // namespace

TEST_CASE("kubectl reads the generated pod objects exactly as generated", "[kube][kubectl]") {
  check_round_trip(sample_spec(), {.namespace_name = "agents", .pipelock_image = "pipelock:test"});
}

TEST_CASE("kubectl reads the generated Sandbox and hostPath objects exactly as generated", "[kube][kubectl]") {
  check_round_trip(sample_spec(),
                   {.workspace = bottle::KubeWorkspace::host_path, .agent_object = bottle::KubeAgentObject::sandbox});
}
