#include "bottle/kube/kube_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace bottle {

std::string kube_base_name(std::string_view bottle_name) {
  std::string base = "bottle-";
  bool changed = false;
  for (char c : bottle_name) {
    changed = changed || c == '_';
    base += c == '_' ? '-' : c;
  }
  if (!changed && base.size() <= kube_base_name_max) return base;
  std::uint32_t hash = 2166136261u;
  for (char c : bottle_name) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 16777619u;
  }
  const std::string suffix = fmt::format("-{:08x}", hash);
  base.resize(std::min(base.size(), kube_base_name_max - suffix.size()));
  while (base.back() == '-') base.pop_back();
  return base + suffix;
}

std::string KubeNames::workspace(std::size_t index) const { return fmt::format("{}-ws{}", base, index); }

KubeNames kube_names(std::string_view bottle_name, std::string_view namespace_name) {
  const std::string base = kube_base_name(bottle_name);
  return {.bottle = std::string(bottle_name),
          .namespace_name = std::string(namespace_name),
          .base = base,
          .agent = base + "-agent",
          .egress = base + "-egress",
          .routes = base + "-routes",
          .pipelock = base + "-pipelock",
          .agent_ca = base + "-agent-ca",
          .prompt = base + "-prompt",
          .clone = base + "-clone"};
}

std::string kube_service_host_variable(std::string_view service_name) {
  std::string out;
  for (char c : service_name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out + "_SERVICE_HOST";
}

}  // namespace bottle
