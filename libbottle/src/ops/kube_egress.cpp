#include "bottle/ops/kube_egress.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "bottle/core/error.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/egress/egress_setup.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;

std::string login_copy_for_cluster(std::string_view text, std::string_view refresh_pointer, const std::string& file) {
  const auto bad = [&](std::string_view problem) {
    return Error(ErrorKind::invalid_input, fmt::format("{}: {}", file, problem));
  };
  json::error_code ec;
  json::value document = json::parse(text, ec);
  if (ec || !document.is_object()) throw bad("is not a JSON object");
  const auto tokens = detail::json_pointer_tokens(refresh_pointer);
  if (!tokens) throw bad("the refresh token's JSON pointer is empty");
  json::object* at = &document.as_object();
  for (std::size_t i = 0; i + 1 < tokens->size(); ++i) {
    json::value* next = at->if_contains((*tokens)[i]);
    if (next == nullptr) return json::serialize(document);  // no refresh token here: nothing to remove
    if (!next->is_object()) throw bad(fmt::format("{} does not lead through JSON objects", refresh_pointer));
    at = &next->as_object();
  }
  at->erase(tokens->back());
  return json::serialize(document);
}

KubeInputs kube_egress_inputs(const Host& host, const StateDirs& dirs, const BottleSpec& spec) {
  KubeInputs inputs;
  if (!spec.egress.enabled) return inputs;
  inputs.routes = spec.egress.routes;
  std::vector<std::string> dummies;
  if (const auto forwarded = load_forwarded_state(dirs, spec.name)) {
    inputs.routes.insert(inputs.routes.end(), forwarded->routes.begin(), forwarded->routes.end());
    dummies = forwarded->dummies;
  }
  for (const auto& route : inputs.routes) {
    if (auto broker = default_egress_broker(route)) {
      broker->dummy_refresh_tokens = dummies;
      broker->host_refreshes = true;
      inputs.brokers.emplace(route.name, std::move(*broker));
    }
  }
  for (const auto& route : inputs.routes) {
    if (inputs.value_files.contains(route.value_file)) continue;
    std::string content = read_file(route.value_file);
    // Every refresh token of this file stays on the host, whichever route reads it.
    for (const auto& other : inputs.routes)
      if (other.value_file == route.value_file)
        if (const auto broker = inputs.brokers.find(other.name); broker != inputs.brokers.end())
          content = login_copy_for_cluster(content, broker->second.refresh_pointer, route.value_file);
    inputs.value_files.emplace(route.value_file, std::move(content));
  }
  const EgressCa ca = egress_ca_paths(dirs);
  inputs.ca_pem = read_file(ca.key_and_cert);
  inputs.agent_ca_bundle = build_agent_ca_bundle(read_system_ca_bundle(), read_file(ca.cert));
  const EgressUpstream upstream = EgressUpstream::from_environment(host);
  inputs.parent_proxy = upstream.proxy;
  inputs.audit_max_bytes = egress_audit_max_bytes(host);
  if (!upstream.trusted_ca_file.empty()) inputs.upstream_ca_pem = read_file(upstream.trusted_ca_file);
  return inputs;
}

}  // namespace bottle
