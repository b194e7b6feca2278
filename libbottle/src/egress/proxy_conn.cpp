// The two kinds of egress connection behind one interface, so the exchange code is
// written once for plain HTTP, CONNECT tunnels and upstreams alike.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <optional>

#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

constexpr std::size_t read_chunk = 16384;

template <class Stream>
asio::awaitable<std::size_t> read_into(Stream& stream, std::string& into) {
  const std::size_t old = into.size();
  into.resize(old + read_chunk);
  boost::system::error_code ec;
  const std::size_t n = co_await stream.async_read_some(asio::buffer(into.data() + old, read_chunk),
                                                        asio::redirect_error(asio::use_awaitable, ec));
  into.resize(old + n);
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return 0;
  if (ec) throw boost::system::system_error(ec);
  co_return n;
}

// Owns its stream, or borrows one that a CONNECT will later hand to TLS.
class PlainConn final : public Conn {
 public:
  explicit PlainConn(beast::tcp_stream stream) : own_(std::move(stream)), stream_(&*own_) {}
  explicit PlainConn(beast::tcp_stream* stream) : stream_(stream) {}
  asio::awaitable<std::size_t> read_some(std::string& into) override { return read_into(*stream_, into); }
  asio::awaitable<void> write(std::string_view data) override {
    co_await asio::async_write(*stream_, asio::buffer(data), asio::use_awaitable);
  }
  void expires_after(std::chrono::steady_clock::duration timeout) override { stream_->expires_after(timeout); }
  void close() override { stream_->close(); }

 private:
  std::optional<beast::tcp_stream> own_;
  beast::tcp_stream* stream_;
};

class TlsConn final : public Conn {
 public:
  explicit TlsConn(std::unique_ptr<TlsStream> stream) : stream_(std::move(stream)) {}
  asio::awaitable<std::size_t> read_some(std::string& into) override { return read_into(*stream_, into); }
  asio::awaitable<void> write(std::string_view data) override {
    co_await asio::async_write(*stream_, asio::buffer(data), asio::use_awaitable);
  }
  void expires_after(std::chrono::steady_clock::duration timeout) override {
    beast::get_lowest_layer(*stream_).expires_after(timeout);
  }
  void close() override { beast::get_lowest_layer(*stream_).close(); }

 private:
  std::unique_ptr<TlsStream> stream_;
};

}  // namespace

std::unique_ptr<Conn> plain_conn(beast::tcp_stream stream) { return std::make_unique<PlainConn>(std::move(stream)); }
std::unique_ptr<Conn> borrowed_conn(beast::tcp_stream& stream) { return std::make_unique<PlainConn>(&stream); }
std::unique_ptr<Conn> tls_conn(std::unique_ptr<TlsStream> stream) {
  return std::make_unique<TlsConn>(std::move(stream));
}

}  // namespace bottle::egress_proxy
