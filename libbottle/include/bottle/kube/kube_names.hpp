#pragma once
// The names of one bottle's Kubernetes objects. Pure.
//
// Object names must be DNS labels (a Service name is a DNS-1035 label: at most 63 of
// [a-z0-9-], starting with a letter), while bottle names may hold '_' and start with
// a digit. So every object is "bottle-" + the name + a suffix, and a name that has
// '_' or is too long becomes '_' -> '-', cut, plus "-" + 8 hex digits of a hash of
// the original (FNV-1a), so two bottle names never share a base.
//
//   kube_base_name("api-work")  == "bottle-api-work"
//   kube_base_name("api_work")  == "bottle-api-work-" + 8 hex digits

#include <cstddef>
#include <string>
#include <string_view>

namespace bottle {

/// Longest base name; every suffix below is at most 10 characters, so object names
/// stay within 63.
inline constexpr std::size_t kube_base_name_max = 53;

std::string kube_base_name(std::string_view bottle_name);

struct KubeNames {
  std::string bottle;          ///< the bottle name (label value io.bottle.name)
  std::string namespace_name;  ///< metadata.namespace of every object
  std::string base;            ///< kube_base_name(bottle)
  std::string agent;           ///< BASE-agent: the agent Pod/Sandbox and its NetworkPolicy
  std::string egress;          ///< BASE-egress: egress Pod, Service, Secret, NetworkPolicy
  std::string routes;          ///< BASE-routes ConfigMap
  std::string pipelock;        ///< BASE-pipelock ConfigMap
  std::string agent_ca;        ///< BASE-agent-ca ConfigMap
  std::string prompt;          ///< BASE-prompt ConfigMap (the prompt file)
  std::string clone;           ///< BASE-clone: the PVC holding the agent's clone (clone mode)
  /// BASE-ws<i>: the PVC of workspace i.
  std::string workspace(std::size_t index) const;
};

KubeNames kube_names(std::string_view bottle_name, std::string_view namespace_name);

/// The environment variable Kubernetes sets to a Service's cluster IP in pods created
/// after it ("bottle-api-egress" -> "BOTTLE_API_EGRESS_SERVICE_HOST").
std::string kube_service_host_variable(std::string_view service_name);

}  // namespace bottle
