#pragma once
// What the parts of bottle-egress's connection loop share (private to libbottle):
// one byte-stream interface over plain TCP and TLS, the proxy's state, and the
// coroutines the server, the session and the upstream side run.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/audit_writer.hpp"
#include "bottle/egress/broker_dummy_store.hpp"
#include "bottle/egress/egress_proxy_options.hpp"
#include "bottle/egress/egress_routes_file.hpp"
#include "bottle/egress/leaf_cert.hpp"
#include "bottle/egress/reflect_scrub.hpp"
#include "bottle/egress/route_value.hpp"
#include "bottle/egress/token_broker.hpp"

namespace bottle::egress_proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

/// A connection egress reads and writes, plain or TLS. Failures (and timeouts, which
/// close the socket) throw boost::system::system_error.
class Conn {
 public:
  virtual ~Conn() = default;
  /// Append what arrives next to `into`; 0 when the peer has finished (a TLS peer
  /// that closed without close_notify counts as finished: the HTTP framing decides
  /// whether that cut a message short).
  virtual asio::awaitable<std::size_t> read_some(std::string& into) = 0;
  virtual asio::awaitable<void> write(std::string_view data) = 0;
  /// Every operation from now on fails once `timeout` has passed.
  virtual void expires_after(std::chrono::steady_clock::duration timeout) = 0;
  /// Whether an operation failed because that time had passed.
  virtual bool timed_out() const = 0;
  virtual void close() = 0;
};

std::unique_ptr<Conn> plain_conn(beast::tcp_stream stream);
/// A plain connection over `stream`, which must outlive it (a CONNECT moves the stream into TLS).
std::unique_ptr<Conn> borrowed_conn(beast::tcp_stream& stream);

/// TLS that egress drives itself over a non-blocking socket (tls_conn.cpp). Every
/// record that has arrived is read at once (up to 64 KiB per read_some) and a write
/// goes out in one send; an idle connection holds no record buffers. (asio's
/// ssl::stream reads and sends one record per system call, through four 17 KiB
/// buffers it keeps for the connection's life.) Failures throw
/// boost::system::system_error: OpenSSL's reason in the SSL category, or the socket's.
class TlsConn final : public Conn {
 public:
  enum class Side { client, server };
  /// `early`: bytes already read from the peer (the start of its ClientHello).
  TlsConn(tcp::socket socket, SSL_CTX* context, Side side, std::string early = {});
  ~TlsConn() override;
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  /// For what must be set before the handshake (leaf, SNI, names to verify) and read after it.
  SSL* native_handle();
  /// Under the deadline set by expires_after().
  asio::awaitable<void> handshake();

  asio::awaitable<std::size_t> read_some(std::string& into) override;
  asio::awaitable<void> write(std::string_view data) override;
  void expires_after(std::chrono::steady_clock::duration timeout) override;
  bool timed_out() const override;
  void close() override;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

/// An upstream egress could not reach: answered to the agent with `status`.
struct UpstreamRefused {
  int status = 502;
  std::string reason;  ///< for the answer and the log; names hosts, never a value
};

struct ProxyState;

/// The token brokers of the broker routes and the dummies they minted.
struct BrokerRoutes {
  std::vector<std::unique_ptr<TokenBroker>> brokers;  ///< per route; nullptr without a broker
  std::unique_ptr<BrokerDummyStore> store;            ///< <confdir>/bottle_broker_state.json, or memory only
  asio::thread_pool thread{1};                        ///< where TokenBroker::answer runs (it blocks)

  /// Add the store's dummies to the routes' swap and guard lists (at start).
  void restore(ProxyState& state);
  /// Add `answer`'s new dummies to route `index` at once, and to the store.
  void remember(ProxyState& state, std::size_t index, const BrokerAnswer& answer);
};

/// The way to an upstream: the parent proxy, or directly to public addresses only
/// (options), with TLS verified by `client_tls`. Both outlive every use.
struct UpstreamPath {
  const ProxyOptions& options;
  asio::ssl::context& client_tls;
};

/// Set up `client_tls` to verify upstreams: TLS 1.2 or later, the system roots plus
/// options.upstream_ca. Throws Error(invalid_input) naming --upstream-ca.
void configure_client_tls(asio::ssl::context& client_tls, const ProxyOptions& options);

struct ProxyState {
  ProxyState(ProxyOptions options, std::vector<EgressRouteEntry> routes, std::string_view ca_pem);

  UpstreamPath upstream_path() { return {options, client_tls}; }

  ProxyOptions options;
  std::unique_ptr<AuditWriter> audit;  ///< from options.confdir (read first); nullptr: no audit log
  std::vector<EgressRouteEntry> entries;
  std::vector<SwapRoute> routes;  ///< entries' swap routes, for check_and_swap
  std::vector<std::unique_ptr<RouteValueFile>> values;
  LeafMinter minter;
  asio::ssl::context server_tls;   ///< the agent's side: leaves minted per host, ALPN http/1.1
  asio::ssl::context client_tls;   ///< the upstream side: system roots plus upstream_ca
  std::size_t active = 0;          ///< open agent connections
  std::vector<std::string> reals;  ///< per route, the real value last read (redacted in the log)
  /// Reverse-swap scrubbers by injected routes, real values and dummies (proxy_exchange.cpp).
  std::map<std::string, std::shared_ptr<const ReflectScrubber>> scrubbers;
  BrokerRoutes brokers;  ///< last: its thread is joined before the rest goes
};

/// The real value of routes[index], remembered in state.reals for the log's redaction.
/// Throws ValueUnavailable.
std::string read_real(ProxyState& state, std::size_t index);

/// UpstreamTokenFetch for the brokers: a POST to `url` (https) over the same upstream
/// path as the agent's requests (parent proxy or direct, verified TLS), with
/// options.timeouts.connect for the whole exchange. Blocks; runs on the broker thread.
UpstreamTokenReply post_token(const UpstreamPath& path, const std::string& url, const std::string& json_body);

/// The audit record of one request (or refused CONNECT), begun when its head is read
/// and written once: by finish(), or, when the exchange ends by an exception or an
/// early return, by the destructor with "; interrupted" added to the reason (what the
/// Python addon's error hook records). Without an audit log it does nothing. Every
/// text field is passed through redact_secrets with every dummy, guarded dummy and
/// real value egress holds.
class ExchangeAudit {
 public:
  ExchangeAudit(ProxyState& state, const RequestHead& head);
  ~ExchangeAudit();
  ExchangeAudit(const ExchangeAudit&) = delete;
  ExchangeAudit& operator=(const ExchangeAudit&) = delete;

  /// What egress decided (kept if the exchange is interrupted later).
  void decide(std::string action, std::string reason, std::string route);
  void set_status(int status) { record_.status = status; }
  void set_bytes_up(std::size_t n) { record_.bytes_up = static_cast<std::int64_t>(n); }
  void add_bytes_down(std::size_t n) { record_.bytes_down += static_cast<std::int64_t>(n); }
  /// Write the record as decided.
  void finish();
  /// Write it with the exchange cut short by `why` (the status stays as it was).
  void interrupted(std::string_view why);

 private:
  void write();
  ProxyState& state_;
  AuditRecord record_;
  std::chrono::steady_clock::time_point start_;
  bool written_ = false;
};

/// One JSON line on stderr: {"event": event, key: value, ...}. Never pass a header
/// value, a dummy or a real value.
void log_event(std::string_view event, const std::vector<std::pair<std::string, std::string>>& fields);

/// Serve one agent connection to its end.
asio::awaitable<void> serve_connection(ProxyState& state, tcp::socket socket);

class ExchangeAudit;
/// When a broker route handles the request: answer it (TokenBroker, never forwarded)
/// and return whether the agent's connection may carry another request; nullopt
/// when no broker handles it.
asio::awaitable<std::optional<bool>> answer_broker(ProxyState& state, Conn& client, const RequestHead& head,
                                                   const std::string& body, bool https, ExchangeAudit& audit);

/// After a 101 to a WebSocket upgrade: relay frames both ways until either side
/// ends (`from_client` / `from_upstream`: bytes already read past the heads). Each
/// client message is checked for a dummy bound elsewhere (found: the connection is
/// closed and the audit record says blocked); with `scrubber` (the upgrade was
/// injected) the upstream's messages are reverse-swapped. Closes both connections.
asio::awaitable<void> relay_websocket(ProxyState& state, Conn& client, Conn& upstream, std::string from_client,
                                      std::string from_upstream, const RequestHead& head,
                                      std::optional<std::string> host_header, const ReflectScrubber* scrubber,
                                      ExchangeAudit& audit);

/// A connection to `authority` (via the parent proxy when there is one, else directly
/// to a public address), with TLS verified for authority.host when `tls`. Throws
/// UpstreamRefused.
asio::awaitable<std::unique_ptr<Conn>> open_upstream(UpstreamPath path, const Authority& authority, bool tls);

/// One request read from the agent (head already parsed) relayed upstream and its
/// answer relayed back. `upstream` is the connection kept for this agent connection
/// (reused while the upstream keeps it alive, replaced when it is for another
/// authority). Returns whether the agent's connection may carry another request;
/// `buffered` holds bytes already read from the agent past the head.
asio::awaitable<bool> relay_exchange(ProxyState& state, Conn& client, std::string& buffered, const RequestHead& head,
                                     bool https, std::unique_ptr<Conn>& upstream, Authority& upstream_authority);

}  // namespace bottle::egress_proxy
