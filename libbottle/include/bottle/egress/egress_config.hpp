#pragma once
// The egress engine's inputs: the routes file bottle-egress reads
// (egress_routes_file.hpp), and the bottle-egress command line. Both functions are pure: no files, no clock, no env.
//
//   std::string json = bottle::render_egress_routes(spec.egress.routes);
//   auto argv = bottle::bottle_egress_argv({.program = "/usr/local/bin/bottle-egress",
//                                           .listen_host = "0.0.0.0", .listen_port = 8080,
//                                           .confdir = "/egress/conf", .routes_path = "/egress/routes.json",
//                                           .upstream_proxy = "http://pipelock:8888"});
//
// Routes file (deterministic: routes and hosts in the given order, fixed key order,
// 2-space indentation, trailing newline):
//   {
//     "version": 1,
//     "routes": [
//       {
//         "name": "codex",
//         "hosts": [
//           "chatgpt.com"
//         ],
//         "header": "Authorization",
//         "dummy": "<exact dummy string>",
//         "value_file": "/run/bottle/host/auth.json",
//         "value_json_pointer": "/tokens/access_token"   ("" = whole file, trimmed)
//       }
//     ]
//   }
// A route may also carry a token broker (egress answers the agent's token refreshes
// itself with fresh dummies, refreshing the host login when it is about to expire;
// tests/oracle/egress-addon/bottle_broker.py), as one more key after
// "value_json_pointer":
//         "broker": {
//           "kind": "codex",
//           "token_url": "https://auth.openai.com/oauth/token",
//           "token_hosts": ["auth.openai.com"],
//           "token_path": "/oauth/token",
//           "revoke_paths": ["/oauth/revoke"],
//           "refresh_pointer": "/tokens/refresh_token",
//           "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
//           "dummy_refresh_tokens": [],     ([] = any refresh token the bottle sends)
//           "host_refreshes": true          (only when set: EgressBroker::host_refreshes)
//         }
// Values are written as given: the caller validates routes (validate_spec) and maps
// host paths to the paths the addon sees (e.g. bind mounts); the addon re-checks the
// file and refuses to start on a bad one, so egress fails closed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bottle/spec/spec.hpp"

namespace bottle {

/// The routes file's format version; bottle-egress accepts exactly this one.
inline constexpr int egress_routes_version = 1;

/// The token broker of one route (see above). The host credential file is the
/// route's value_file. A host refresh is serialised by an flock on that file itself
/// (shared with `bottle_broker.py ensure-fresh`; no lock file is created) and
/// written back by temp file + rename, so its directory must be writable for egress.
struct EgressBroker {
  std::string kind;  ///< "codex" or "claude"
  std::string token_url;
  std::vector<std::string> token_hosts;
  std::string token_path;
  std::vector<std::string> revoke_paths;
  std::string refresh_pointer;  ///< RFC 6901, into the host file
  std::string client_id;
  /// The bottle's placeholder refresh tokens; empty: any refresh token the bottle
  /// sends (an egress serves one bottle, which only ever holds placeholders).
  /// Egress also guards each of them that is not the route's dummy (the id and
  /// refresh dummies): sent to any host but the route's hosts and token_hosts, the
  /// request is blocked (403), like the access dummy elsewhere.
  std::vector<std::string> dummy_refresh_tokens;
  /// The host is the login's only refresher (an egress in a cluster): the value file
  /// is a copy the host pushes, with no refresh token in it. The broker never asks
  /// the vendor; it mints from the copy while its token is still valid and answers
  /// 503 once it has lapsed. Rendered as "host_refreshes": true, only when set.
  bool host_refreshes = false;
  bool operator==(const EgressBroker&) const = default;
};

/// The broker of the two vendor token endpoints (reference §A4, §B3).
EgressBroker codex_egress_broker();
EgressBroker claude_egress_broker();

/// The broker credential forwarding's own routes get: "codex-chatgpt" reading
/// /tokens/access_token -> codex_egress_broker(), "claude-oauth" reading
/// /claudeAiOauth/accessToken -> claude_egress_broker(); nullopt for any other route.
std::optional<EgressBroker> default_egress_broker(const EgressRoute& route);

/// Routes with the brokers of `brokers` (keyed by route name) attached.
std::string render_egress_routes(const std::vector<EgressRoute>& routes,
                                 const std::map<std::string, EgressBroker>& brokers);
/// Routes with default_egress_broker() attached where it has one. Each of those
/// brokers accepts only `bottle_dummies` (the bottle's own placeholders, see
/// ForwardedCredentials::dummies) as a refresh token; empty: any.
std::string render_egress_routes(const std::vector<EgressRoute>& routes,
                                 const std::vector<std::string>& bottle_dummies = {});

/// The memory limit of every egress container or pod (Docker, Podman, Kubernetes).
/// bottle-egress streams bodies and holds about 15 MiB with 50 connections; the
/// limit keeps an agent that floods its own egress from taking the host's memory.
/// Past it the kernel stops egress, and the bottle is left with no way out.
inline constexpr int egress_memory_mib = 256;

/// How to run one egress proxy (bottle-egress). Paths are as the egress process sees them.
struct EgressLaunch {
  std::string program = "bottle-egress";  ///< argv[0]: the binary's path where it runs
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string ca_file;  ///< the bottle CA's key and certificate: leaves are minted from it
  /// Egress reads audit.json and writes its audit log and the broker's state file here.
  std::string confdir;
  std::string routes_path;
  /// The audit settings when they are not confdir's audit.json (--audit-config).
  std::optional<std::string> audit_config;
  /// Parent proxy ("http://host:port", i.e. pipelock): every connection leaves
  /// through its CONNECT. Without it bottle-egress connects directly, to public
  /// addresses only.
  std::optional<std::string> upstream_proxy;
  /// PEM file of CAs trusted for upstream servers besides the system roots
  /// (tests with a fake upstream).
  std::optional<std::string> upstream_trusted_ca;
  bool operator==(const EgressLaunch&) const = default;
};

/// argv for bottle-egress: listen address, CA, routes, confdir (audit log), the
/// parent proxy and trusted upstream CA when given.
std::vector<std::string> bottle_egress_argv(const EgressLaunch& launch);

/// argv that exits 0 once an egress listens on HOST:PORT (bottle-egress probe).
std::vector<std::string> bottle_egress_probe_argv(const std::string& program, const std::string& host,
                                                  std::uint16_t port);

}  // namespace bottle
