// The upstream side of an exchange: a TCP connection (through the parent proxy's
// CONNECT, to the parent itself for plain HTTP, or directly to a checked public
// address), then TLS verified against the system roots plus the configured upstream
// CA, for the route's host.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "bottle/egress/public_address.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

constexpr std::size_t max_parent_reply_bytes = 16384;

// Resolver input: an IPv6 literal without its brackets.
std::string bare_host(const std::string& host) {
  return host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
}

// The status of the parent's reply to CONNECT, 0 when it is not an HTTP/1.x status line.
int status_of(std::string_view reply) {
  if (!reply.starts_with("HTTP/1.") || reply.size() < 12 || reply[8] != ' ') return 0;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return 0;
    status = status * 10 + (reply[i] - '0');
  }
  return status;
}

asio::awaitable<void> connect_to_parent(UpstreamPath path, beast::tcp_stream& stream) {
  const Authority& parent = *path.options.parent_proxy;
  tcp::resolver resolver(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  const auto endpoints = co_await resolver.async_resolve(bare_host(parent.host), std::to_string(parent.port),
                                                         asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw UpstreamRefused{502, "cannot resolve the parent proxy " + parent.text()};
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw UpstreamRefused{502, "cannot reach the parent proxy " + parent.text()};
}

asio::awaitable<void> connect_via_parent(UpstreamPath path, beast::tcp_stream& stream, const Authority& authority) {
  co_await connect_to_parent(path, stream);
  boost::system::error_code ec;
  const std::string request = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", authority.text());
  co_await asio::async_write(stream, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw UpstreamRefused{502, "the parent proxy closed the connection"};
  // Read byte by byte up to the empty line: anything after it is the upstream's,
  // and a 2xx reply to CONNECT has no body whatever its fields say (RFC 9110 §9.3.6).
  std::string reply;
  char byte = 0;
  while (!reply.ends_with("\r\n\r\n")) {
    if (reply.size() >= max_parent_reply_bytes) throw UpstreamRefused{502, "the parent proxy's reply is too long"};
    co_await stream.async_read_some(asio::buffer(&byte, 1), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) throw UpstreamRefused{502, "the parent proxy closed the connection"};
    reply += byte;
  }
  const int status = status_of(reply);
  if (status / 100 != 2) {
    // pipelock's own refusals (allowlist, rate limit) reach the agent as they are.
    const int answer = status == 403 || status == 429 ? status : 502;
    throw UpstreamRefused{answer, fmt::format("the parent proxy refused {} ({})", authority.text(), status)};
  }
}

asio::awaitable<void> connect_direct(UpstreamPath path, beast::tcp_stream& stream, const Authority& authority) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  const auto results = co_await resolver.async_resolve(bare_host(authority.host), std::to_string(authority.port),
                                                       asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw UpstreamRefused{502, "cannot resolve " + authority.host};
  // Connect to exactly the addresses checked here: no second lookup, no rebinding.
  std::vector<tcp::endpoint> allowed;
  for (const auto& entry : results)
    if (path.options.allow_private_upstreams || is_public_address(entry.endpoint().address()))
      allowed.push_back(entry.endpoint());
  if (allowed.empty()) throw UpstreamRefused{502, authority.host + " is not a public address"};
  co_await stream.async_connect(allowed, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw UpstreamRefused{502, "cannot reach " + authority.text()};
}

// SSL_set_tlsext_host_name() without its macro's C cast.
bool set_server_name(SSL* ssl, const std::string& host) {
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) == 1;
}

}  // namespace

asio::awaitable<std::unique_ptr<Conn>> open_upstream(UpstreamPath path, const Authority& authority, bool tls) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(path.options.timeouts.connect);
  // Plain HTTP goes to the parent as a forward-proxy request (absolute form), so the
  // parent reads and checks it; only TLS needs a CONNECT tunnel.
  if (path.options.parent_proxy && !tls) co_await connect_to_parent(path, stream);
  else if (path.options.parent_proxy) co_await connect_via_parent(path, stream, authority);
  else co_await connect_direct(path, stream, authority);
  boost::system::error_code ec;
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (!tls) {
    stream.expires_never();
    co_return plain_conn(std::move(stream));
  }

  auto conn =
      std::make_unique<TlsConn>(stream.release_socket(), path.client_tls.native_handle(), TlsConn::Side::client);
  SSL* ssl = conn->native_handle();
  const std::string host = bare_host(authority.host);
  // Verify the name egress routed on (the CONNECT authority), never a Host field.
  const bool named = authority.is_ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1
                                             : set_server_name(ssl, host) && SSL_set1_host(ssl, host.c_str()) == 1;
  static constexpr unsigned char alpn[] = "\x08http/1.1";
  if (!named || SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1) != 0)
    throw UpstreamRefused{502, "cannot set up TLS for " + authority.host};
  conn->expires_after(path.options.timeouts.connect);
  std::optional<std::string> failed;
  try {
    co_await conn->handshake();
  } catch (const boost::system::system_error& e) { failed = e.code().message(); }
  if (failed) throw UpstreamRefused{502, fmt::format("TLS with {} failed: {}", authority.host, *failed)};
  co_return conn;
}

}  // namespace bottle::egress_proxy
