#include "bottle/egress/egress_setup.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>

#include "bottle/core/error.hpp"

#include "bottle/core/state.hpp"
#include "bottle/egress/egress_config.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

// "http://HOST:PORT" with a plain host name or IPv4 address and a port 1-65535:
// the value ends up in bottle-egress's argv (--parent-proxy), so nothing else passes.
bool valid_proxy_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return false;
  url.remove_prefix(scheme.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 253) return false;
  const std::string_view host = url.substr(0, colon), port = url.substr(colon + 1);
  const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
  if (!host_ok || host.front() == '-' || port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  const int number = std::stoi(std::string(port));
  return number >= 1 && number <= 65535;
}

}  // namespace

EgressUpstream EgressUpstream::from_environment(const Host& host) {
  EgressUpstream upstream;
  upstream.proxy = host.env_or(Var::bottle_egress_upstream, "");
  upstream.trusted_ca_file = host.env_or(Var::bottle_egress_upstream_ca, "");
  if (!upstream.proxy.empty() && !valid_proxy_url(upstream.proxy))
    throw Error(ErrorKind::invalid_input,
                "environment variable BOTTLE_EGRESS_UPSTREAM: must be an http:// URL: http://HOST:PORT");
  if (!upstream.trusted_ca_file.empty()) {
    if (upstream.trusted_ca_file.front() != '/')
      throw Error(ErrorKind::invalid_input, "environment variable BOTTLE_EGRESS_UPSTREAM_CA: must be an absolute path");
    // It is mounted into an egress container with `docker -v`, where ':' and ',' split.
    if (auto problem = path_problem(upstream.trusted_ca_file))
      throw Error(ErrorKind::invalid_input, "environment variable BOTTLE_EGRESS_UPSTREAM_CA: " + *problem);
  }
  return upstream;
}

RouteMounts map_route_files(const std::vector<EgressRoute>& routes, std::string_view mount_root) {
  RouteMounts result;
  for (EgressRoute route : routes) {
    const fs::path file(route.value_file);
    const std::string host_dir = file.parent_path().string();
    std::string mounted;
    for (const auto& [host, inside] : result.mounts)
      if (host == host_dir) mounted = inside;
    if (mounted.empty()) {
      mounted = fmt::format("{}/{}", mount_root, result.mounts.size());
      result.mounts.emplace_back(host_dir, mounted);
    }
    route.value_file = mounted + "/" + file.filename().string();
    result.routes.push_back(std::move(route));
  }
  return result;
}

namespace {

RouteMounts routes_as_seen(const std::vector<EgressRoute>& routes, EgressPlacement placement) {
  if (placement != EgressPlacement::container) return {.routes = routes, .mounts = {}};
  return map_route_files(routes, egress_host_mount_root);
}

}  // namespace

EgressFiles egress_files_of(const StateDirs& dirs, const BottleSpec& spec, const std::vector<EgressRoute>& routes,
                            EgressPlacement placement) {
  const fs::path base = dirs.bottle_state_dir(spec.name) / "egress";
  return {base, base / "conf", base / "routes", routes_as_seen(routes, placement).mounts, base / "agent-ca"};
}

void write_agent_ca_dir(const EgressFiles& files, std::string_view bundle) {
  make_private_dirs(files.run_dir);
  std::error_code ec;
  fs::create_directory(files.agent_ca_dir, ec);
  // Public content, read through a mount by the bottle's own (non-root) user.
  if (!ec) fs::permissions(files.agent_ca_dir, fs::perms(0755), ec);
  if (ec) throw Error(ErrorKind::io, fmt::format("cannot make {}: {}", files.agent_ca_dir.string(), ec.message()));
  write_file_atomic(files.agent_ca_dir / agent_ca_file_name, bundle, 0644);
}

EgressFiles write_egress_files(const StateDirs& dirs, const BottleSpec& spec, const EgressCa& ca,
                               const std::vector<EgressRoute>& routes, EgressPlacement placement,
                               const std::vector<std::string>& bottle_dummies) {
  EgressFiles files = egress_files_of(dirs, spec, routes, placement);
  // The egress process gets its own copy of the CA: it writes into its
  // confdir, and the user's CA directory stays read-only to every bottle.
  write_file_atomic(files.conf_dir / "mitmproxy-ca.pem", read_file(ca.key_and_cert), 0600);
  write_file_atomic(files.conf_dir / "mitmproxy-ca-cert.pem", ca.cert_pem, 0644);
  write_file_atomic(files.routes_dir / "routes.json",
                    render_egress_routes(routes_as_seen(routes, placement).routes, bottle_dummies), 0600);
  return files;
}

}  // namespace bottle
