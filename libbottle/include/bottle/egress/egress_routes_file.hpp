#pragma once
// The routes file (egress_config.hpp, render_egress_routes) as bottle-egress reads it:
// the same file and the same checks as the mitmproxy addon it replaced (bottle_egress.py,
// load_routes), so bottle writes the same file as before. Pure: text in, routes out.
//
//   auto routes = bottle::parse_egress_routes(text);   // Error(invalid_input) naming the field
//
// Refused (Error(invalid_input), field "routes file" or "routes[i].<key>"): not JSON,
// a version other than egress_routes_version, a missing or mistyped key, a route
// without hosts or header, a dummy shorter than 8 characters (it would match
// ordinary traffic), a broker whose kind is not "codex" or "claude" or whose
// token_url is not https.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/credential_swap.hpp"
#include "bottle/egress/egress_config.hpp"

namespace bottle {

/// One route of the routes file, ready for check_and_swap.
struct EgressRouteEntry {
  SwapRoute swap;  ///< hosts lowercase; dummies = {dummy}; guarded = the broker's other dummies
  std::string value_file;
  std::string value_json_pointer;
  /// With a broker: the token endpoint's path and the revoke paths on swap.token_hosts.
  bool has_broker = false;
  std::string token_path;
  std::vector<std::string> revoke_paths;
  /// The whole broker, for TokenBroker: the kind's defaults (codex_egress_broker(),
  /// claude_egress_broker()) overridden by the file's fields, token_hosts including
  /// token_url's host, as bottle_broker.py's BrokerConfig.from_json reads it.
  std::optional<EgressBroker> broker;
};

std::vector<EgressRouteEntry> parse_egress_routes(std::string_view text);

}  // namespace bottle
