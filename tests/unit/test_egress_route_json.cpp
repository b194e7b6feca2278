// The one EgressRoute codec, and that every reader and writer of routes uses it.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "bottle/core/error.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/spec/egress_route_json.hpp"
#include "bottle/spec/spec.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace json = boost::json;

namespace {

EgressRoute full_route() {
  return EgressRoute{.name = "gh",
                     .hosts = {"api.github.com", "uploads.github.com"},
                     .header = "X-Token",
                     .dummy = "bottle-dummy-gh-token",
                     .value_file = "/home/u/.config/gh/token.json",
                     .value_json_pointer = "/oauth/token"};
}

}  // namespace

TEST_CASE("egress route codec: a route survives to_json and from_json unchanged", "[egress_route_json]") {
  const EgressRoute route = full_route();
  const json::value encoded = egress_route_to_json(route);
  CHECK(egress_route_from_json(encoded, "$", "test") == route);
  // And through text, as it is stored.
  CHECK(egress_route_from_json(json::parse(json::serialize(encoded)), "$", "test") == route);
}

TEST_CASE("egress route codec: fields are written in one fixed order", "[egress_route_json]") {
  CHECK(json::serialize(egress_route_to_json(full_route())) ==
        R"({"name":"gh","hosts":["api.github.com","uploads.github.com"],"header":"X-Token",)"
        R"("dummy":"bottle-dummy-gh-token","value_file":"/home/u/.config/gh/token.json",)"
        R"("value_json_pointer":"/oauth/token"})");
}

TEST_CASE("egress route codec: missing keys keep the defaults", "[egress_route_json]") {
  const EgressRoute r = egress_route_from_json(json::parse(R"({"dummy": "bottle-dummy-x"})"), "$", "test");
  CHECK(r == EgressRoute{.dummy = "bottle-dummy-x"});
  CHECK(r.header == "Authorization");
}

TEST_CASE("egress route codec: errors name the document, the path and the key", "[egress_route_json]") {
  CHECK(error_of([] {
          egress_route_from_json(json::parse(R"({"dumy": "x"})"), "$.egress.routes[1]", "spec");
        }).rfind("spec: $.egress.routes[1].dumy: unknown key", 0) == 0);
  CHECK(error_of([] { egress_route_from_json(json::parse(R"({"hosts": "a.com"})"), "$.r", "spec"); }) ==
        "spec: $.r.hosts: must be an array");
  CHECK(error_of([] { egress_route_from_json(json::parse(R"({"header": 7})"), "$.r", "spec"); }) ==
        "spec: $.r.header: must be a string");
  CHECK(error_of([] { egress_route_from_json(json::parse("[]"), "$.r", "spec"); }) == "spec: $.r: must be an object");
}

TEST_CASE("egress route codec: the spec writes and reads routes with it", "[egress_route_json]") {
  BottleSpec spec;
  spec.name = "api";
  spec.egress.routes = {full_route()};
  const json::value doc = json::parse(spec_to_json(spec));
  CHECK(doc.at("egress").at("routes").at(0) == json::value(egress_route_to_json(full_route())));
  CHECK(parse_spec(spec_to_json(spec)).egress.routes == std::vector<EgressRoute>{full_route()});
  // The spec's own errors still carry its JSON path.
  CHECK(error_of([] {
          parse_spec(R"({"name": "api", "egress": {"routes": [{"oops": 1}]}})");
        }).rfind("spec: $.egress.routes[0].oops: unknown key", 0) == 0);
}

TEST_CASE("egress route codec: routes.json carries each route as the codec writes it, plus its broker",
          "[egress_route_json]") {
  EgressRoute plain = full_route();
  const json::value doc = json::parse(render_egress_routes({plain}, std::vector<std::string>{}));
  CHECK(doc.at("routes").at(0) == json::value(egress_route_to_json(plain)));

  const EgressRoute brokered{.name = "claude-oauth",
                             .hosts = {"api.anthropic.com"},
                             .dummy = "bottle-dummy-claude",
                             .value_file = "/h/.credentials.json",
                             .value_json_pointer = "/claudeAiOauth/accessToken"};
  json::object written =
      json::parse(render_egress_routes({brokered}, std::vector<std::string>{})).at("routes").at(0).as_object();
  CHECK(written.erase("broker") == 1);
  CHECK(written == egress_route_to_json(brokered));
}

TEST_CASE("egress route codec: stored credential state round-trips its routes", "[egress_route_json]") {
  TempDir state;
  const StateDirs dirs{state.path() / "config", state.path() / "state"};
  ForwardedCredentials fc;
  fc.routes = {full_route()};
  save_forwarded_state(dirs, "work", fc);
  const auto loaded = load_forwarded_state(dirs, "work");
  REQUIRE(loaded);
  CHECK(loaded->routes == fc.routes);
}
