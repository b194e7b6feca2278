// The TCP probe's fallback, run for real: the script from tcp_probe_argv under dash and
// busybox sh, with a PATH that has nc or bash but no node (a busybox or Debian image),
// against a local listening port and a local closed one. The output is compared whole:
// one "HOST PORT OUTCOME" line per target, in target order, whatever order the parallel
// probes finish in; and the scratch directory is gone afterwards.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/ops/canaries.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

// A socket bound to an ephemeral port on 127.0.0.1; listening, or not (then a connect
// to its port is refused with a reset).
class LocalPort {
 public:
  explicit LocalPort(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    if (listening) REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~LocalPort() { ::close(fd_); }
  LocalPort(const LocalPort&) = delete;
  LocalPort& operator=(const LocalPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::optional<fs::path> host_tool(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"}) {
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

fs::path required_tool(const std::string& name) {
  const auto path = host_tool(name);
  INFO(name << " is needed on the host (scripts/install-deps.sh installs busybox-static)");
  REQUIRE(path);
  return *path;
}

// A bin directory with only what the fallback uses besides its connect tool: no node.
fs::path guest_bin(const fs::path& root, const std::vector<std::pair<std::string, fs::path>>& tools) {
  const fs::path bin = root / "bin";
  fs::create_directories(bin);
  for (const char* name : {"timeout", "mktemp", "rm", "cat"}) fs::create_symlink(required_tool(name), bin / name);
  for (const auto& [name, target] : tools) fs::create_symlink(target, bin / name);
  return bin;
}

struct ScriptRun {
  ProcessResult result;
  bool scratch_left = false;  // anything left in TMPDIR afterwards
};

ScriptRun run_probe(const Argv& shell, const fs::path& bin, const fs::path& root,
                    const std::vector<TcpTarget>& targets) {
  Argv argv = tcp_probe_argv(targets, 1);
  REQUIRE(Argv(argv.begin(), argv.begin() + 2) == Argv{"sh", "-c"});
  argv.erase(argv.begin());
  argv.insert(argv.begin(), shell.begin(), shell.end());
  const fs::path tmp = root / "tmp";
  fs::create_directories(tmp);
  SystemRunner runner;
  ScriptRun run;
  run.result = runner.run({.argv = argv,
                           .env = {{"PATH", bin.string()}, {"TMPDIR", tmp.string()}},
                           .timeout = std::chrono::seconds(60),
                           .env_policy = EnvPolicy::clean});
  run.scratch_left = !fs::is_empty(tmp);
  return run;
}

}  // namespace

TEST_CASE("canary: the TCP probe's nc fallback probes every target and prints them in order", "[canaries][script]") {
  const LocalPort open(true);
  const LocalPort closed(false);
  // The open port first: its probe ends last (nc holds the connection until the limit),
  // so the order printed is the targets', not the finishing order.
  const std::vector<TcpTarget> targets = {{"127.0.0.1", open.port()}, {"127.0.0.1", closed.port()}};
  const std::string expected =
      fmt::format("127.0.0.1 {} connected\n127.0.0.1 {} refused\n", open.port(), closed.port());
  const fs::path busybox = required_tool("busybox");
  for (const Argv& shell : {Argv{required_tool("dash").string()}, Argv{busybox.string(), "sh"}}) {
    CAPTURE(shell);
    TempDir root;
    const auto run = run_probe(shell, guest_bin(root.path(), {{"nc", busybox}}), root.path(), targets);
    INFO(run.result.err);
    CHECK(run.result.ok());
    CHECK(run.result.out == expected);
    CHECK_FALSE(run.scratch_left);
    CHECK(parse_tcp_probe(run.result, targets) ==
          std::vector<TcpProbe>{{targets[0], TcpOutcome::connected}, {targets[1], TcpOutcome::refused}});
  }
}

TEST_CASE("canary: the TCP probe's bash fallback probes every target and prints them in order", "[canaries][script]") {
  const LocalPort open(true);
  const LocalPort closed(false);
  const std::vector<TcpTarget> targets = {
      {"127.0.0.1", closed.port()}, {"127.0.0.1", open.port()}, {"127.0.0.1", closed.port()}};
  TempDir root;
  const auto run = run_probe({required_tool("dash").string()},
                             guest_bin(root.path(), {{"bash", required_tool("bash")}}), root.path(), targets);
  INFO(run.result.err);
  CHECK(run.result.ok());
  CHECK(run.result.out == fmt::format("127.0.0.1 {0} refused\n127.0.0.1 {1} connected\n127.0.0.1 {0} refused\n",
                                      closed.port(), open.port()));
  CHECK_FALSE(run.scratch_left);
}

TEST_CASE("canary: the TCP probe says no-tool when the guest has no node, nc or bash", "[canaries][script]") {
  const LocalPort open(true);
  TempDir root;
  const auto run = run_probe({required_tool("dash").string()}, guest_bin(root.path(), {}), root.path(),
                             {{"127.0.0.1", open.port()}});
  CHECK(run.result.ok());
  CHECK(run.result.out == "no-tool\n");
  CHECK_FALSE(run.scratch_left);
}
