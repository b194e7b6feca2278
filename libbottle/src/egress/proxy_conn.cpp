// The two kinds of egress connection behind one interface, so the exchange code is
// written once for plain HTTP, CONNECT tunnels and upstreams alike.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <functional>
#include <optional>

#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

constexpr std::size_t read_chunk = 16384;
using Clock = std::chrono::steady_clock;

// A connection's deadline without a timer per operation. Beast's stream timeout
// arms, cancels and re-arms a timer around every read and write (timerfd_settime
// each time); a proxy reads and writes several times per request. Here moving the
// deadline is a store, and one timer per connection fires at most once per
// timeout: when it finds the deadline moved later it sleeps again. As with Beast,
// the deadline counts only while an operation is pending: one that passes in
// between makes the next operation fail at once.
class Deadline {
 public:
  Deadline(const asio::any_io_executor& executor, std::function<void()> expire)
      : watch_(std::make_shared<Watch>(executor, std::move(expire))) {}
  ~Deadline() {
    watch_->expire = nullptr;
    watch_->timer.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void expires_after(Clock::duration timeout) {
    watch_->at = Clock::now() + timeout;
    if (!watch_->armed || watch_->at < watch_->armed_at) arm(watch_);
  }
  /// Around every operation: throws the timeout when the deadline has passed.
  void begin() {
    if (watch_->at <= Clock::now())
      throw boost::system::system_error(boost::beast::error::timeout, "egress connection deadline");
    ++watch_->pending;
  }
  void end() { --watch_->pending; }

 private:
  struct Watch {
    Watch(const asio::any_io_executor& executor, std::function<void()> on_expire)
        : timer(executor), expire(std::move(on_expire)) {}
    asio::steady_timer timer;
    std::function<void()> expire;  ///< empty once the connection is gone
    Clock::time_point at = Clock::time_point::max();
    Clock::time_point armed_at;
    bool armed = false;
    int pending = 0;
    unsigned generation = 0;
  };

  static void arm(const std::shared_ptr<Watch>& watch) {
    watch->armed = true;
    watch->armed_at = watch->at;
    watch->timer.expires_at(watch->at);
    watch->timer.async_wait([watch, generation = ++watch->generation](const boost::system::error_code&) {
      if (!watch->expire || generation != watch->generation) return;  // gone, or re-armed earlier
      watch->armed = false;
      if (watch->at > Clock::now()) {
        arm(watch);
      } else if (watch->pending > 0) {
        watch->expire();
      }
    });
  }

  std::shared_ptr<Watch> watch_;
};

class Pending {
 public:
  explicit Pending(Deadline& deadline) : deadline_(deadline) { deadline_.begin(); }
  ~Pending() { deadline_.end(); }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

 private:
  Deadline& deadline_;
};

template <class Stream>
asio::awaitable<std::size_t> read_into(Stream& stream, Deadline& deadline, std::string& into) {
  const Pending pending(deadline);
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

template <class Stream>
asio::awaitable<void> write_all(Stream& stream, Deadline& deadline, std::string_view data) {
  const Pending pending(deadline);
  co_await asio::async_write(stream, asio::buffer(data), asio::use_awaitable);
}

// Closing the socket ends whatever operation is pending, as Beast's timeout does.
std::function<void()> closer(beast::tcp_stream& stream) {
  return [&stream] {
    boost::system::error_code ignored;
    stream.socket().close(ignored);
  };
}

// Owns its stream, or borrows one that a CONNECT will later hand to TLS.
class PlainConn final : public Conn {
 public:
  explicit PlainConn(beast::tcp_stream stream) : own_(std::move(stream)), stream_(&*own_), deadline_(make_deadline()) {}
  explicit PlainConn(beast::tcp_stream* stream) : stream_(stream), deadline_(make_deadline()) {}
  asio::awaitable<std::size_t> read_some(std::string& into) override { return read_into(*stream_, deadline_, into); }
  asio::awaitable<void> write(std::string_view data) override { return write_all(*stream_, deadline_, data); }
  void expires_after(std::chrono::steady_clock::duration timeout) override { deadline_.expires_after(timeout); }
  void close() override { stream_->close(); }

 private:
  Deadline make_deadline() {
    stream_->expires_never();
    return Deadline(stream_->get_executor(), closer(*stream_));
  }
  std::optional<beast::tcp_stream> own_;
  beast::tcp_stream* stream_;
  Deadline deadline_;
};

class TlsConn final : public Conn {
 public:
  explicit TlsConn(std::unique_ptr<TlsStream> stream)
      : stream_(std::move(stream)), deadline_(stream_->get_executor(), closer(beast::get_lowest_layer(*stream_))) {
    beast::get_lowest_layer(*stream_).expires_never();
  }
  asio::awaitable<std::size_t> read_some(std::string& into) override { return read_into(*stream_, deadline_, into); }
  asio::awaitable<void> write(std::string_view data) override { return write_all(*stream_, deadline_, data); }
  void expires_after(std::chrono::steady_clock::duration timeout) override { deadline_.expires_after(timeout); }
  void close() override { beast::get_lowest_layer(*stream_).close(); }

 private:
  std::unique_ptr<TlsStream> stream_;
  Deadline deadline_;
};

}  // namespace

std::unique_ptr<Conn> plain_conn(beast::tcp_stream stream) { return std::make_unique<PlainConn>(std::move(stream)); }
std::unique_ptr<Conn> borrowed_conn(beast::tcp_stream& stream) { return std::make_unique<PlainConn>(&stream); }
std::unique_ptr<Conn> tls_conn(std::unique_ptr<TlsStream> stream) {
  return std::make_unique<TlsConn>(std::move(stream));
}

}  // namespace bottle::egress_proxy
