// Hostile values that are *valid* (env values, route dummies and paths full of
// JSON, YAML and shell syntax) must come out of every renderer as inert data:
// each output is parsed back and must hold exactly the value that went in.
// (pipelock YAML gets the same treatment in test_pipelock_config.cpp.)

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/frontend/render.hpp"
#include "bottle/spec/spec.hpp"

namespace json = boost::json;
using namespace bottle;

namespace {

const std::vector<std::string> hostile_values{
    "",
    "plain",
    "two words",
    "'single' \"double\"",
    "$(touch /tmp/bottle-hostile-pwned) `id` ${HOME}",
    "a\nb\r\nc",
    "tab\there",
    "\\ backslash \\n \\u0000",
    "}\"]: {\"injected\": true",
    "key: value\n- item\n# comment\n---\n...",
    "&anchor *alias !!python/object:os.system",
    "caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x94\x98 \xe2\x80\xae rtl",
    "\x1b[31mred\x1b[0m \x07 \x7f",
    "-rf --privileged",
    "%s %n {} {0}",
    std::string(4096, 'x'),
};

}  // namespace

TEST_CASE("hostile env values survive spec JSON and render_env unchanged", "[hostile][render]") {
  BottleSpec spec;
  spec.name = "hostile";
  for (std::size_t i = 0; i < hostile_values.size(); ++i) spec.env["V" + std::to_string(i)] = hostile_values[i];
  REQUIRE_NOTHROW(validate_spec(spec));

  // The stored form parses back to the same spec.
  CHECK(parse_spec(spec_to_json(spec)) == spec);

  // render_env's text, sourced by sh, sets exactly these values.
  const std::string text = render_env(spec.env);
  CHECK(text.find('\0') == std::string::npos);
  SystemRunner runner;
  for (std::size_t i = 0; i < hostile_values.size(); ++i) {
    DYNAMIC_SECTION("value " << i) {
      const std::string key = "V" + std::to_string(i);
      const ProcessResult value = runner.run(
          Command{.argv = {"/bin/sh", "-c", "eval \"$1\"; eval \"printf '%s' \\\"\\$$2\\\"\"", "sh", text, key}});
      REQUIRE(value.ok());
      CHECK(value.out == hostile_values[i]);
    }
  }
}

TEST_CASE("hostile route values survive the egress routes file unchanged", "[hostile][render]") {
  std::vector<EgressRoute> routes;
  for (const std::string& dummy : {std::string("bottle-\"quoted\"-dummy"), std::string("dummy}\\\",\"x\":\"y"),
                                   std::string("<script>dummy</script>"), std::string("dummy with spaces %s")}) {
    routes.push_back(EgressRoute{.name = "route-" + std::to_string(routes.size()),
                                 .hosts = {"api.example.com", "xn--bcher-kva.example"},
                                 .header = "X-Api-Key",
                                 .dummy = dummy,
                                 .value_file = "/home/u/we\"ird $(dir)/caf\xc3\xa9 \\ token",
                                 .value_json_pointer = "/a~1b/~0c/\"d\""});
  }
  BottleSpec spec;
  spec.name = "hostile";
  spec.egress.routes = routes;
  REQUIRE_NOTHROW(validate_spec(spec));
  CHECK(parse_spec(spec_to_json(spec)) == spec);

  const json::value doc = json::parse(render_egress_routes(routes));
  const json::array& out = doc.at("routes").as_array();
  REQUIRE(out.size() == routes.size());
  for (std::size_t i = 0; i < routes.size(); ++i) {
    INFO("route " << i);
    CHECK(out[i].at("dummy").as_string() == routes[i].dummy.c_str());
    CHECK(out[i].at("value_file").as_string() == routes[i].value_file.c_str());
    CHECK(out[i].at("value_json_pointer").as_string() == routes[i].value_json_pointer.c_str());
    CHECK(out[i].at("hosts").as_array().size() == 2);
    CHECK(out[i].as_object().size() == 6);  // nothing injected, no broker
  }
}
