#include "bottle/backends/egress_commands.hpp"

#include <fmt/format.h>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/egress/egress_config.hpp"

namespace bottle {

namespace {

// Paths inside an egress container.
constexpr std::string_view egress_conf_dir = "/run/bottle/egress/conf";
constexpr std::string_view egress_routes_dir = "/run/bottle/egress/routes";
constexpr std::string_view egress_upstream_ca = "/run/bottle/egress/upstream-ca.pem";

}  // namespace

// A host-side egress (or one whose engine relays the host's loopback) meets its
// parent proxy on the host's loopback.
std::string EgressCommands::parent_host_from(std::string_view) const { return "127.0.0.1"; }

std::string EgressCommands::network_subnet_from(std::string_view) const {
  throw Error(ErrorKind::internal, "this engine makes no network before its bottles");
}

Argv egress_container_create_argv(const EgressContainer& container, const EgressFiles& files,
                                  const EgressUpstream& upstream) {
  EgressLaunch launch{.program = container.program,
                      .listen_host = "0.0.0.0",
                      .listen_port = container.port,
                      .ca_file = std::string(egress_conf_dir) + "/mitmproxy-ca.pem",
                      .confdir = std::string(egress_conf_dir),
                      .routes_path = std::string(egress_routes_dir) + "/routes.json"};
  if (!upstream.proxy.empty()) launch.upstream_proxy = upstream.proxy;
  if (!upstream.trusted_ca_file.empty()) launch.upstream_trusted_ca = std::string(egress_upstream_ca);

  Argv create{container.engine, "create",
              "--name",         container.name,
              "--hostname",     "egress",
              "--label",        fmt::format("{}=1", docker_managed_label),
              "--label",        fmt::format("{}={}", docker_name_label, container.bottle),
              "--label",        fmt::format("{}=egress", docker_role_label)};
  create.insert(create.end(), container.network.begin(), container.network.end());
  const std::string memory = fmt::format("{}m", egress_memory_mib);
  create.insert(create.end(),
                {"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--pids-limit", "512", "--memory", memory,
                 "--memory-swap", memory, "-v", files.conf_dir.string() + ":" + std::string(egress_conf_dir), "-v",
                 files.routes_dir.string() + ":" + std::string(egress_routes_dir) + ":ro"});
  if (!upstream.trusted_ca_file.empty())
    create.insert(create.end(), {"-v", upstream.trusted_ca_file + ":" + std::string(egress_upstream_ca) + ":ro"});
  // The real credentials' directories, read-write: egress reads the current token on
  // every change, and its token broker locks the credential file and writes back
  // rotated tokens (temp file + rename in that directory) when it refreshes the
  // host login.
  for (const auto& [host_dir, inside] : files.host_mounts) create.insert(create.end(), {"-v", host_dir + ":" + inside});
  const Argv egress = bottle_egress_argv(launch);
  create.insert(create.end(), {"--entrypoint", egress.front(), container.image});
  create.insert(create.end(), egress.begin() + 1, egress.end());
  return create;
}

}  // namespace bottle
