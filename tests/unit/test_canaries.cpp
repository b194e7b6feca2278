// The canaries of `bottle-cli check NAME`: each guest probe's argv and the judge of
// its output, compared by exact equality. A probe that could not run never passes.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "bottle/ops/canaries.hpp"
#include "cli_fixture.hpp"

using namespace bottle;

namespace {

const std::vector<TcpTarget> two_targets = {{"1.1.1.1", 443}, {"egress", 22}};

CanaryResult public_judged(const std::string& out) {
  return judge_unreachable("public-network", "public address", parse_tcp_probe(exited(0, out), two_targets));
}

}  // namespace

TEST_CASE("canary: the TCP probe passes its limit and targets as positional parameters", "[canaries]") {
  const Argv argv = tcp_probe_argv(two_targets, 2);
  REQUIRE(argv.size() == 7);
  CHECK(Argv(argv.begin(), argv.begin() + 2) == Argv{"sh", "-c"});
  CHECK(Argv(argv.begin() + 3, argv.end()) == Argv{"bottle-canary", "2", "1.1.1.1:443", "egress:22"});
  // node first, then nc, then bash; "no-tool" when none is there.
  CHECK_THAT(argv[2], Catch::Contains("exec node -e") && Catch::Contains("nc -w") && Catch::Contains("no-tool"));
}

TEST_CASE("canary: TCP probe output is parsed per target, in order", "[canaries]") {
  CHECK(parse_tcp_probe(exited(0, "1.1.1.1 443 unreachable\negress 22 refused\n"), two_targets) ==
        std::vector<TcpProbe>{{{"1.1.1.1", 443}, TcpOutcome::unreachable}, {{"egress", 22}, TcpOutcome::refused}});
  // Anything else means the probe did not run as intended.
  CHECK_FALSE(parse_tcp_probe(exited(0, "no-tool\n"), two_targets));
  CHECK_FALSE(parse_tcp_probe(exited(0, "1.1.1.1 443 unreachable\n"), two_targets));
  CHECK_FALSE(parse_tcp_probe(exited(0, "egress 22 refused\n1.1.1.1 443 unreachable\n"), two_targets));
  CHECK_FALSE(parse_tcp_probe(exited(0, "1.1.1.1 443 maybe\negress 22 refused\n"), two_targets));
  CHECK_FALSE(parse_tcp_probe(exited(127, "1.1.1.1 443 timeout\negress 22 timeout\n"), two_targets));
}

TEST_CASE("canary: an address is unreachable only when nothing answered it", "[canaries]") {
  CHECK(public_judged("1.1.1.1 443 unreachable\negress 22 timeout\n") ==
        CanaryResult{"public-network", CanaryStatus::pass, "no public address answered (2 tried)"});
  // A reset is an answer: the packet got there.
  CHECK(public_judged("1.1.1.1 443 refused\negress 22 timeout\n") ==
        CanaryResult{"public-network", CanaryStatus::fail,
                     "public address 1.1.1.1:443 is reachable (answered (refused))"});
  CHECK(public_judged("1.1.1.1 443 timeout\negress 22 connected\n") ==
        CanaryResult{"public-network", CanaryStatus::fail, "public address egress:22 is reachable (connected)"});
  CHECK(public_judged("1.1.1.1 443 error\negress 22 timeout\n") ==
        CanaryResult{"public-network", CanaryStatus::unchecked,
                     "could not check: connecting to 1.1.1.1:443 failed oddly"});
  CHECK(public_judged("no-tool\n") ==
        CanaryResult{"public-network", CanaryStatus::unchecked, "could not check: the TCP probe did not run"});
  CHECK(judge_unreachable("host", "host address", std::vector<TcpProbe>{}) ==
        CanaryResult{"host", CanaryStatus::skipped, "no host address to try"});
}

TEST_CASE("canary: egress accepts its proxy port and nothing else", "[canaries]") {
  const TcpTarget proxy{"egress", 8080};
  const std::vector<TcpTarget> targets{proxy, {"egress", 22}, {"egress", 8081}};
  auto judged = [&](const std::string& out) {
    return judge_egress_ports(proxy, parse_tcp_probe(exited(0, out), targets));
  };
  CHECK(judged("egress 8080 connected\negress 22 refused\negress 8081 timeout\n") ==
        CanaryResult{"egress-ports", CanaryStatus::pass,
                     "only the proxy port 8080 accepts connections (2 other ports tried)"});
  CHECK(judged("egress 8080 connected\negress 22 refused\negress 8081 connected\n") ==
        CanaryResult{"egress-ports", CanaryStatus::fail, "egress accepts connections on egress:8081"});
  // The control: a probe that reaches nothing would otherwise pass.
  CHECK(judged("egress 8080 unresolved\negress 22 unresolved\negress 8081 unresolved\n") ==
        CanaryResult{"egress-ports", CanaryStatus::fail,
                     "egress's proxy port egress:8080 does not accept connections (unresolved)"});
  CHECK(judged("egress 8080 connected\negress 22 error\negress 8081 refused\n") ==
        CanaryResult{"egress-ports", CanaryStatus::unchecked, "could not check: connecting to egress:22 ended error"});
}

TEST_CASE("canary: a unique name must not resolve", "[canaries]") {
  CHECK(dns_probe_argv("bottle-canary-ab12.invalid", 2) ==
        Argv{"sh", "-c", dns_probe_argv("x", 2)[2], "bottle-canary", "2", "bottle-canary-ab12.invalid"});
  CHECK(unique_canary_name("ab12") == "bottle-canary-ab12.invalid");
  CHECK(judge_dns(exited(0, "unresolved EAI_AGAIN\n")) ==
        CanaryResult{"dns", CanaryStatus::pass, "a unique name did not resolve (EAI_AGAIN)"});
  CHECK(judge_dns(exited(0, "resolved 10.0.0.1\n")) ==
        CanaryResult{"dns", CanaryStatus::fail, "a unique name resolved: the bottle's resolver answers from outside"});
  CHECK(judge_dns(exited(0, "no-tool\n")) ==
        CanaryResult{"dns", CanaryStatus::unchecked, "could not check: no probe tool in the image"});
  CHECK(judge_dns(exited(1, "")) ==
        CanaryResult{"dns", CanaryStatus::unchecked, "could not check: the probe failed (status 1)"});
  CHECK(judge_dns(timed_out("")) ==
        CanaryResult{"dns", CanaryStatus::unchecked, "could not check: the probe timed out"});
}

TEST_CASE("canary: a dummy sent to an unbound host is blocked, and never travels in the host's argv", "[canaries]") {
  const Argv argv = dummy_probe_argv("http://egress:8080", 2);
  CHECK(Argv(argv.begin() + 3, argv.end()) ==
        Argv{"bottle-canary", "2", "http://egress:8080", "http://bottle-canary.invalid/"});
  CHECK(dummy_probe_stdin("sk-dummy-123") == "Authorization: Bearer sk-dummy-123\n");
  CHECK(judge_dummy(exited(0, "status 403\n")) ==
        CanaryResult{"dummy", CanaryStatus::pass, "egress blocked a dummy sent to an unbound host (403)"});
  CHECK(judge_dummy(exited(0, "status 502\n")) ==
        CanaryResult{"dummy", CanaryStatus::fail, "a dummy sent to an unbound host was not blocked (status 502)"});
  CHECK(judge_dummy(exited(0, "error ECONNREFUSED\n")) ==
        CanaryResult{"dummy", CanaryStatus::fail, "the request did not get an answer from egress (ECONNREFUSED)"});
  CHECK(judge_dummy(exited(0, "no-tool\n")) ==
        CanaryResult{"dummy", CanaryStatus::unchecked, "could not check: no probe tool in the image"});
}

TEST_CASE("canary: a real token in the bottle is found and named, never shown", "[canaries]") {
  const std::string real = "real-token-value-0123456789";
  const std::vector<SecretNeedle> secrets{{"Codex access token", real}};
  using namespace std::string_literals;
  // environ is NUL-separated.
  const std::string clean =
      "\n==> /proc/1/environ\nPATH=/bin\0HOME=/root\n==> /home/node/.codex/auth.json\n{}\n==> end\n"s;
  CHECK(
      judge_tokens(exited(0, clean), {{"HTTPS_PROXY", "http://egress:8080"}}, secrets) ==
      CanaryResult{"tokens", CanaryStatus::pass, "none of the host's 1 real tokens is in the bottle (2 places read)"});
  const std::string planted = "\n==> /proc/1/environ\nPATH=/bin\n==> /proc/7/environ\nOPENAI=" + real + "\n==> end\n";
  const CanaryResult found = judge_tokens(exited(0, planted), {}, secrets);
  CHECK(found ==
        CanaryResult{"tokens", CanaryStatus::fail, "the host's Codex access token is in the bottle (/proc/7/environ)"});
  CHECK(judge_tokens(exited(0, clean), {{"TOKEN", "x" + real}}, secrets) ==
        CanaryResult{"tokens", CanaryStatus::fail,
                     "the host's Codex access token is in the bottle's environment (TOKEN)"});
  // A scan cut short proves nothing.
  CHECK(judge_tokens(exited(0, "\n==> /proc/1/environ\nPATH=/bin\n"), {}, secrets) ==
        CanaryResult{"tokens", CanaryStatus::unchecked, "could not check: unexpected probe output"});
  CHECK(judge_tokens(exited(0, clean), {}, {}) ==
        CanaryResult{"tokens", CanaryStatus::skipped, "no host login to compare with"});
  CHECK(token_scan_argv()[3] == "bottle-canary");
}

TEST_CASE("canary: could-not-check fails the check, skipped does not", "[canaries]") {
  const CanaryResult pass{"dns", CanaryStatus::pass, "ok"};
  CHECK(canaries_pass({pass, {"dummy", CanaryStatus::skipped, "no dummy"}}));
  CHECK_FALSE(canaries_pass({pass, {"dummy", CanaryStatus::unchecked, "could not check"}}));
  CHECK_FALSE(canaries_pass({pass, {"host", CanaryStatus::fail, "reachable"}}));
  CHECK(canaries_to_text({pass, {"host", CanaryStatus::unchecked, "no tool"}}) ==
        "pass            dns            ok\n"
        "could not check host           no tool\n");
  CHECK(canaries_to_json("api", {pass}) ==
        R"({"bottle":"api","ok":true,"canaries":[{"name":"dns","status":"pass","reason":"ok"}]})"
        "\n");
}

TEST_CASE("check NAME: no such bottle is exit 4, a stopped one exit 5, and nothing runs in it", "[canaries][cli]") {
  CliFixture f;
  CHECK(f.run({"check", "nosuch"}) == 4);
  REQUIRE(f.run({"create", "--name", "api", "--image", "img", "--no-egress", "--workspace",
                 (f.tmp.path() / "ws").string(), "--no-start"}) == 0);
  const std::size_t before = f.runner.commands().size();
  // The engine lists no running container: the bottle is not running.
  CHECK(f.run({"check", "api"}) == 5);
  CHECK_THAT(f.err.str(), Catch::Contains("bottle \"api\" is not running"));
  for (std::size_t i = before; i < f.runner.commands().size(); ++i) CHECK(f.runner.commands()[i].argv.at(1) != "exec");
}

TEST_CASE("check NAME: each canary runs in the bottle as root with the system PATH, in order", "[canaries][cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress"}) == 0);
  f.runner.on({"docker", "ps"}, exited(0, "api\trunning\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"));
  f.runner.on({"docker", "network", "inspect", "bridge"}, exited(0, "172.17.0.1,\tdocker0\n"));
  // The host probe tries every host address and the bridge gateway, on 22 and 80.
  std::vector<std::string> addresses = host_ipv4_addresses();
  if (std::find(addresses.begin(), addresses.end(), "172.17.0.1") == addresses.end())
    addresses.emplace_back("172.17.0.1");
  // The TCP probes are answered from the targets their argv names (canary_responder.hpp):
  // 1.1.1.1:443 and every host address on 22 unreachable, the rest timed out.
  std::vector<std::string> probed;
  f.runner.respond(canary_responder::tcp_probe([&](const std::vector<std::string>& targets, std::size_t i) {
    probed.push_back(targets[i]);
    return targets[i] == "1.1.1.1:443" || targets[i].ends_with(":22") ? "unreachable" : "timeout";
  }));
  f.runner.push_result(exited(0, "unresolved EAI_AGAIN\n"));
  f.runner.push_result(exited(0, "\n==> /proc/1/environ\nPATH=/bin\n==> end\n"));
  f.runner.push_result(exited(0, ""));  // the mount table: no guard plan, nothing missing
  const std::size_t before = f.runner.commands().size();
  const std::string probe_path = "PATH=" + std::string(canary_probe_path);
  CHECK(f.run({"check", "api"}) == 0);
  CHECK(f.out.str() ==
        "pass            public-network no public address answered (2 tried)\n" +
            fmt::format("pass            host           no host address answered ({} tried)\n", addresses.size() * 2) +
            "skipped         egress-ports   the bottle has no egress\n"
            "pass            dns            a unique name did not resolve (EAI_AGAIN)\n"
            "skipped         dummy          the bottle has no egress\n"
            "skipped         tokens         no host login to compare with\n"
            "pass            workspace      no protected path changed, every one is still protected\n"
            "skipped         egress         egress is off: the bottle has no network\n");
  CHECK(std::find(probed.begin(), probed.end(), "172.17.0.1:22") != probed.end());
  std::vector<std::vector<std::string>> execs;
  for (std::size_t i = before; i < f.runner.commands().size(); ++i) {
    const auto& c = f.runner.commands()[i];
    if (c.argv.at(1) != "exec") continue;
    // The exec framing: everything up to the container's name.
    const auto container = std::find(c.argv.begin(), c.argv.end(), "bottle-api");
    REQUIRE(container != c.argv.end());
    execs.push_back(std::vector<std::string>(c.argv.begin(), container + 1));
    // Every probe has a deadline: a hung guest cannot hang check.
    if (c.argv.size() > 10 && c.argv[10] == "bottle-canary") {
      CHECK(c.timeout.has_value());
      execs.back().push_back(c.argv[10]);
    }
  }
  CHECK(execs == std::vector<std::vector<std::string>>{
                     // dns, started first: it runs while the TCP probe waits
                     {"docker", "exec", "-e", probe_path, "-u", "root", "bottle-api", "bottle-canary"},
                     // public-network and host: one exec, every target at once
                     {"docker", "exec", "-e", probe_path, "-u", "root", "bottle-api", "bottle-canary"},
                     {"docker", "exec", "-e", probe_path, "-u", "root", "bottle-api", "bottle-canary"},  // tokens
                     {"docker", "exec", "-u", "root", "bottle-api"},  // the mount table
                 });
}
