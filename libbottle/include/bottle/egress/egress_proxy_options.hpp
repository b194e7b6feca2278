#pragma once
// bottle-egress's command line, as a typed ProxyOptions (pure: argv in, options out).
//
//   bottle-egress --listen 127.0.0.1:8080 --ca /egress/ca/mitmproxy-ca.pem
//                 --routes /egress/routes.json [--parent-proxy http://pipelock:8888]
//                 [--upstream-ca FILE] [--max-connections N] [--head-timeout SECONDS]
//                 [--idle-timeout SECONDS] [--upstream-timeout SECONDS]
//                 [--allow-private-upstreams] [--confdir DIR]
//
// --confdir is the bottle's egress directory: egress reads audit.json there (no
// audit.json: no audit log) and writes the audit log and the broker's state next to it.
//
// --upstream-ca defaults to BOTTLE_EGRESS_UPSTREAM_CA (the caller passes it in, read
// through bottle::Host). Bad arguments: Error(usage) naming the argument.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/http_request.hpp"

namespace bottle {

struct ProxyTimeouts {
  /// From a request's first byte to the end of its head (slowloris).
  std::chrono::seconds head{30};
  /// Waiting for the next request, or for more of a request body, from the agent.
  std::chrono::seconds idle{120};
  /// Reaching the upstream (or the parent proxy) and its TLS handshake.
  std::chrono::seconds connect{30};
  /// Silence from the upstream while a response is awaited or streams (model streams
  /// pause for minutes).
  std::chrono::seconds upstream_idle{600};
};

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;  ///< 0: any free port
  std::string ca_file;               ///< the bottle CA's key and certificate (mitmproxy-ca.pem)
  std::string routes_file;
  /// The parent proxy (pipelock), reached by CONNECT; nullopt: connect directly,
  /// to public addresses only.
  std::optional<Authority> parent_proxy;
  std::optional<std::string> upstream_ca;  ///< PEM file trusted for upstreams besides the system roots
  /// Direct mode may reach loopback and private addresses (tests and benchmarks on
  /// one machine; bottle never passes it).
  bool allow_private_upstreams = false;
  std::optional<std::string> confdir;  ///< audit.json and the audit log; nullopt: no log
  /// The audit settings file when it is not <confdir>/audit.json (a cluster's egress
  /// pod reads it from a ConfigMap; the log is still written in confdir).
  std::optional<std::string> audit_config;
  std::size_t max_connections = 512;
  std::uint64_t max_request_body_bytes = std::uint64_t{64} << 20;  ///< a larger body: 413
  HttpLimits limits;
  ProxyTimeouts timeouts;
};

/// The `--flag value` pairs of a bottle-egress command line, in order, to
/// `option(flag, value)`; a flag in `switches` takes no value (it gets ""). A word
/// that is not a flag, or a flag without its value, is Error(usage) naming it; the
/// caller judges the rest (unknown flags, empty values, ranges).
void read_egress_options(const std::vector<std::string>& args, std::initializer_list<std::string_view> switches,
                         const std::function<void(const std::string& flag, const std::string& value)>& option);
/// `text` as a whole number from `low` to `high`; else Error(usage) naming `flag`.
std::uint64_t egress_option_number(const std::string& flag, const std::string& text, std::uint64_t low,
                                   std::uint64_t high);

/// Parse bottle-egress's arguments (argv without the program name).
ProxyOptions parse_egress_args(const std::vector<std::string>& args, const std::optional<std::string>& env_upstream_ca);

/// A parent proxy argument, http://HOST:PORT (the scheme and a trailing slash
/// optional). Error(usage) naming `arg` otherwise.
Authority parse_parent_proxy(const std::string& arg, const std::string& value);

/// `bottle-egress probe IPV4:PORT` (its arguments after "probe"): whether an egress
/// listens there, answered within a second. The egress container's readiness check:
/// its image has no shell. Bad arguments: Error(usage).
bool egress_probe(const std::vector<std::string>& args);

/// The usage text bottle-egress prints for --help and after a usage error.
std::string egress_usage();

}  // namespace bottle
