// bottle-egress's limits, as a real process started the way bottle starts it
// (egress_test_argv): the idle, head and upstream timeouts, the request-body cap and
// the connection cap. The agent is a raw socket (or a Python TLS client inside a
// CONNECT tunnel), so what egress answers and when it hangs up is seen byte for byte.
// Behind egress, a scripted parent proxy in this file plays the upstreams:
// fake_net.py's upstream answers every request at once, and these tests need one
// that never answers, one that stops half way, and one that counts a 64 MiB body.
// All on 127.0.0.1. Time bounds are at least ten times the timeout under test.

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bottle/egress/egress_config.hpp"
#include "net_harness.hpp"

namespace {

using namespace net_harness;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t body_cap = std::uint64_t{64} << 20;  // ProxyOptions::max_request_body_bytes
constexpr std::size_t mib = std::size_t{1} << 20;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// send() of all of `bytes` without SIGPIPE; false once the peer has gone.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// One plain-HTTP request the scripted parent received (in absolute form, as a
// forward proxy gets it).
struct ParentRequest {
  std::string head;  ///< the request head egress sent, "METHOD http://host/path HTTP/1.1\r\n..."
  std::uint64_t body_bytes = 0;
};

// A parent proxy (what pipelock is to egress) that is also the plain-HTTP upstream
// behind it: the host in the request's absolute URL says how it is answered. silent.example: never (the connection
// stays open, read and dropped); partial.example: a head promising 100 bytes, 7 of them, then silence; slow.example:
// 200 after 2 s; any other host: its Content-Length body is read (and counted), then 200. Every request it got is
// recorded.
class ScriptedParent {
 public:
  ScriptedParent() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto addr = loopback(0);
    socklen_t len = sizeof addr;
    REQUIRE(fd_ >= 0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedParent() {
    stop_ = true;
    acceptor_.join();
    for (std::thread& t : handlers_) t.join();
    ::close(fd_);
  }
  ScriptedParent(const ScriptedParent&) = delete;
  ScriptedParent& operator=(const ScriptedParent&) = delete;

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<ParentRequest> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      handlers_.emplace_back([this, c] {
        serve(c);
        ::close(c);
      });
    }
  }

  // Appends what arrives next; false at EOF, on an error, or when the test is over.
  bool read_more(int fd, std::string& into) const {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0) return false;
      if (ready == 0) continue;
      std::array<char, 65536> buf{};
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) return false;
      into.append(buf.data(), static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  // The head at the front of `in`, taken off it; nullopt if the connection ended first.
  std::optional<std::string> take_head(int fd, std::string& in) const {
    while (!contains(in, "\r\n\r\n"))
      if (!read_more(fd, in)) return std::nullopt;
    const auto end = in.find("\r\n\r\n");
    std::string head = in.substr(0, end);
    in.erase(0, end + 4);
    return head;
  }

  void record(const ParentRequest& request) {
    const std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }

  void drain(int fd) const {
    std::string sink;
    while (read_more(fd, sink)) sink.clear();
  }

  void serve(int fd) {
    std::string in;
    const auto head = take_head(fd, in);
    if (!head) return;
    ParentRequest request{.head = *head};
    const auto host = [&](std::string_view name) { return contains(*head, " http://" + std::string(name) + "/"); };
    if (host("silent.example")) {
      record(request);
      drain(fd);
      return;
    }
    if (host("partial.example")) {
      record(request);
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
      drain(fd);
      return;
    }
    if (host("slow.example")) std::this_thread::sleep_for(2s);
    std::uint64_t length = 0;
    constexpr std::string_view field = "\r\nContent-Length: ";
    if (const auto at = head->find(field); at != std::string::npos)
      length = std::stoull(head->substr(at + field.size()));
    request.body_bytes = in.size();
    in.clear();
    while (request.body_bytes < length && read_more(fd, in)) {
      request.body_bytes += in.size();
      in.clear();
    }
    record(request);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<ParentRequest> requests_;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;  // only the acceptor thread adds to it
};

// bottle-egress as bottle starts it (no routes), its parent proxy the scripted one,
// with `limits` appended to its arguments.
class LimitedEgress {
 public:
  explicit LimitedEgress(const std::vector<std::string>& limits) {
    const fs::path& d = dir_.path();
    make_certs(d);  // ca.pem: the upstream CA egress_test_argv passes with a parent proxy
    write_file(d / "routes.json", bottle::render_egress_routes({}, std::vector<std::string>{}));
    port_ = free_port();
    auto argv = egress_test_argv(d, port_, parent_.port());
    argv.insert(argv.end(), limits.begin(), limits.end());
    egress_.emplace(argv, log());
    require_egress_ready(*egress_, log(), 30s);
  }

  fs::path log() const { return dir_.path() / "egress.log"; }
  fs::path ca() const { return dir_.path() / "conf" / "mitmproxy-ca-cert.pem"; }
  std::uint16_t port() const { return port_; }
  const ScriptedParent& parent() const { return parent_; }

 private:
  TempDir dir_;
  ScriptedParent parent_;
  std::optional<Daemon> egress_;
  std::uint16_t port_ = 0;
};

// The agent's side of one TCP connection to egress's proxy port.
class Agent {
 public:
  explicit Agent(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const auto addr = loopback(port);
    REQUIRE(fd_ >= 0);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    // A send egress never takes in fails instead of hanging the test.
    const timeval limit{.tv_sec = 30, .tv_usec = 0};
    REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == 0);
  }
  ~Agent() { close(); }
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  int fd() const { return fd_; }
  bool send(std::string_view bytes) const { return send_all(fd_, bytes); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Waits up to `wait` for egress: appends what it sent to `received`; false once
  // it has closed the connection (end of stream or reset).
  bool poll(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
    std::array<char, 65536> buf{};
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) return false;
    received.append(buf.data(), static_cast<std::size_t>(n));
    return true;
  }

  // Reads until egress closes the connection or `limit` passes: whether it closed.
  bool closed_within(std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline)
      if (!poll(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) return true;
    return false;
  }

  // Reads until `needle` has arrived, the connection ends or `limit` passes.
  bool read_until(std::string_view needle, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!contains(received, std::string(needle)) && Clock::now() < deadline)
      if (!poll(100ms)) break;
    return contains(received, std::string(needle));
  }

  std::string received;

 private:
  int fd_;
};

// The plain-HTTP request line and Host field for `host`, as an agent sends them to a proxy.
std::string request_start(std::string_view method, std::string_view host, std::string_view path) {
  return std::string(method) + " http://" + std::string(host) + std::string(path) +
         " HTTP/1.1\r\nHost: " + std::string(host) + "\r\n";
}

}  // namespace

TEST_CASE("egress limits: an agent silent past --idle-timeout is disconnected but one awaiting an answer is not",
          "[egress-limits]") {
  LimitedEgress egress({"--idle-timeout", "1", "--head-timeout", "60", "--upstream-timeout", "60"});

  SECTION("a connection that never sends a byte") {
    const auto start = Clock::now();
    Agent agent(egress.port());
    CHECK(agent.closed_within(15s));
    const double took = seconds_since(start);
    CHECK(took >= 0.5);
    CHECK(took < 15);
    CHECK(agent.received.empty());
  }

  SECTION("a request body that stops half way") {
    Agent agent(egress.port());
    REQUIRE(agent.send(request_start("POST", "sink.example", "/half") + "Content-Length: 10\r\n\r\nhalf-"));
    const auto start = Clock::now();
    CHECK(agent.closed_within(15s));
    CHECK(seconds_since(start) >= 0.5);
    CHECK(agent.received.empty());
    CHECK(egress.parent().connections() == 0);  // nothing was forwarded
  }

  SECTION("a CONNECT tunnel whose agent goes quiet after the TLS handshake") {
    // The handshake completes, then the agent sends no request: egress ends the
    // tunnel after the idle timeout (the head timeout is 60 s).
    const std::string client = R"(
import json, socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
sock.sendall(b"CONNECT quiet.example:443 HTTP/1.1\r\nHost: quiet.example:443\r\n\r\n")
reply = b""
while b"\r\n\r\n" not in reply:
    data = sock.recv(1)
    if not data: break
    reply += data
tls = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname="quiet.example")
start = time.monotonic()
try:
    outcome = "data" if tls.recv(1) else "closed"
except socket.timeout:
    outcome = "timeout"
except (OSError, ssl.SSLError):
    outcome = "closed"
print(json.dumps({"reply": reply.split(b"\r\n")[0].decode(), "outcome": outcome, "silent_s": time.monotonic() - start}))
)";
    const auto r = run({"python3", "-c", client, std::to_string(egress.port()), egress.ca().string()});
    INFO("client stderr: " << r.err);
    REQUIRE(r.ok());
    const auto o = boost::json::parse(r.out).as_object();
    CHECK(o.at("reply").as_string() == "HTTP/1.1 200 Connection established");
    CHECK(o.at("outcome").as_string() == "closed");
    CHECK(o.at("silent_s").as_double() >= 0.5);
    CHECK(o.at("silent_s").as_double() < 15);
  }

  SECTION("an agent waiting 2 s for a slow upstream is not idle") {
    Agent agent(egress.port());
    REQUIRE(agent.send(request_start("POST", "slow.example", "/slow") +
                       "Content-Length: 4\r\nConnection: close\r\n\r\nbody"));
    CHECK(agent.closed_within(20s));
    CHECK(agent.received.starts_with("HTTP/1.1 200 "));
    CHECK(agent.received.ends_with("\r\n\r\nok\n"));
    const auto requests = egress.parent().requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].head.starts_with("POST http://slow.example/slow HTTP/1.1\r\n"));
    CHECK(requests[0].body_bytes == 4);
  }
}

TEST_CASE("egress limits: a head trickled past --head-timeout is cut off long before the idle timeout",
          "[egress-limits]") {
  LimitedEgress egress({"--head-timeout", "1", "--idle-timeout", "60"});

  SECTION("one byte every 300 ms of a head that never ends") {
    // Each byte would reset an idle timer; the head timer runs from the first byte.
    const std::string head = request_start("GET", "sink.example", "/slowloris") + "X-Slow: " + std::string(200, 'a');
    Agent agent(egress.port());
    const auto start = Clock::now();
    std::size_t sent = 0;
    bool open = true;
    while (open && sent < head.size() && seconds_since(start) < 15) {
      if (!agent.send(head.substr(sent, 1))) break;
      ++sent;
      open = agent.poll(300ms);
    }
    const double took = seconds_since(start);
    INFO("bytes sent: " << sent << ", seconds: " << took);
    CHECK(sent < head.size());  // cut off before the trickle ran out
    CHECK(took >= 0.5);
    CHECK(took < 15);               // the idle timeout is 60 s
    CHECK(agent.received.empty());  // no 408: egress hangs up without an answer
    CHECK(egress.parent().connections() == 0);
  }

  SECTION("a CONNECT tunnel whose agent never starts TLS") {
    Agent agent(egress.port());
    REQUIRE(agent.send("CONNECT quiet.example:443 HTTP/1.1\r\nHost: quiet.example:443\r\n\r\n"));
    REQUIRE(agent.read_until("\r\n\r\n", 10s));
    CHECK(agent.received == "HTTP/1.1 200 Connection established\r\n\r\n");
    agent.received.clear();
    const auto start = Clock::now();
    CHECK(agent.closed_within(15s));
    CHECK(seconds_since(start) >= 0.5);
    CHECK(agent.received.empty());
  }
}

TEST_CASE("egress limits: an upstream silent past --upstream-timeout is given up on", "[egress-limits]") {
  LimitedEgress egress({"--upstream-timeout", "1", "--idle-timeout", "60", "--head-timeout", "60"});

  SECTION("no answer at all: 502 to the agent") {
    Agent agent(egress.port());
    REQUIRE(agent.send(request_start("GET", "silent.example", "/wait") + "Connection: close\r\n\r\n"));
    const auto start = Clock::now();
    CHECK(agent.closed_within(15s));
    const double took = seconds_since(start);
    CHECK(took >= 0.5);
    CHECK(took < 15);
    CHECK(agent.received.starts_with("HTTP/1.1 502 "));
    CHECK(contains(agent.received, "bottle egress: the upstream silent.example did not answer in time"));
    // The request did reach the upstream: it was the answer that never came.
    const auto requests = egress.parent().requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].head.starts_with("GET http://silent.example/wait HTTP/1.1\r\n"));
  }

  SECTION("silence half way through the body: the agent's connection is cut") {
    Agent agent(egress.port());
    REQUIRE(agent.send(request_start("GET", "partial.example", "/half") + "Connection: close\r\n\r\n"));
    REQUIRE(agent.read_until("partial", 10s));
    const auto start = Clock::now();
    CHECK(agent.closed_within(15s));
    CHECK(seconds_since(start) < 15);
    // What came is passed on; the missing 93 bytes never are, and no end is faked.
    CHECK(agent.received.starts_with("HTTP/1.1 200 "));
    CHECK(contains(agent.received, "Content-Length: 100\r\n"));
    CHECK(agent.received.ends_with("\r\n\r\npartial"));
  }
}

TEST_CASE("egress limits: a Content-Length over 64 MiB gets 413 at once and a body of exactly 64 MiB passes",
          "[egress-limits]") {
  LimitedEgress egress({});

  SECTION("one byte over: 413 from the head alone") {
    Agent agent(egress.port());
    // Only the head: egress must answer without waiting for the body (its idle
    // timeout is 120 s, this client waits 15).
    REQUIRE(agent.send(request_start("POST", "sink.example", "/over") +
                       "Content-Length: " + std::to_string(body_cap + 1) + "\r\n\r\n"));
    CHECK(agent.closed_within(15s));
    CHECK(agent.received.starts_with("HTTP/1.1 413 "));
    CHECK(contains(agent.received, "bottle egress: request body too large"));
    CHECK(egress.parent().connections() == 0);
  }

  SECTION("exactly 64 MiB: forwarded whole") {
    Agent agent(egress.port());
    const std::string data(mib, 'b');
    const auto start = Clock::now();
    bool sent = agent.send(request_start("POST", "sink.example", "/cap") +
                           "Content-Length: " + std::to_string(body_cap) + "\r\nConnection: close\r\n\r\n");
    for (std::uint64_t i = 0; sent && i < body_cap / mib; ++i) sent = agent.send(data);
    CHECK(sent);
    CHECK(agent.closed_within(30s));
    INFO("seconds: " << seconds_since(start));
    CHECK(agent.received.starts_with("HTTP/1.1 200 "));
    const auto requests = egress.parent().requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].head.starts_with("POST http://sink.example/cap HTTP/1.1\r\n"));
    CHECK(contains(requests[0].head, "\r\nContent-Length: " + std::to_string(body_cap)));
    CHECK(requests[0].body_bytes == body_cap);
  }
}

namespace {

// One chunk of the chunked encoding.
std::string chunk_of(std::string_view data) {
  char size[32];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size, static_cast<std::size_t>(n)) + std::string(data) + "\r\n";
}

}  // namespace

TEST_CASE("egress limits: a chunked body over 64 MiB gets 413 and is never forwarded", "[egress-limits]") {
  LimitedEgress egress({});
  const std::string one_mib = chunk_of(std::string(mib, 'c'));
  const std::string head =
      request_start("POST", "sink.example", "/chunked") + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

  SECTION("a stream of 1 MiB chunks is refused once it passes the cap, before its end") {
    // 128 MiB offered: more than egress reads before refusing plus what the socket
    // buffers hold, so the sender can only finish if egress takes the whole body.
    Agent agent(egress.port());
    std::atomic<bool> finished{false};
    std::thread sender([&] {
      bool ok = agent.send(head);
      for (int i = 0; ok && i < 128; ++i) ok = agent.send(one_mib);
      if (ok) ok = agent.send("0\r\n\r\n");
      finished = ok;
    });
    const bool closed = agent.closed_within(60s);
    const bool sent_all_first = finished;
    ::shutdown(agent.fd(), SHUT_RDWR);  // ends the sender, whatever egress did
    sender.join();
    CHECK(closed);
    CHECK(agent.received.starts_with("HTTP/1.1 413 "));
    CHECK(contains(agent.received, "bottle egress: request body too large"));
    CHECK_FALSE(sent_all_first);  // the answer came before the end of the body
    CHECK(egress.parent().connections() == 0);
  }

  SECTION("64 MiB and one byte, the last byte arriving with the end of the body") {
    // The chunk that passes the cap and the last chunk come in one segment, after
    // egress has read the 64 MiB before them.
    Agent agent(egress.port());
    std::thread sender([&] {
      bool ok = agent.send(head);
      for (std::uint64_t i = 0; ok && i < body_cap / mib; ++i) ok = agent.send(one_mib);
      std::this_thread::sleep_for(500ms);
      if (ok) agent.send("1\r\nX\r\n0\r\n\r\n");
    });
    const bool closed = agent.closed_within(60s);
    ::shutdown(agent.fd(), SHUT_RDWR);
    sender.join();
    CHECK(closed);
    CHECK(agent.received.starts_with("HTTP/1.1 413 "));
    INFO("egress answered: " << agent.received.substr(0, agent.received.find("\r\n")));
    const auto requests = egress.parent().requests();
    INFO("body bytes the upstream received: " << (requests.empty() ? 0 : requests[0].body_bytes));
    CHECK(requests.empty());
  }

  SECTION("exactly 64 MiB: forwarded whole") {
    Agent agent(egress.port());
    bool sent = agent.send(head);
    for (std::uint64_t i = 0; sent && i < body_cap / mib; ++i) sent = agent.send(one_mib);
    if (sent) sent = agent.send("0\r\n\r\n");
    CHECK(sent);
    CHECK(agent.closed_within(30s));
    CHECK(agent.received.starts_with("HTTP/1.1 200 "));
    const auto requests = egress.parent().requests();
    REQUIRE(requests.size() == 1);
    CHECK(contains(requests[0].head, "\r\nContent-Length: " + std::to_string(body_cap)));
    CHECK(requests[0].body_bytes == body_cap);
  }
}

TEST_CASE("egress limits: connections past --max-connections get 503 until one closes", "[egress-limits]") {
  LimitedEgress egress({"--max-connections", "2", "--head-timeout", "60", "--idle-timeout", "60"});
  // A connection egress is serving: its CONNECT answered, TLS not started yet.
  const auto served = [&](Agent& agent) {
    return agent.send("CONNECT quiet.example:443 HTTP/1.1\r\nHost: quiet.example:443\r\n\r\n") &&
           agent.read_until("\r\n\r\n", 10s) && agent.received == "HTTP/1.1 200 Connection established\r\n\r\n";
  };
  // A connection over the cap: a 503 without asking, then the end.
  const auto refused = [&] {
    Agent agent(egress.port());
    const bool closed = agent.closed_within(10s);
    INFO("received: " << agent.received);
    return closed && agent.received.starts_with("HTTP/1.1 503 ") &&
           contains(agent.received, "bottle egress: too many connections");
  };

  auto first = std::make_unique<Agent>(egress.port());
  Agent second(egress.port());
  REQUIRE(served(*first));
  REQUIRE(served(second));
  CHECK(refused());
  CHECK(refused());  // a refused connection does not hold a place either

  first.reset();  // one place frees up
  std::unique_ptr<Agent> third;
  CHECK(wait_until(
      [&] {
        third = std::make_unique<Agent>(egress.port());
        return served(*third);
      },
      10s));
  CHECK(refused());  // two served again: the cap holds
}
