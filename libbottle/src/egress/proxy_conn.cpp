// The plain kind of egress connection (the TLS kind is tls_conn.cpp): the agent's
// proxy port, and plain-HTTP upstreams.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <optional>

#include "egress/conn_deadline.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

constexpr std::size_t read_chunk = 16384;

// Owns its stream, or borrows one that a CONNECT will later hand to TLS.
class PlainConn final : public Conn {
 public:
  explicit PlainConn(beast::tcp_stream stream) : own_(std::move(stream)), stream_(&*own_), deadline_(make_deadline()) {}
  explicit PlainConn(beast::tcp_stream* stream) : stream_(stream), deadline_(make_deadline()) {}

  asio::awaitable<std::size_t> read_some(std::string& into) override {
    const Pending pending(deadline_);
    const std::size_t old = into.size();
    into.resize(old + read_chunk);
    boost::system::error_code ec;
    const std::size_t n = co_await stream_->async_read_some(asio::buffer(into.data() + old, read_chunk),
                                                            asio::redirect_error(asio::use_awaitable, ec));
    into.resize(old + n);
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw boost::system::system_error(ec);
    co_return n;
  }
  asio::awaitable<void> write(std::string_view data) override {
    const Pending pending(deadline_);
    co_await asio::async_write(*stream_, asio::buffer(data), asio::use_awaitable);
  }
  void expires_after(std::chrono::steady_clock::duration timeout) override { deadline_.expires_after(timeout); }
  bool timed_out() const override { return deadline_.expired(); }
  void close() override { stream_->close(); }

 private:
  Deadline make_deadline() {
    stream_->expires_never();
    // Closing the socket ends whatever operation is pending, as Beast's timeout does.
    return Deadline(stream_->get_executor(), [stream = stream_] {
      boost::system::error_code ignored;
      stream->socket().close(ignored);
    });
  }
  std::optional<beast::tcp_stream> own_;
  beast::tcp_stream* stream_;
  Deadline deadline_;
};

}  // namespace

std::unique_ptr<Conn> plain_conn(beast::tcp_stream stream) { return std::make_unique<PlainConn>(std::move(stream)); }
std::unique_ptr<Conn> borrowed_conn(beast::tcp_stream& stream) { return std::make_unique<PlainConn>(&stream); }

}  // namespace bottle::egress_proxy
