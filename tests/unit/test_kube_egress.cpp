// What a bottle's egress in a cluster carries from the host (ops/kube_egress): the
// logins as copies without their refresh tokens, brokers that never refresh, the
// CA and the upstream, and how the generator puts them in the Secret and the pod.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "bottle/core/state.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/egress/egress_routes_file.hpp"
#include "bottle/kube/kube_objects.hpp"
#include "bottle/ops/kube_egress.hpp"
#include "env_guard.hpp"
#include "error_of.hpp"
#include "kube_fixtures.hpp"
#include "temp_dir.hpp"

namespace json = boost::json;
using namespace bottle;

namespace {

constexpr std::string_view real_access = "sk-ant-oat01-REALclusterACCESStoken0123456789";
constexpr std::string_view real_refresh = "sk-ant-ort01-REALclusterREFRESHtokenNeverLeaves";
// RFC 4648 base64, as a Secret's data holds it.
std::string base64_decode(std::string_view text) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const std::size_t at = alphabet.find(c);
    if (at == std::string_view::npos) continue;  // '=' padding
    bits = (bits << 6) | static_cast<std::uint32_t>(at);
    if ((count += 6) >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

constexpr std::string_view fake_cert = "-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n";

}  // namespace

TEST_CASE("kube egress: a login copy for a cluster loses its refresh token and nothing else", "[kube]") {
  const std::string codex =
      R"({"auth_mode":"chatgpt","tokens":{"access_token":"A","refresh_token":"R","id_token":"I"},"n":1})";
  CHECK(json::parse(login_copy_for_cluster(codex, "/tokens/refresh_token", "/h/auth.json")) ==
        json::parse(R"({"auth_mode":"chatgpt","tokens":{"access_token":"A","id_token":"I"},"n":1})"));
  // Already without one (a second broker on the same file): unchanged.
  CHECK(json::parse(login_copy_for_cluster(R"({"tokens":{"access_token":"A"}})", "/tokens/refresh_token", "f")) ==
        json::parse(R"({"tokens":{"access_token":"A"}})"));
  CHECK(json::parse(login_copy_for_cluster(R"({"a~b":{"c/d":"R","e":1}})", "/a~0b/c~1d", "f")) ==
        json::parse(R"({"a~b":{"e":1}})"));
  CHECK(error_of([] { login_copy_for_cluster("[1]", "/tokens/refresh_token", "/h/auth.json"); }) ==
        "/h/auth.json: is not a JSON object");
  CHECK(error_of([] { login_copy_for_cluster(R"({"tokens":"R"})", "/tokens/refresh_token", "/h/auth.json"); }) ==
        "/h/auth.json: /tokens/refresh_token does not lead through JSON objects");
}

TEST_CASE("kube egress: the Secret holds the login without its refresh token and egress never refreshes", "[kube]") {
  TempDir host;
  TempDir state;
  const json::object creds{{"claudeAiOauth", json::object{{"accessToken", real_access},
                                                          {"refreshToken", real_refresh},
                                                          {"expiresAt", 1791234567000},
                                                          {"scopes", json::array{"user:inference"}},
                                                          {"subscriptionType", "max"}}}};
  write_file_atomic(host.path() / ".credentials.json", json::serialize(creds), 0600);
  write_file_atomic(host.path() / ".claude.json", R"({"oauthAccount":{"emailAddress":"dev@example.com"}})", 0600);
  write_file_atomic(host.path() / "upstream-ca.pem", fake_cert, 0644);
  TestEnv env;
  env.set("CLAUDE_CONFIG_DIR", host.path().string());
  env.set("BOTTLE_EGRESS_UPSTREAM", "http://10.1.2.3:3128");
  env.set("BOTTLE_EGRESS_UPSTREAM_CA", (host.path() / "upstream-ca.pem").string());
  const StateDirs dirs{state.path() / "config", state.path() / "state"};
  write_file_atomic(dirs.state / "ca" / "mitmproxy-ca.pem", "KEY\n" + std::string(fake_cert), 0600);
  write_file_atomic(dirs.state / "ca" / "mitmproxy-ca-cert.pem", fake_cert, 0644);

  BottleSpec spec = kube_sample_spec();
  spec.agent = AgentKind::claude;
  spec.egress.routes.clear();
  spec.forward_host_credentials = true;
  const ForwardedCredentials forwarded = prepare_forwarded_credentials(env.host(), spec);
  save_forwarded_state(dirs, spec.name, forwarded);

  const KubeInputs inputs = kube_egress_inputs(env.host(), dirs, spec);
  REQUIRE(inputs.routes.size() == 1);
  const std::string host_file = (host.path() / ".credentials.json").string();
  CHECK(inputs.routes[0].value_file == host_file);
  const json::value copy = json::parse(inputs.value_files.at(host_file));
  CHECK(copy.at("claudeAiOauth").at("accessToken").as_string() == real_access);
  CHECK_FALSE(copy.at("claudeAiOauth").as_object().contains("refreshToken"));
  CHECK(inputs.value_files.at(host_file).find(real_refresh) == std::string::npos);
  REQUIRE(inputs.brokers.size() == 1);
  CHECK(inputs.brokers.at(inputs.routes[0].name).host_refreshes);
  CHECK(inputs.brokers.at(inputs.routes[0].name).dummy_refresh_tokens == forwarded.dummies);
  CHECK(inputs.parent_proxy == "http://10.1.2.3:3128");
  CHECK(inputs.upstream_ca_pem == fake_cert);
  CHECK(inputs.ca_pem == "KEY\n" + std::string(fake_cert));
  CHECK(inputs.agent_ca_bundle.find(fake_cert) != std::string::npos);

  // The generator: the Secret carries the copy and the upstream CA; egress's
  // routes file marks the broker; its argv has the parent proxy and the CA.
  const auto objects = kube_objects(spec, {.namespace_name = "agents"}, inputs);
  const json::object secret = kube_object_of(objects, "Secret");
  const json::object& data = secret.at("data").as_object();
  CHECK(base64_decode(data.at("upstream-ca.pem").as_string()) == fake_cert);
  CHECK(base64_decode(data.at("value-0").as_string()) == inputs.value_files.at(host_file));
  for (const auto& o : objects) CHECK(json::serialize(o).find(real_refresh) == std::string::npos);
  const json::object& routes = objects.at(3);
  REQUIRE(routes.at("metadata").at("name").as_string() == "bottle-api-routes");
  const auto parsed = parse_egress_routes(std::string(routes.at("data").at("routes.json").as_string()));
  REQUIRE(parsed.at(0).broker);
  CHECK(parsed.at(0).broker->host_refreshes);
  CHECK(parsed.at(0).value_file == "/run/bottle/egress/secret/value-0");
  json::object egress_pod;
  for (const auto& o : objects)
    if (o.at("kind").as_string() == "Pod" && o.at("metadata").at("name").as_string() == "bottle-api-egress")
      egress_pod = o;
  const json::array& args = egress_pod.at("spec").at("containers").at(0).at("args").as_array();
  const auto after = [&](std::string_view flag) -> std::string {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i].as_string() == flag) return std::string(args[i + 1].as_string());
    return "(none)";
  };
  CHECK(after("--parent-proxy") == "http://10.1.2.3:3128");
  CHECK(after("--upstream-ca") == "/run/bottle/egress/secret/upstream-ca.pem");
}
