#pragma once
// The credential decision for bottle-egress: given a request and the routes, forward
// it (with each route's exact dummy swapped for the real value in the route's header,
// on the route's own hosts only), or block it. The same rules as today's egress addon
// (tests/oracle/egress-addon/bottle_egress.py, check_and_swap):
//   * a dummy of a route seen anywhere in a request (target, percent-decoded target,
//     any field name or value, the body) whose destination or Host is not one of the
//     route's hosts -> 403 "dummy sent to unbound host". A route's guarded dummies
//     (its id and refresh tokens) may also go to its token hosts (the broker's).
//   * any dummy in a CONNECT request or in plain http -> 403: a real value only ever
//     travels inside TLS.
//   * for each route whose dummy is in one of its header's values: every dummy of
//     the route in those values is replaced by the real value, longest dummy first;
//     a real value that cannot be read -> 502, and the dummy is not forwarded.
//   * a dummy elsewhere in a request to the route's own host (a body, another
//     header) is harmless and forwarded as is.
// Pure: the real value comes from a callback (route_value.hpp reads the host file).

#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/http_request.hpp"

namespace bottle {

struct SwapRoute {
  std::string name;
  std::set<std::string> hosts;        ///< lowercase; where the real value may go
  std::set<std::string> token_hosts;  ///< the broker's token hosts (lowercase); empty without one
  std::string header;                 ///< the field the dummy is swapped in
  std::vector<std::string> dummies;   ///< swapped: the routes file's, then minted ones
  std::vector<std::string> guarded;   ///< never swapped, only kept off foreign hosts
};

/// What check_and_swap looks at in a request.
struct SwapRequest {
  bool is_connect = false;
  bool https = true;                       ///< inside a TLS tunnel egress terminated
  std::string host;                        ///< where it goes, lowercase
  std::optional<std::string> host_header;  ///< the Host field's host part, lowercase
  std::vector<HttpField> fields;
  /// Every place a dummy could hide, as bytes (request_haystacks()).
  std::vector<std::string> haystacks;
};

/// The target, its percent-decoded form, each field as "name\0value", and the body.
std::vector<std::string> request_haystacks(std::string_view target, const std::vector<HttpField>& fields,
                                           std::string_view body);

/// Thrown by the real-value callback: the value cannot be used (`what()` says why,
/// never the value).
struct ValueUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
using RealValueSource = std::function<std::string(const SwapRoute&)>;

struct Injection {
  std::size_t route = 0;  ///< index into the routes
  std::string real;       ///< for the reverse swap of the answer
  std::string dummy;      ///< the (longest) dummy the bottle sent
};

struct SwapDecision {
  enum class Action { forward, block };
  Action action = Action::forward;
  int status = 0;                   ///< block: 403 or 502
  std::string route;                ///< the route that decided, "" when none did
  std::string reason;               ///< for the audit log: "dummy sent to unbound host", ...
  std::string message;              ///< the answer's body; names route and host, never a value
  std::string blocked_host;         ///< block 403: the host the dummy was going to
  std::vector<HttpField> fields;    ///< forward: the fields to send, dummies swapped
  std::vector<Injection> injected;  ///< forward: one per route swapped
};

SwapDecision check_and_swap(const std::vector<SwapRoute>& routes, const SwapRequest& request,
                            const RealValueSource& real_value);

}  // namespace bottle
