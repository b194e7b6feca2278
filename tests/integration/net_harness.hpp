#pragma once
// Shared by the egress and forwarding tests: files, polling, long-running children,
// a test CA with server certificates, and the fake network script (fake_net.py).

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <optional>

#include "../unit/temp_dir.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_config.hpp"
#include "test_paths.hpp"

namespace net_harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string fake_net_script() { return std::string(test_paths::source_dir) + "/tests/integration/fake_net.py"; }

inline void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// How credential files are refreshed on the host: a new file renamed over the old.
inline void replace_file(const fs::path& path, const std::string& text) {
  write_file(path.string() + ".new", text);
  fs::rename(path.string() + ".new", path);
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

inline bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return ready();
}

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_open(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const auto addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A long-running child with stdout and stderr in `log`; its process group is
// terminated in the destructor.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const fs::path& log) {
    std::vector<std::string> words{"sh", "-c", "exec \"$@\" >>\"$0\" 2>&1", log.string()};
    words.insert(words.end(), argv.begin(), argv.end());
    child_ = runner_.start({.argv = words});
    REQUIRE(child_->pid() > 0);
  }
  ~Daemon() { child_->kill_group(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  bool running() { return !child_->wait_for(std::chrono::milliseconds(0)).has_value(); }

 private:
  bottle::SystemRunner runner_;
  std::unique_ptr<bottle::RunningProcess> child_;
};

// Wait for a bottle-egress Daemon's ready line in `log` (not a probe connection: one
// would count against --max-connections); fails the test, with the log, if it exits
// or takes longer than `timeout`.
inline void require_egress_ready(Daemon& egress, const fs::path& log, std::chrono::milliseconds timeout) {
  const bool ready = wait_until(
      [&] { return !egress.running() || contains(read_file(log), R"({"event":"ready","listen":"127.0.0.1:)"); },
      timeout);
  INFO("egress log:\n" << read_file(log));
  REQUIRE(ready);
  REQUIRE(egress.running());
}

inline bottle::ProcessResult run(std::vector<std::string> argv) {
  bottle::SystemRunner runner;
  auto r = runner.run({.argv = std::move(argv)});
  REQUIRE(r.started());
  return r;
}

// Test CA and one server certificate for every host the fake upstream plays.
inline void make_certs(const fs::path& dir) {
  const auto d = dir.string();
  write_file(dir / "ext.cnf",
             "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
             "subjectAltName=DNS:chatgpt.com,DNS:api.anthropic.com,DNS:evil.example,DNS:broken.example\n");
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/ca.key", "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=bottle egress test CA"},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=chatgpt.com"},
      {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
       "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/ext.cnf"},
  };
  for (const auto& argv : steps) {
    const auto r = run(argv);
    INFO(r.err);
    REQUIRE(r.ok());
  }
}

// Whether egress's log (JSON lines on stderr) has a line holding all of `fields`.
inline bool logged(const std::string& log, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    if (ec || !value.is_object()) continue;
    const auto& object = value.as_object();
    if (std::all_of(fields.begin(), fields.end(), [&](const auto& field) {
          const auto* v = object.if_contains(field.first);
          return v != nullptr && v->is_string() && v->as_string() == field.second;
        }))
      return true;
  }
  return false;
}

// bottle-egress as bottle runs it (bottle_egress_argv) on 127.0.0.1:`port`, with
// `dir`/conf as its confdir, the routes in `dir`/routes.json, the parent proxy on
// 127.0.0.1:`parent_port` and make_certs()'s CA (`dir`/ca.pem) trusted for upstreams
// (no parent: direct, to public addresses only, no extra CA). Writes the
// bottle CA into conf first (mitmproxy-ca.pem, key and certificate, and
// mitmproxy-ca-cert.pem, what the bottle trusts), as bottle's egress set-up does.
inline std::vector<std::string> egress_test_argv(const fs::path& dir, std::uint16_t port,
                                                 std::optional<std::uint16_t> parent_port) {
  const fs::path conf = dir / "conf";
  fs::create_directories(conf);
  const auto made = run({"openssl",
                         "req",
                         "-x509",
                         "-newkey",
                         "ec",
                         "-pkeyopt",
                         "ec_paramgen_curve:prime256v1",
                         "-nodes",
                         "-keyout",
                         (conf / "ca.key").string(),
                         "-out",
                         (conf / "mitmproxy-ca-cert.pem").string(),
                         "-days",
                         "2",
                         "-subj",
                         "/CN=bottle egress CA (test)",
                         "-addext",
                         "basicConstraints=critical,CA:TRUE",
                         "-addext",
                         "keyUsage=critical,keyCertSign,cRLSign"});
  INFO(made.err);
  REQUIRE(made.ok());
  write_file(conf / "mitmproxy-ca.pem", read_file(conf / "ca.key") + read_file(conf / "mitmproxy-ca-cert.pem"));
  fs::remove(conf / "ca.key");
  // The test's own environment must not add an upstream CA behind the argv's back.
  std::vector<std::string> argv = {"env", "-u", "BOTTLE_EGRESS_UPSTREAM_CA"};
  bottle::EgressLaunch launch{.program = test_paths::bottle_egress,
                              .listen_host = "127.0.0.1",
                              .listen_port = port,
                              .ca_file = (conf / "mitmproxy-ca.pem").string(),
                              .confdir = conf.string(),
                              .routes_path = (dir / "routes.json").string()};
  if (parent_port) {
    launch.upstream_proxy = "http://127.0.0.1:" + std::to_string(*parent_port);
    launch.upstream_trusted_ca = (dir / "ca.pem").string();
  }
  const auto egress = bottle::bottle_egress_argv(launch);
  argv.insert(argv.end(), egress.begin(), egress.end());
  return argv;
}

// The fake network (fake_net.py serve): an HTTPS upstream posing as every host of
// make_certs(), behind a parent proxy; both log what they receive.
struct FakeNet {
  TempDir dir;
  std::optional<Daemon> daemon;
  std::int64_t upstream_port = 0;
  std::int64_t parent_port = 0;
  FakeNet() {
    const fs::path& d = dir.path();
    make_certs(d);
    daemon.emplace(std::vector<std::string>{"python3", fake_net_script(), "serve", (d / "server.pem").string(),
                                            (d / "server.key").string(), (d / "ports.json").string(),
                                            (d / "upstream.log").string(), (d / "parent.log").string()},
                   d / "fake_net.out");
    REQUIRE(wait_until([&] { return fs::exists(d / "ports.json"); }, 20s));
    const auto ports = boost::json::parse(read_file(d / "ports.json"));
    upstream_port = ports.at("upstream").as_int64();
    parent_port = ports.at("parent").as_int64();
  }
  fs::path path(const std::string& name) const { return dir.path() / name; }
};

}  // namespace net_harness
