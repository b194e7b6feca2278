#pragma once
// The host as a container on Docker's default bridge reaches it. Found the way an
// operator would, independently of libbottle's own lookup: the gateway the bridge's
// IPAM config lists, else the IPv4 address of the bridge's host interface (a
// freshly started dockerd 20.10 lists only the subnet).

#include <string>

#include "bottle/core/subprocess.hpp"

inline std::string docker_bridge_gateway() {
  bottle::SystemRunner runner;
  const auto first_line = [](const std::string& text) { return text.substr(0, text.find('\n')); };
  std::string gateway = first_line(
      runner
          .run({.argv = {"docker", "network", "inspect", "bridge", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"}})
          .out);
  if (!gateway.empty()) return gateway;
  std::string interface = first_line(runner
                                         .run({.argv = {"docker", "network", "inspect", "bridge", "-f",
                                                        "{{index .Options \"com.docker.network.bridge.name\"}}"}})
                                         .out);
  if (interface.empty() || interface == "<no value>") interface = "docker0";
  // "3: docker0    inet 172.17.0.1/16 brd ..." -> 172.17.0.1
  const std::string line = first_line(runner.run({.argv = {"ip", "-4", "-o", "addr", "show", "dev", interface}}).out);
  const auto inet = line.find(" inet ");
  if (inet == std::string::npos) return {};
  const std::string rest = line.substr(inet + 6);
  return rest.substr(0, rest.find('/'));
}
