// One agent connection: requests on the proxy port (CONNECT, or plain HTTP in
// absolute form), and inside a CONNECT tunnel the agent's TLS terminated with a leaf
// for the CONNECT host, then its requests one after another.
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <variant>

#include "bottle/core/error.hpp"
#include "bottle/egress/credential_swap.hpp"
#include "bottle/egress/proxy_messages.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

struct HeadRead {
  std::optional<std::size_t> end;  ///< the head is buffered[0, end)
  std::optional<HttpRefusal> refusal;
};

// Wait for the next request's head: `idle` for its first byte, then `head` for the
// whole of it, however slowly it trickles in (slowloris). Neither end nor refusal:
// the agent closed the connection.
asio::awaitable<HeadRead> read_head(Conn& conn, std::string& buffered, const ProxyOptions& options) {
  bool started = !buffered.empty();
  conn.expires_after(started ? options.timeouts.head : options.timeouts.idle);
  while (true) {
    HeadScan scan = find_head_end(buffered, options.limits);
    if (scan.refusal) co_return HeadRead{.refusal = std::move(scan.refusal)};
    if (scan.end) co_return HeadRead{.end = scan.end};
    if (co_await conn.read_some(buffered) == 0) co_return HeadRead{};
    if (!started) {
      started = true;
      conn.expires_after(options.timeouts.head);
    }
  }
}

// Take the next request's head off `buffered`: nullopt when the connection ends
// (the refusal, if any, has been answered).
asio::awaitable<std::optional<RequestHead>> next_request(Conn& conn, std::string& buffered, const ProxyOptions& options,
                                                         const RequestPlace& place) {
  const HeadRead read = co_await read_head(conn, buffered, options);
  std::optional<HttpRefusal> refusal = read.refusal;
  if (!read.end && !refusal) co_return std::nullopt;
  if (read.end) {
    auto parsed = parse_request_head(std::string_view(buffered).substr(0, *read.end), place, options.limits);
    buffered.erase(0, *read.end);
    if (auto* head = std::get_if<RequestHead>(&parsed)) co_return std::move(*head);
    refusal = std::get<HttpRefusal>(parsed);
  }
  log_event("refused", {{"status", std::to_string(refusal->status)}, {"reason", refusal->reason}});
  co_await conn.write(refusal_response(refusal->status, "bottle egress: " + refusal->reason));
  co_return std::nullopt;
}

bool same_host(const char* sni, const std::string& host) {
  const std::string_view name(sni);
  if (name.size() != host.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(name[i])) != host[i]) return false;
  return true;
}

// The agent's TLS inside CONNECT `authority`, then its requests. `early` holds bytes
// the agent sent after the CONNECT head (the start of its ClientHello).
asio::awaitable<void> serve_tunnel(ProxyState& state, beast::tcp_stream stream, Authority authority,
                                   std::string early) {
  auto client = std::make_unique<TlsConn>(stream.release_socket(), state.server_tls.native_handle(),
                                          TlsConn::Side::server, std::move(early));
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const MintedLeaf& leaf = state.minter.leaf_for(authority.host, now.count());
  SSL* ssl = client->native_handle();
  if (SSL_use_certificate(ssl, leaf.x509.get()) != 1 || SSL_use_PrivateKey(ssl, state.minter.key()) != 1)
    throw Error(ErrorKind::internal, "egress TLS", "cannot use the minted leaf certificate");
  client->expires_after(state.options.timeouts.head);
  try {
    co_await client->handshake();
  } catch (const boost::system::system_error& e) {
    log_event("tls_failed", {{"host", authority.host}, {"reason", e.code().message()}});
    co_return;
  }
  // The certificate is for the CONNECT host; a client naming another host in its SNI
  // is asking for something else than where the tunnel goes.
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni != nullptr ? !same_host(sni, authority.host) : !authority.is_ip_literal) {
    log_event("refused", {{"host", authority.host}, {"reason", "TLS server name differs from the CONNECT host"}});
    co_return;
  }

  const RequestPlace place = RequestPlace::tunnel(authority);
  std::string buffered;
  std::unique_ptr<Conn> upstream;
  Authority upstream_authority;
  while (true) {
    const auto head = co_await next_request(*client, buffered, state.options, place);
    if (!head) co_return;
    if (!co_await relay_exchange(state, *client, buffered, *head, true, upstream, upstream_authority)) co_return;
  }
}

asio::awaitable<void> serve_proxy_port(ProxyState& state, beast::tcp_stream& stream) {
  const auto client = borrowed_conn(stream);
  std::string buffered;
  std::unique_ptr<Conn> upstream;
  Authority upstream_authority;
  while (true) {
    const auto head = co_await next_request(*client, buffered, state.options, RequestPlace::proxy());
    if (!head) co_return;
    if (head->method != "CONNECT") {
      if (!co_await relay_exchange(state, *client, buffered, *head, false, upstream, upstream_authority)) co_return;
      continue;
    }
    // A dummy in the CONNECT request itself would travel in clear text.
    const SwapDecision decision =
        check_and_swap(state.routes,
                       {.is_connect = true,
                        .host = head->authority.host,
                        .haystacks = request_haystacks(head->target, head->fields, "")},
                       [](const SwapRoute&) -> std::string { throw ValueUnavailable("not swapped in CONNECT"); });
    if (decision.action == SwapDecision::Action::block) {
      log_event("blocked", {{"host", head->authority.host}, {"route", decision.route}, {"reason", decision.reason}});
      ExchangeAudit audit(state, *head);
      audit.decide("blocked", decision.reason, decision.route);
      audit.set_status(decision.status);
      audit.finish();
      co_await client->write(refusal_response(decision.status, decision.message));
      co_return;
    }
    co_await client->write("HTTP/1.1 200 Connection established\r\n\r\n");
    upstream.reset();
    co_await serve_tunnel(state, std::move(stream), head->authority, std::move(buffered));
    co_return;
  }
}

// Close a plain connection gracefully: stop sending, then drop what the agent still
// sends for a moment. Closing with unread bytes would reset the connection, and a
// reset can destroy the refusal egress just wrote before the agent reads it.
asio::awaitable<void> linger(beast::tcp_stream& stream) {
  if (!stream.socket().is_open()) co_return;  // handed to a tunnel, or closed
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 4096> sink{};
  for (std::size_t total = 0; !ec && total < (std::size_t{1} << 20);)
    total += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

asio::awaitable<void> serve_connection(ProxyState& state, tcp::socket socket) {
  ++state.active;
  struct Release {
    std::size_t& active;
    ~Release() { --active; }
  } release{state.active};
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream stream(std::move(socket));
  try {
    if (state.active > state.options.max_connections) {
      log_event("refused", {{"status", "503"}, {"reason", "too many connections"}});
      const auto client = borrowed_conn(stream);
      client->expires_after(state.options.timeouts.head);
      co_await client->write(refusal_response(503, "bottle egress: too many connections"));
      co_return;
    }
    co_await serve_proxy_port(state, stream);
    co_await linger(stream);
  } catch (const boost::system::system_error&) {
    // The agent or the upstream went away, or a timeout closed the connection.
  } catch (const std::exception& e) { log_event("error", {{"reason", e.what()}}); }
}

}  // namespace bottle::egress_proxy
