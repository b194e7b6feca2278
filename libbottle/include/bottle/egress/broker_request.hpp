#pragma once
// What bottle-egress's token broker makes of a request to a vendor token endpoint,
// before any host login is touched: the same rules as today's broker
// (tests/oracle/egress-addon/bottle_broker.py, Broker.handles / Broker.answer / parse_body).
//   * a revoke or logout path: answered 200 {} locally (a bottle never logs the host out);
//   * anything but POST: 405;
//   * a body (JSON when the content type says json or the text starts with '{', else a
//     form) whose grant_type is not "refresh_token": 403 unauthorized_client;
//   * a refresh token that is missing, empty, not UTF-8, or not one of the bottle's
//     placeholders (when the route lists them): 403 unauthorized_client;
//   * else: refresh, with the placeholder the bottle sent.
// Pure: the refresh itself (single refresher, host write-back) is another step.

#include <map>
#include <string>
#include <string_view>

#include "bottle/egress/egress_config.hpp"

namespace bottle {

/// Whether the broker answers (host, path): a token host, and the token path or a
/// revoke path (the query string is ignored).
bool broker_handles(const EgressBroker& broker, std::string_view host, std::string_view path);

/// The string members of a token request body: a JSON object's (non-string members
/// dropped, the last of duplicate keys wins), or a form's (application/x-www-form-
/// urlencoded as Python's parse_qsl reads it: '&'-separated, '+' is a space, %XX
/// decoded, fields without '=' or with an empty value dropped, the last wins).
std::map<std::string, std::string> parse_token_body(std::string_view body, std::string_view content_type);

struct BrokerVerdict {
  enum class Kind { revoke, refresh, refuse };
  Kind kind = Kind::refuse;
  int status = 0;             ///< revoke: 200; refuse: 405 or 403; refresh: 0 (decided later)
  std::string body_json;      ///< the answer's JSON body (revoke, refuse)
  std::string event;          ///< for the log: revoked, blocked
  std::string reason;         ///< for the log
  std::string refresh_token;  ///< refresh: the placeholder the bottle sent
  bool operator==(const BrokerVerdict&) const = default;
};

BrokerVerdict classify_broker_request(const EgressBroker& broker, std::string_view method, std::string_view path,
                                      std::string_view body, std::string_view content_type);

}  // namespace bottle
