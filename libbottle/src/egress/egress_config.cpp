#include "bottle/egress/egress_config.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "bottle/spec/egress_route_json.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::object broker_json(const EgressBroker& b) {
  json::object o;
  o["kind"] = b.kind;
  o["token_url"] = b.token_url;
  o["token_hosts"] = string_array(b.token_hosts);
  o["token_path"] = b.token_path;
  o["revoke_paths"] = string_array(b.revoke_paths);
  o["refresh_pointer"] = b.refresh_pointer;
  o["client_id"] = b.client_id;
  o["dummy_refresh_tokens"] = string_array(b.dummy_refresh_tokens);
  if (b.host_refreshes) o["host_refreshes"] = true;
  return o;
}

}  // namespace

EgressBroker codex_egress_broker() {
  return {.kind = "codex",
          .token_url = "https://auth.openai.com/oauth/token",
          .token_hosts = {"auth.openai.com"},
          .token_path = "/oauth/token",
          .revoke_paths = {"/oauth/revoke"},
          .refresh_pointer = "/tokens/refresh_token",
          .client_id = "app_EMoamEEZ73f0CkXaXp7hrann",
          .dummy_refresh_tokens = {}};
}

EgressBroker claude_egress_broker() {
  return {.kind = "claude",
          .token_url = "https://platform.claude.com/v1/oauth/token",
          .token_hosts = {"platform.claude.com", "console.anthropic.com"},
          .token_path = "/v1/oauth/token",
          .revoke_paths = {"/v1/oauth/revoke", "/v1/oauth/logout", "/oauth/revoke", "/api/oauth/revoke"},
          .refresh_pointer = "/claudeAiOauth/refreshToken",
          .client_id = "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
          .dummy_refresh_tokens = {}};
}

std::optional<EgressBroker> default_egress_broker(const EgressRoute& route) {
  if (route.name == "codex-chatgpt" && route.value_json_pointer == "/tokens/access_token") return codex_egress_broker();
  if (route.name == "claude-oauth" && route.value_json_pointer == "/claudeAiOauth/accessToken")
    return claude_egress_broker();
  return std::nullopt;
}

std::string render_egress_routes(const std::vector<EgressRoute>& routes,
                                 const std::vector<std::string>& bottle_dummies) {
  std::map<std::string, EgressBroker> brokers;
  for (const auto& r : routes) {
    if (auto b = default_egress_broker(r)) {
      b->dummy_refresh_tokens = bottle_dummies;
      brokers.emplace(r.name, std::move(*b));
    }
  }
  return render_egress_routes(routes, brokers);
}

std::string render_egress_routes(const std::vector<EgressRoute>& routes,
                                 const std::map<std::string, EgressBroker>& brokers) {
  json::array out;
  for (const auto& r : routes) {
    json::object o = egress_route_to_json(r);
    if (const auto it = brokers.find(r.name); it != brokers.end()) o["broker"] = broker_json(it->second);
    out.emplace_back(std::move(o));
  }
  json::object doc;
  doc["version"] = egress_routes_version;
  doc["routes"] = std::move(out);
  return detail::pretty_json(doc);
}

std::vector<std::string> bottle_egress_argv(const EgressLaunch& launch) {
  std::vector<std::string> argv = {
      launch.program,
      "--listen",
      fmt::format("{}:{}", launch.listen_host, launch.listen_port),
      "--ca",
      launch.ca_file,
      "--routes",
      launch.routes_path,
      "--confdir",
      launch.confdir,
  };
  if (launch.audit_config) argv.insert(argv.end(), {"--audit-config", *launch.audit_config});
  if (launch.upstream_proxy) argv.insert(argv.end(), {"--parent-proxy", *launch.upstream_proxy});
  if (launch.upstream_trusted_ca) argv.insert(argv.end(), {"--upstream-ca", *launch.upstream_trusted_ca});
  return argv;
}

std::vector<std::string> bottle_egress_probe_argv(const std::string& program, const std::string& host,
                                                  std::uint16_t port) {
  return {program, "probe", fmt::format("{}:{}", host, port)};
}

}  // namespace bottle
