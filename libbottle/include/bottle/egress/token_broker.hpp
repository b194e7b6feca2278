#pragma once
// bottle-egress's token broker: answers a bottle's token refresh locally with fresh
// dummies minted from the host's CURRENT login, refreshing that login upstream when it
// is about to lapse. Rule for rule the refresh side of tests/oracle/egress-addon/bottle_broker.py
// (Broker.answer, current_host_login, refresh_host, mint); classify_broker_request
// (broker_request.hpp) is the reading of the request before it.
//
//   * host token valid past the refresh window: mint from it, no upstream call;
//   * else exactly one refresh: the host file locked (detail::HostFileLock, the same
//     flock protocol as the Python broker, so the two exclude each other), re-read
//     under the lock (a token someone else refreshed meanwhile is reused), a POST of
//     the REAL refresh token to the vendor, and the rotated tokens written back
//     atomically (temp + fsync + rename of the symlink's target, every other field and
//     the file's mode kept);
//   * the host session is dead (401, refresh_token_expired / _reused / _invalidated,
//     invalid_grant, no refresh token): the agent's "sign in again" answer (codex: 401
//     {"error":{"code":"refresh_token_expired"}}, claude: 400 invalid_grant);
//   * anything else that fails (upstream 5xx, network, lock timeout, unreadable file):
//     503 temporarily_unavailable;
//   * EgressBroker::host_refreshes (egress in a cluster, the host pushes the login):
//     never a refresh; a token past the window but still valid is minted from, a
//     lapsed one gets the 503.
// No real token appears in an answer, an event reason or an exception message.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "bottle/core/base64url.hpp"
#include "bottle/egress/egress_config.hpp"

namespace bottle {

/// What the vendor's token endpoint answered.
struct UpstreamTokenReply {
  int status = 0;
  std::string body;
};

/// POSTs `json_body` (Content-Type and Accept application/json) to `url` through
/// egress's parent proxy. Throws (anything) when no answer came: network, TLS, proxy.
using UpstreamTokenFetch = std::function<UpstreamTokenReply(const std::string& url, const std::string& json_body)>;

/// Seconds since the epoch, as a double (the tests' seam).
using BrokerClock = std::function<double()>;
double broker_wall_clock();

/// A broker's answer to the bottle.
struct BrokerAnswer {
  int status = 0;
  std::string body_json;
  std::string event;   ///< for the log: minted, refreshed, revoked, permanent, transient, blocked
  std::string reason;  ///< for the log; never a secret
  /// A new dummy access token egress must swap from now on (empty: none).
  std::string new_dummy;
  /// Other dummies the bottle now holds (a minted id token, its refresh placeholder):
  /// egress guards them like the access dummies.
  std::vector<std::string> new_guarded;
};

struct TokenBrokerOptions {
  UpstreamTokenFetch fetch;
  BrokerClock clock = broker_wall_clock;
  std::chrono::milliseconds lock_timeout{30000};
  std::int64_t refresh_window_s = 300;  ///< refresh when the host token expires sooner
  RandomSource random = system_random_bytes;
};

/// The broker of one route; `host_file` is the route's value file (the host login).
class TokenBroker {
 public:
  TokenBroker(EgressBroker config, std::filesystem::path host_file, TokenBrokerOptions options);

  /// The answer to a request the broker handles (broker_handles() said so).
  BrokerAnswer answer(std::string_view method, std::string_view path, std::string_view body,
                      std::string_view content_type);

  /// Why the host login could not be brought up to date; what() names no secret.
  struct Failure : std::runtime_error {
    Failure(bool permanent_, const std::string& reason) : std::runtime_error(reason), permanent(permanent_) {}
    bool permanent;  ///< the host session is dead: sign in again on the host
  };

  struct HostLogin {
    boost::json::object document;  ///< the host file, current
    bool refreshed = false;        ///< this call refreshed it upstream
    boost::json::object extra;     ///< claude: account/organization from the refresh answer
  };
  /// The host login, refreshed first when it expires within the refresh window (the
  /// same step ensure-fresh runs for create). Throws Failure.
  HostLogin current_host_login();

 private:
  boost::json::object read_host() const;
  /// When the host token lapses (seconds since the epoch); nullopt: never.
  std::optional<double> expires_at(const boost::json::object& document) const;
  bool fresh(const boost::json::object& document) const;
  HostLogin refresh_host(boost::json::object document);
  BrokerAnswer mint(const HostLogin& login, const std::string& dummy_refresh_token) const;

  EgressBroker config_;
  std::filesystem::path host_file_;
  TokenBrokerOptions options_;
};

}  // namespace bottle
