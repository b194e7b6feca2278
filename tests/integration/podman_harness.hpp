#pragma once
// Real rootful Podman for integration tests: a containers.conf this process's
// limits allow, and images copied from Docker's store (docker save | podman load),
// so no hand-made Podman state is assumed.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli_harness.hpp"

// Podman as root sets RLIMIT_NOFILE to 1048576 in every container; where root may
// not raise its own limits (inside an unprivileged container, as in CI), runc then
// fails with "error setting rlimits". containers.conf's default_ulimits replaces
// Podman's defaults; the values here are ones this process may set.
inline void use_podman(IntegrationHome& home, const std::vector<std::string>& images = {"bottle-test:latest"}) {
  struct rlimit files {};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  const auto conf = home.path() / "containers.conf";
  std::ofstream(conf) << "[containers]\ndefault_ulimits = [\"nofile=" << files.rlim_max << ":" << files.rlim_max
                      << "\", \"nproc=4096:4096\"]\n";
  home.env()["CONTAINERS_CONF"] = conf.string();
  for (const auto& image : images) {
    const auto loaded =
        home.run({"bash", "-c", "set -o pipefail; docker save \"$1\" | podman load -q >/dev/null", "bash", image});
    INFO(image << ": " << loaded.err);
    REQUIRE(loaded.ok());
  }
}

// The gateway of Podman's default network: where the host is, seen from an egress
// container (and where a test's parent proxy listens).
inline std::string podman_gateway(IntegrationHome& home) {
  const auto r =
      home.run({"podman", "network", "inspect", "podman", "--format", "{{range .Subnets}}{{.Gateway}}{{end}}"});
  INFO(r.err);
  REQUIRE(r.ok());
  std::string gateway = r.out;
  while (!gateway.empty() && (gateway.back() == '\n' || gateway.back() == ' ')) gateway.pop_back();
  return gateway;
}
