#pragma once
// `bottle-egress ensure-fresh`: create's refresh of the host login before a bottle's
// dummies are minted from it (host_refresh.hpp runs it). The same step as the token
// broker's (TokenBroker::current_host_login): the host file locked, re-read, one
// refresh POST through the same upstream path as egress (the parent proxy, or a
// public address), verified TLS, the rotated tokens written back atomically.
//
//   bottle-egress ensure-fresh --kind codex|claude --host-file FILE --min-valid SECONDS
//                              [--parent-proxy http://HOST:PORT] [--upstream-ca FILE]
//
// stdout "fresh" or "refreshed", exit 0; exit 3 when the host session is dead (sign
// in again on the host), 4 when it could not refresh now, 2 on bad arguments. No
// token appears in the argv, the output or a message.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bottle/credentials/host_refresh.hpp"
#include "bottle/egress/http_request.hpp"

namespace bottle {

struct EnsureFreshRequest {
  AgentKind agent = AgentKind::codex;
  std::filesystem::path host_file;
  std::int64_t min_valid_s = host_refresh_window_s;
  std::optional<Authority> parent_proxy;
  std::optional<std::string> upstream_ca;
};

/// Parse ensure-fresh's arguments (after "ensure-fresh"); --upstream-ca defaults to
/// `env_upstream_ca`. Bad arguments: Error(usage) naming the argument. Pure.
EnsureFreshRequest parse_ensure_fresh_args(const std::vector<std::string>& args,
                                           const std::optional<std::string>& env_upstream_ca);

struct EnsureFreshResult {
  HostRefreshOutcome outcome = HostRefreshOutcome::unavailable;
  std::string reason;  ///< why not fresh (never a secret); empty when fresh or refreshed
};

/// Bring the host login up to date (see above). Never throws for a failed refresh:
/// that is the result.
EnsureFreshResult ensure_fresh_host_login(const EnsureFreshRequest& request);

}  // namespace bottle
