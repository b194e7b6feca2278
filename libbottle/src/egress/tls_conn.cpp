// TLS on egress's own terms. OpenSSL reads the socket through a BIO of ours: first
// the bytes egress already read (the ClientHello's start, after CONNECT), then
// recv() on the non-blocking socket, as much as its read-ahead buffer takes; a
// would-block is a retry, and the coroutine waits for the socket to be readable.
// What OpenSSL writes is only collected; after each OpenSSL call the collected
// records go out with one send (and an asynchronous write for what the socket could
// not take at once). So a 64 KiB answer is four records in one send, and a burst of
// small records that arrived together is read in one recv.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "egress/conn_deadline.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

constexpr std::size_t max_read = 65536;  // plaintext handed back by one read_some at most
constexpr int read_ahead_bytes = 65536;  // what one recv() may fill

}  // namespace

struct TlsConn::State {
  // An empty `early_bytes` is still the proxy port's 16 KiB read buffer: dropped,
  // not kept for the connection's life.
  State(tcp::socket s, std::string early_bytes)
      : socket(std::move(s)),
        early(early_bytes.empty() ? std::string() : std::move(early_bytes)),
        deadline(socket.get_executor(), [this] {
          boost::system::error_code ignored;
          socket.close(ignored);
        }) {}

  tcp::socket socket;
  std::string early;    ///< read before TLS began; served to OpenSSL first
  std::string out;      ///< records OpenSSL wrote, not yet sent
  std::string sending;  ///< records being sent
  bool flushing = false;
  /// The first plaintext has been read. Reading what came after the handshake (a
  /// server's session tickets) makes OpenSSL set up a 16 KiB write buffer that
  /// SSL_MODE_RELEASE_BUFFERS frees only after the next write, which a kept-alive
  /// connection may not make for a long time: it is freed then, once.
  bool first_read_done = false;
  bool peer_done = false;  ///< the peer finished sending; reads return 0 from now on
  /// The last recv() took less than it asked for, so the socket held nothing more:
  /// the next read waits for readiness instead of a recv() that would only say so.
  bool drained = false;
  int recv_errno = 0;  ///< the socket error behind a failed read, for the exception
  SSL* ssl = nullptr;
  Deadline deadline;
};

namespace {

using State = TlsConn::State;

State& state_of(BIO* bio) { return *static_cast<State*>(BIO_get_data(bio)); }

int bio_read(BIO* bio, char* buffer, std::size_t length, std::size_t* got) {
  State& s = state_of(bio);
  BIO_clear_retry_flags(bio);
  s.recv_errno = 0;
  if (!s.early.empty()) {
    *got = std::min(length, s.early.size());
    std::memcpy(buffer, s.early.data(), *got);
    s.early.erase(0, *got);
    if (s.early.empty()) std::string().swap(s.early);  // the proxy port's read buffer, no longer needed
    return 1;
  }
  *got = 0;
  if (s.drained) {
    BIO_set_retry_read(bio);
    return 0;
  }
  ssize_t n = 0;
  do n = ::recv(s.socket.native_handle(), buffer, length, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    *got = static_cast<std::size_t>(n);
    s.drained = *got < length;
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
  else if (n < 0) s.recv_errno = errno;
  return 0;  // n == 0: the peer finished sending
}

int bio_write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
  state_of(bio).out.append(data, length);
  *written = length;
  return 1;
}

long bio_ctrl(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
  // Flushing is ours to do after every OpenSSL call; nothing else is supported.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

// A named function, not a lambda: clang's UBSan build cannot emit a lambda's
// function-pointer thunk that is handed to C.
int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "bottle egress socket");
    if (m == nullptr || BIO_meth_set_read_ex(m, bio_read) != 1 || BIO_meth_set_write_ex(m, bio_write) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1)
      throw std::runtime_error("cannot create the egress TLS socket BIO");
    return m;
  }();
  return method;
}

// What failed, as asio's SSL streams report it (so "certificate verify failed" reads
// the same in the logs and the 502s).
boost::system::system_error tls_error(const State& s, int error) {
  const unsigned long queued = ERR_get_error();
  ERR_clear_error();
  if (queued != 0) return {static_cast<int>(queued), asio::error::get_ssl_category(), "egress TLS"};
  if (error == SSL_ERROR_SYSCALL && s.recv_errno != 0)
    return {s.recv_errno, boost::system::system_category(), "egress TLS"};
  return {asio::ssl::error::stream_truncated, "egress TLS"};
}

// How an OpenSSL call ended, read at once: the connection's other operation (a
// WebSocket relay reads and writes at the same time) may run while this one awaits.
struct Outcome {
  int error = SSL_ERROR_NONE;
  bool finished = false;  ///< the peer is done sending
  std::optional<boost::system::system_error> failure;
};

// Whether a failed read is the end of the peer's data: close_notify, or the
// connection closed without one (OpenSSL 3 reports that as an SSL error). The HTTP
// framing decides whether that cut a message short.
bool peer_finished(const State& s, int error) {
  if (error == SSL_ERROR_ZERO_RETURN) return true;
  const unsigned long queued = ERR_peek_error();
  const bool unexpected_eof = error == SSL_ERROR_SSL && ERR_GET_LIB(queued) == ERR_LIB_SSL &&
                              ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
  const bool bare_eof = error == SSL_ERROR_SYSCALL && queued == 0 && s.recv_errno == 0;
  if (unexpected_eof || bare_eof) ERR_clear_error();
  return unexpected_eof || bare_eof;
}

Outcome outcome_of(const State& s, int result) {
  Outcome out;
  if (result == 1) return out;
  out.error = SSL_get_error(s.ssl, result);
  if (out.error == SSL_ERROR_WANT_READ || out.error == SSL_ERROR_WANT_WRITE) return out;
  out.finished = peer_finished(s, out.error);
  if (!out.finished) out.failure = tls_error(s, out.error);
  return out;
}

// Every record already received, up to max_read, appended to `into`; `result` is
// the last SSL_read_ex's. The plaintext lands in a per-thread buffer first, so `into`
// grows only by what came; nothing is awaited between filling it and copying it out,
// so one per thread serves every connection. (Not in a coroutine: clang cannot
// compile a thread_local there.)
std::size_t read_records(const State& s, std::string& into, int& result) {
  thread_local std::array<char, max_read> landing;
  std::size_t got = 0;
  do {
    std::size_t n = 0;
    ERR_clear_error();
    result = SSL_read_ex(s.ssl, landing.data() + got, landing.size() - got, &n);
    got += n;
  } while (result == 1 && got < landing.size() && SSL_has_pending(s.ssl) == 1);
  into.append(landing.data(), got);
  return got;
}

// Until the socket is readable. Asio re-arms the socket's (edge-triggered)
// registration for the wait, so bytes that came after the last recv() are not missed.
asio::awaitable<void> wait_readable(State& s) {
  co_await s.socket.async_wait(tcp::socket::wait_read, asio::use_awaitable);
  s.drained = false;
}

// As much of `bytes` as the socket takes now, without waiting (the socket is
// non-blocking). An asynchronous write that completes at once still goes through
// the scheduler's queue, which polls the reactor first: a system call per send.
std::size_t send_now(State& s, std::string_view bytes) {
  ssize_t n = 0;
  do n = ::send(s.socket.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<std::size_t>(n) : 0;  // an error shows again in the asynchronous write
}

// Send what OpenSSL wrote. Reads and writes may both be under way on one connection
// (a WebSocket relay): one of them sends at a time, and goes on until nothing is left.
asio::awaitable<void> flush(State& s) {
  if (s.flushing) co_return;
  s.flushing = true;
  try {
    while (!s.out.empty()) {
      s.sending.swap(s.out);
      const std::size_t sent = send_now(s, s.sending);
      if (sent < s.sending.size())
        co_await asio::async_write(s.socket, asio::buffer(s.sending.data() + sent, s.sending.size() - sent),
                                   asio::use_awaitable);
      s.sending.clear();
    }
  } catch (...) {
    s.flushing = false;
    throw;
  }
  s.flushing = false;
}

// A connection that waits for its peer keeps no large send buffer: after a download
// its records buffer is as large as the biggest write, and a kept-alive agent
// connection may then idle for minutes. Small ones stay, so a stream of small
// exchanges does not allocate each time.
void release_idle_buffers(State& s) {
  constexpr std::size_t keep = 16384;
  if (s.flushing) return;
  if (s.out.empty() && s.out.capacity() > keep) std::string().swap(s.out);
  if (s.sending.capacity() > keep) std::string().swap(s.sending);
}

}  // namespace

TlsConn::TlsConn(tcp::socket socket, SSL_CTX* context, Side side, std::string early)
    : state_(std::make_unique<State>(std::move(socket), std::move(early))) {
  State& s = *state_;
  s.socket.non_blocking(true);
  s.ssl = SSL_new(context);
  BIO* bio = BIO_new(socket_method());
  if (s.ssl == nullptr || bio == nullptr) {
    BIO_free(bio);
    SSL_free(s.ssl);
    throw std::runtime_error("cannot set up egress TLS");
  }
  BIO_set_data(bio, &s);
  SSL_set_bio(s.ssl, bio, bio);
  SSL_set_read_ahead(s.ssl, 1);
  SSL_set_default_read_buffer_len(s.ssl, read_ahead_bytes);
  // A kept-alive connection waits far more than it carries: no buffers in between.
  SSL_set_mode(s.ssl, SSL_MODE_RELEASE_BUFFERS);
  if (side == Side::server) SSL_set_accept_state(s.ssl);
  else SSL_set_connect_state(s.ssl);
}

TlsConn::~TlsConn() { SSL_free(state_->ssl); }

SSL* TlsConn::native_handle() { return state_->ssl; }

asio::awaitable<void> TlsConn::handshake() {
  State& s = *state_;
  const Pending pending(s.deadline);
  while (true) {
    ERR_clear_error();
    const int result = SSL_do_handshake(s.ssl);
    const Outcome outcome = outcome_of(s, result);
    co_await flush(s);
    if (result == 1) co_return;
    if (outcome.finished) throw boost::system::system_error(asio::ssl::error::stream_truncated, "egress TLS");
    if (outcome.failure) throw *outcome.failure;
    if (outcome.error == SSL_ERROR_WANT_READ) co_await wait_readable(s);
  }
}

asio::awaitable<std::size_t> TlsConn::read_some(std::string& into) {
  State& s = *state_;
  const Pending pending(s.deadline);
  while (!s.peer_done) {
    int result = 1;
    const std::size_t got = read_records(s, into, result);
    const Outcome outcome = outcome_of(s, result);
    // The end may come right behind the last bytes: they go first, the end next time.
    if (outcome.finished) s.peer_done = true;
    co_await flush(s);
    if (got > 0) {
      if (!s.first_read_done) {
        s.first_read_done = true;
        if (SSL_has_pending(s.ssl) == 0) SSL_free_buffers(s.ssl);
      }
      co_return got;
    }
    if (outcome.failure) throw *outcome.failure;
    if (outcome.error == SSL_ERROR_WANT_READ) {
      release_idle_buffers(s);
      co_await wait_readable(s);
    }
  }
  co_return 0;
}

asio::awaitable<void> TlsConn::write(std::string_view data) {
  State& s = *state_;
  const Pending pending(s.deadline);
  while (!data.empty()) {
    std::size_t written = 0;
    ERR_clear_error();
    const int result = SSL_write_ex(s.ssl, data.data(), data.size(), &written);
    const Outcome outcome = outcome_of(s, result);
    co_await flush(s);
    if (result == 1) {
      data.remove_prefix(written);
      continue;
    }
    if (outcome.finished) throw boost::system::system_error(asio::error::broken_pipe, "egress TLS");
    if (outcome.failure) throw *outcome.failure;
    if (outcome.error == SSL_ERROR_WANT_READ) co_await wait_readable(s);
  }
}

void TlsConn::expires_after(std::chrono::steady_clock::duration timeout) { state_->deadline.expires_after(timeout); }

bool TlsConn::timed_out() const { return state_->deadline.expired(); }

void TlsConn::close() {
  boost::system::error_code ignored;
  state_->socket.close(ignored);
}

}  // namespace bottle::egress_proxy
