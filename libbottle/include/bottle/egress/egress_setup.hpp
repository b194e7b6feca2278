#pragma once
// The host-side files one bottle's egress proxy runs from, under
// <state>/bottles/NAME/egress/ (the run directory; a host-side egress also keeps
// its pid file and log there):
//   conf/mitmproxy-ca.pem, conf/mitmproxy-ca-cert.pem   a copy of the user's egress CA
//                                                       (egress writes its audit log
//                                                       and broker state next to it)
//   routes/routes.json                                  routes, with value files as the
//                                                       egress process sees them
//   agent-ca/ca-bundle.pem                              the agent's CA bundle, where the
//                                                       engine mounts it (Podman)
// Real credentials stay in the host's own files. An egress container gets their
// directories mounted (see EgressFiles::host_mounts); an egress on the host reads
// them in place. Either way it re-reads them on every change.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bottle/core/host.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// Where mounted host directories appear inside the egress container.
inline constexpr std::string_view egress_host_mount_root = "/run/bottle/host";

struct RouteMounts {
  std::vector<EgressRoute> routes;  ///< value_file rewritten to the mounted path
  /// (host directory, mounted directory) pairs, one per distinct value_file directory.
  std::vector<std::pair<std::string, std::string>> mounts;
  bool operator==(const RouteMounts&) const = default;
};

/// Map each route's value_file into `mount_root`/<n>/<file name>, mounting the file's
/// directory rather than the file, so that a host tool replacing the file by rename
/// is still seen. Pure.
RouteMounts map_route_files(const std::vector<EgressRoute>& routes, std::string_view mount_root);

/// Where egress sends traffic on: pipelock's listener ("http://host:port") when
/// pipelock runs, and, for test set-ups only, a CA file trusted for upstream servers.
/// From BOTTLE_EGRESS_UPSTREAM and BOTTLE_EGRESS_UPSTREAM_CA.
struct EgressUpstream {
  std::string proxy;
  std::string trusted_ca_file;
  static EgressUpstream from_environment(const Host& host);
  bool operator==(const EgressUpstream&) const = default;
};

/// Where the egress process runs, which decides how it sees host files.
///   container  next to the bottle, the host files it needs mounted (map_route_files)
///   host       a process on the host, host files as they are
///   cluster    a pod among the bottle's own objects (kubernetes): it sees no host
///              file; what it needs travels in its Secret (kube_egress.hpp), so the
///              files written here are the host's record only
enum class EgressPlacement { container, host, cluster };

struct EgressFiles {
  std::filesystem::path run_dir;
  std::filesystem::path conf_dir;
  std::filesystem::path routes_dir;
  std::vector<std::pair<std::string, std::string>> host_mounts;  ///< container placement only
  /// agent-ca/: the agent's CA bundle (ca-bundle.pem, public) on engines that mount
  /// it into the bottle (EgressCommands::agent_ca_from_host()); see
  /// write_agent_ca_dir().
  std::filesystem::path agent_ca_dir;
};

/// The agent CA bundle's file name in EgressFiles::agent_ca_dir.
inline constexpr std::string_view agent_ca_file_name = "ca-bundle.pem";
/// Write `bundle` (system roots + egress CA cert: public) atomically as
/// agent_ca_dir/ca-bundle.pem, 0644 in a 0755 directory, so that the bottle's
/// non-root user can read it through the mount. Throws Error(io).
void write_agent_ca_dir(const EgressFiles& files, std::string_view bundle);

/// Write (atomically, 0600 files in 0700 directories) the files above for `spec`
/// with `routes` (the spec's own plus forwarding's); the token brokers accept only
/// `bottle_dummies` as refresh tokens (see render_egress_routes). Throws Error(io) / Error(not_found).
EgressFiles write_egress_files(const StateDirs& dirs, const BottleSpec& spec, const EgressCa& ca,
                               const std::vector<EgressRoute>& routes, EgressPlacement placement,
                               const std::vector<std::string>& bottle_dummies = {});

/// The same paths without writing anything (for start/remove of an existing bottle).
EgressFiles egress_files_of(const StateDirs& dirs, const BottleSpec& spec, const std::vector<EgressRoute>& routes,
                            EgressPlacement placement);

}  // namespace bottle
