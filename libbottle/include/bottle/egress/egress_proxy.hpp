#pragma once
// bottle-egress's connection loop, the egress engine every bottle runs. One thread,
// Asio coroutines, OpenSSL:
//   * CONNECT host:port: every tunnel is intercepted. The agent's TLS is terminated
//     with a leaf for host minted from the bottle CA (ALPN http/1.1; the SNI must
//     name the CONNECT host), each request inside is parsed strictly
//     (http_request.hpp), checked and swapped (credential_swap.hpp) and sent upstream
//     over new TLS verified against the system roots plus the upstream CA, through
//     the parent proxy's CONNECT when there is one. The answer streams back through
//     the reverse swap (reflect_scrub.hpp) without being buffered.
//   * plain HTTP in absolute form: the same rules (any dummy in it is blocked).
//   * limits: head size, line length, field count and request body size; idle and
//     head (slowloris) timeouts; a cap on open connections (503 past it).
//   * the audit log (options.confdir holding audit.json): one record per request
//     or refused CONNECT, as the Python addon writes them.
//   * a broker route's token and revoke requests: answered by its TokenBroker
//     (on a thread of its own: it blocks), never forwarded; its new dummies swapped
//     at once and kept in <confdir>/bottle_broker_state.json.
//   * WebSocket: the upgrade swapped like a request (extensions stripped), then
//     frames relayed both ways, each client message checked for a dummy bound
//     elsewhere (found: the connection closes) and, when injected, the upstream's
//     messages reverse-swapped.

#include <memory>
#include <string>
#include <string_view>

#include "bottle/egress/egress_proxy_options.hpp"

namespace bottle {

class EgressProxy {
 public:
  /// Reads the CA (Error(invalid_input) naming "--ca") and the routes file (naming
  /// "--routes" or the bad route field) and the upstream CA ("--upstream-ca").
  explicit EgressProxy(const ProxyOptions& options);
  ~EgressProxy();
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  /// Bind and listen. Error(isolation) when the address cannot be bound (egress must
  /// not half-start). Returns "host:port" as listened on.
  std::string listen();
  /// Serve until SIGTERM or SIGINT.
  void run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The line bottle-egress prints on stdout once it listens, and only then (it also
/// sends READY=1 to $NOTIFY_SOCKET then): {"event": "ready", "listen": "H:P"}.
std::string egress_ready_line(std::string_view listening);

}  // namespace bottle
