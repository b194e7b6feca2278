// Egress for smolmachines bottles: a supervised bottle-egress on the host's loopback,
// reached from the VM through the gateway that smolvm (>= 1.7.2) relays there.
#include <catch2/catch.hpp>

#include <filesystem>

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/host_daemon.hpp"
#include "bottle/core/host_port.hpp"
#include "bottle/spec/guest_env.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

using namespace bottle;

namespace {

BottleSpec egress_spec() {
  BottleSpec s;
  s.name = "api";
  s.backend = BackendKind::smolmachines;
  s.image = "bottle-agent:latest";
  s.egress.port = 41001;
  return s;
}

EgressFiles files() {
  return {.run_dir = "/state/bottles/api/egress",
          .conf_dir = "/state/bottles/api/egress/conf",
          .routes_dir = "/state/bottles/api/egress/routes",
          .host_mounts = {}};
}

}  // namespace

TEST_CASE("smolvm versions before 1.7.2 get no egress, and say why", "[smolmachines][egress]") {
  for (const SmolvmVersion old : {SmolvmVersion{0, 8, 0}, SmolvmVersion{1, 1, 2}, SmolvmVersion{1, 7, 1}}) {
    INFO(old.text());
    SmolmachinesCommands smol(smol_egress_options(old));
    CHECK_FALSE(smol.guest_egress(egress_spec()).enabled);
    CHECK(smol.egress_unavailable_reason().find("smolvm " + old.text() + " cannot confine") != std::string::npos);
    // No egress means no network at all: no --net on create.
    const std::vector<Argv> create = smol.create_argvs(egress_spec(), {});
    for (const auto& word : create.front()) CHECK(word.rfind("--net", 0) != 0);
  }
  SmolmachinesCommands current(smol_egress_options({1, 7, 2}));
  CHECK(current.egress_unavailable_reason().empty());
}

TEST_CASE("smolmachines egress needs bottle-egress on the host", "[smolmachines][egress]") {
  SmolmachinesOptions o = smol_egress_options();
  o.egress_program.clear();
  SmolmachinesCommands smol(o);
  CHECK(smol.egress_unavailable_reason() ==
        "egress needs bottle-egress on the host, and it was not found beside bottle-cli (set BOTTLE_EGRESS)");
  CHECK_FALSE(smol.guest_egress(egress_spec()).enabled);
}

TEST_CASE("a smolmachines bottle with egress may reach only the gateway", "[smolmachines][egress][argv]") {
  SmolmachinesCommands smol(smol_egress_options());
  CHECK(smol.create_argvs(egress_spec(), {}) ==
        std::vector<Argv>{{"smolvm", "machine", "create", "--name", "bottle-api", "--image", "bottle-agent:latest",
                           "--mem", "4096", "--net", "--net-backend", "virtio-net", "--allow-cidr", "100.96.0.1/32"}});
  BottleSpec off = egress_spec();
  off.egress.enabled = false;
  CHECK(smol.create_argvs(off, {}) == std::vector<Argv>{{"smolvm", "machine", "create", "--name", "bottle-api",
                                                         "--image", "bottle-agent:latest", "--mem", "4096"}});
}

TEST_CASE("the guest's proxy is the gateway at the bottle's egress port", "[smolmachines][egress]") {
  SmolmachinesCommands smol(smol_egress_options());
  const GuestEgress egress = smol.guest_egress(egress_spec());
  CHECK(egress.enabled);
  CHECK(egress.proxy_url == "http://100.96.0.1:41001");
  CHECK(egress.ca_bundle_path == "/etc/bottle/ca-bundle.pem");
  const auto env = guest_environment(egress_spec(), egress);
  CHECK(env.at("HTTPS_PROXY") == "http://100.96.0.1:41001");
  CHECK(env.at("NO_PROXY") == "localhost,127.0.0.1,::1");
}

TEST_CASE("host egress is a supervised bottle-egress on loopback", "[smolmachines][egress][argv]") {
  SmolmachinesCommands smol(smol_egress_options());
  CHECK(smol.egress_placement() == EgressPlacement::host);
  CHECK(smol.egress_create_argvs(egress_spec(), files(), {}).empty());
  const EgressUpstream upstream{.proxy = "http://127.0.0.1:8888", .trusted_ca_file = ""};
  CHECK(smol.egress_start_argv(egress_spec(), files(), upstream) ==
        Argv{"start-stop-daemon",
             "--start",
             "--oknodo",
             "--background",
             "--notify-await",
             "--notify-timeout",
             "30",
             "--make-pidfile",
             "--output",
             "/state/bottles/api/egress/bottle-egress.log",
             "--pidfile",
             "/state/bottles/api/egress/bottle-egress.pid",
             "--name",
             "bottle-egress",
             "--startas",
             "/usr/bin/bottle-egress",
             "--",
             "--listen",
             "127.0.0.1:41001",
             "--ca",
             "/state/bottles/api/egress/conf/mitmproxy-ca.pem",
             "--routes",
             "/state/bottles/api/egress/routes/routes.json",
             "--confdir",
             "/state/bottles/api/egress/conf",
             "--parent-proxy",
             "http://127.0.0.1:8888"});
  CHECK(smol.egress_probe_argv(egress_spec(), files()) == Argv{"start-stop-daemon", "--status", "--pidfile",
                                                               "/state/bottles/api/egress/bottle-egress.pid", "--name",
                                                               "bottle-egress"});
  CHECK(smol.egress_stop_argv(egress_spec(), files()) ==
        Argv{"start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/5/KILL/2", "--remove-pidfile", "--pidfile",
             "/state/bottles/api/egress/bottle-egress.pid", "--name", "bottle-egress"});
}

TEST_CASE("a host egress without a port is an internal error, not port 0", "[smolmachines][egress]") {
  SmolmachinesCommands smol(smol_egress_options());
  BottleSpec s = egress_spec();
  s.egress.port = 0;
  CHECK_THROWS_AS(smol.egress_start_argv(s, files(), {}), Error);
}

TEST_CASE("daemon_running checks the pid file's process and its name", "[host_daemon]") {
  const TempDir dir;
  HostDaemon daemon{.program = "/bin/x",
                    .args = {},
                    .pid_file = dir.path() / "d.pid",
                    .log_file = dir.path() / "d.log",
                    .process_name = "bottle_unit_tes"};
  CHECK_FALSE(daemon_running(daemon));  // no pid file
  std::ofstream(daemon.pid_file) << ::getpid() << "\n";
  // This test process's comm is "bottle_unit_tes" (15 characters).
  CHECK(daemon_running(daemon));
  daemon.process_name = "mitmdump";
  CHECK_FALSE(daemon_running(daemon));  // a reused pid of another program
  std::ofstream(daemon.pid_file) << "12x\n";
  CHECK_FALSE(daemon_running(daemon));
}

TEST_CASE("loopback ports: a picked port is free, a listened-on one is not", "[host_port]") {
  const std::uint16_t port = pick_free_port();
  CHECK(port != 0);
  CHECK(port_free("127.0.0.1", port));
  CHECK_FALSE(port_free("127.0.0.1", 0));
  CHECK_THROWS_WITH(pick_free_port("localhost"), "'localhost' is not an IPv4 address");

  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  CHECK_FALSE(port_free("127.0.0.1", ntohs(address.sin_port)));
  ::close(listener);
}

TEST_CASE("spec egress.port is range-checked and saved only once set", "[spec][egress]") {
  CHECK(parse_spec(R"({"name": "a", "egress": {"port": 41001}})").egress.port == 41001);
  CHECK_THROWS_WITH(parse_spec(R"({"name": "a", "egress": {"port": 70000}})"),
                    Catch::StartsWith("spec: $.egress.port:"));
  CHECK_THROWS_WITH(parse_spec(R"({"name": "a", "egress": {"port": "80"}})"),
                    Catch::StartsWith("spec: $.egress.port:"));
  BottleSpec s = egress_spec();
  CHECK(parse_spec(spec_to_json(s)) == s);
  s.egress.port = 0;
  CHECK(spec_to_json(s).find("\"port\"") == std::string::npos);
}
