#pragma once
// A bottle spec and inputs the Kubernetes generator and pod-security tests share.

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "bottle/kube/kube_objects.hpp"
#include "bottle/spec/spec.hpp"

/// "api", codex, one workspace, 2 cpus, default memory, one route.
inline bottle::BottleSpec kube_sample_spec() {
  bottle::BottleSpec s;
  s.name = "api";
  s.agent = bottle::AgentKind::codex;
  s.workspaces = {{.host = "/src/api", .guest = "/workspace", .read_only = false}};
  s.resources.cpus = 2;
  s.egress.routes = {{.name = "gh",
                      .hosts = {"api.github.com"},
                      .header = "Authorization",
                      .dummy = "bottle-dummy-gh",
                      .value_file = "/home/me/.config/gh/token",
                      .value_json_pointer = ""}};
  return s;
}

inline bottle::KubeInputs kube_sample_inputs(const bottle::BottleSpec& spec) {
  return {.routes = spec.egress.routes,
          .brokers = {},
          .value_files = {{"/home/me/.config/gh/token", "fake-token"}},
          .ca_pem = "CA",
          .agent_ca_bundle = "BUNDLE"};
}

/// The first generated object of `kind` (fails the test when there is none).
inline boost::json::object kube_object_of(const std::vector<boost::json::object>& objects, std::string_view kind) {
  for (const auto& o : objects)
    if (o.at("kind").as_string() == kind) return o;
  FAIL("no object of kind " << kind);
  return {};
}
