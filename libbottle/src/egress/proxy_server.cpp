// The listener and the shared state of bottle-egress: TLS contexts for both sides,
// the routes and their value files, the accept loop and the signals that end it.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bottle/core/error.hpp"
#include "bottle/egress/egress_proxy.hpp"
#include "bottle/egress/system_roots.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle {

namespace egress_proxy {

namespace {

// ALPN on the agent's side: http/1.1 or nothing (egress speaks no HTTP/2).
int select_http11(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                  unsigned int in_len, void* /*arg*/) {
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *out_len = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

constexpr auto modern_only = asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1;

std::vector<SwapRoute> swap_routes(const std::vector<EgressRouteEntry>& entries) {
  std::vector<SwapRoute> out;
  out.reserve(entries.size());
  for (const EgressRouteEntry& entry : entries) out.push_back(entry.swap);
  return out;
}

std::unique_ptr<AuditWriter> open_audit(const ProxyOptions& options) {
  if (!options.confdir) return nullptr;
  try {
    return AuditWriter::from_confdir(
        *options.confdir,
        [](const std::string& reason) {
          log_event("audit_failed", {{"reason", reason}});
        },
        options.audit_config);
  } catch (const Error& e) { throw e.relabeled("--confdir " + *options.confdir + ": " + e.field()); }
}

}  // namespace

void configure_client_tls(asio::ssl::context& client_tls, const ProxyOptions& options) {
  client_tls.set_options(modern_only);
  const auto from_env = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  const SystemRoots roots =
      choose_system_roots(from_env(X509_get_default_cert_file_env()), from_env(X509_get_default_cert_dir_env()),
                          X509_get_default_cert_file(), X509_get_default_cert_dir(),
                          [](const std::string& dir) { return holds_hash_links(dir); });
  // As with OpenSSL's defaults, a missing bundle or directory is not an error here:
  // without roots every upstream fails verification, which refuses the exchange.
  SSL_CTX* context = client_tls.native_handle();
  if (roots.bundle) SSL_CTX_load_verify_file(context, roots.bundle->c_str());
  SSL_CTX_load_verify_dir(context, roots.directory.c_str());
  ERR_clear_error();
  if (options.upstream_ca) {
    boost::system::error_code ec;
    client_tls.load_verify_file(*options.upstream_ca, ec);
    if (ec) throw Error(ErrorKind::invalid_input, "--upstream-ca", "cannot load " + *options.upstream_ca);
  }
  client_tls.set_verify_mode(asio::ssl::verify_peer);
}

ProxyState::ProxyState(ProxyOptions options_in, std::vector<EgressRouteEntry> routes_in, std::string_view ca_pem)
    : options(std::move(options_in)),
      audit(open_audit(options)),
      entries(std::move(routes_in)),
      routes(swap_routes(entries)),
      minter(ca_pem),
      server_tls(asio::ssl::context::tls_server),
      client_tls(asio::ssl::context::tls_client) {
  for (const EgressRouteEntry& entry : entries)
    values.push_back(std::make_unique<RouteValueFile>(entry.value_file, entry.value_json_pointer));
  reals.resize(routes.size());
  brokers.store = std::make_unique<BrokerDummyStore>(
      options.confdir ? std::optional(std::filesystem::path(*options.confdir) / std::string(broker_state_file_name))
                      : std::nullopt);
  brokers.restore(*this);
  for (const EgressRouteEntry& entry : entries)
    brokers.brokers.push_back(entry.broker
                                  ? std::make_unique<TokenBroker>(
                                        *entry.broker, entry.value_file,
                                        TokenBrokerOptions{.fetch =
                                                               [this](const std::string& url, const std::string& body) {
                                                                 return post_token(upstream_path(), url, body);
                                                               }})
                                  : nullptr);
  server_tls.set_options(modern_only);
  // Without tickets every connection is a full handshake with the leaf for its host.
  SSL_CTX_set_num_tickets(server_tls.native_handle(), 0);
  SSL_CTX_set_alpn_select_cb(server_tls.native_handle(), select_http11, nullptr);
  configure_client_tls(client_tls, options);
}

void log_event(std::string_view event, const std::vector<std::pair<std::string, std::string>>& fields) {
  boost::json::object line{{"event", event}};
  for (const auto& [key, value] : fields) line[key] = value;
  std::cerr << boost::json::serialize(line) << '\n' << std::flush;
}

}  // namespace egress_proxy

namespace {

std::string read_text(const std::string& path, const std::string& argument) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::invalid_input, argument, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<EgressRouteEntry> read_routes(const std::string& path) {
  const std::string text = read_text(path, "--routes");
  try {
    return parse_egress_routes(text);
  } catch (const Error& e) { throw e.relabeled("--routes " + path + ": " + e.field()); }
}

}  // namespace

struct EgressProxy::Impl {
  explicit Impl(const ProxyOptions& options)
      : state(options, read_routes(options.routes_file), read_text(options.ca_file, "--ca")), acceptor(io) {}
  // The broker thread ends first (it may still hand an answer to the loop), then the
  // loop's coroutines are destroyed while the state they refer to (the audit log
  // their unfinished records go to) still exists.
  ~Impl() { state.brokers.thread.join(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  egress_proxy::ProxyState state;
  egress_proxy::asio::io_context io{1};
  egress_proxy::tcp::acceptor acceptor;
};

EgressProxy::EgressProxy(const ProxyOptions& options) : impl_(std::make_unique<Impl>(options)) {}
EgressProxy::~EgressProxy() = default;

std::string EgressProxy::listen() {
  namespace asio = egress_proxy::asio;
  using egress_proxy::tcp;
  const ProxyOptions& options = impl_->state.options;
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->io);
  const auto results = resolver.resolve(options.listen_host, std::to_string(options.listen_port), ec);
  if (ec || results.empty()) throw Error(ErrorKind::isolation, "--listen", "cannot resolve " + options.listen_host);
  const tcp::endpoint endpoint = results.begin()->endpoint();
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) {
    const tcp::endpoint bound = acceptor.local_endpoint();
    return bound.address().to_string() + ":" + std::to_string(bound.port());
  }
  throw Error(
      ErrorKind::isolation, "--listen",
      "cannot listen on " + options.listen_host + ":" + std::to_string(options.listen_port) + ": " + ec.message());
}

namespace {

egress_proxy::asio::awaitable<void> accept_loop(egress_proxy::ProxyState& state,
                                                egress_proxy::tcp::acceptor& acceptor) {
  namespace asio = egress_proxy::asio;
  while (acceptor.is_open()) {
    boost::system::error_code ec;
    egress_proxy::tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    asio::co_spawn(acceptor.get_executor(), egress_proxy::serve_connection(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

void EgressProxy::run() {
  namespace asio = egress_proxy::asio;
  asio::signal_set signals(impl_->io, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code&, int) { impl_->io.stop(); });
  asio::co_spawn(impl_->io, accept_loop(impl_->state, impl_->acceptor), asio::detached);
  impl_->io.run();
}

std::string egress_ready_line(std::string_view listening) {
  return boost::json::serialize(boost::json::object{{"event", "ready"}, {"listen", listening}});
}

}  // namespace bottle
