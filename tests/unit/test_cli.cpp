#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/frontend/broker_cli.hpp"
#include "bottle/frontend/cli.hpp"
#include "bottle/workspace/workspace_guard.hpp"
#include "cli_fixture.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

TEST_CASE("cli: --version, --help and per-command help", "[cli]") {
  CliFixture f;
  CHECK(f.run({"--version"}) == 0);
  CHECK_THAT(f.out.str(), Catch::StartsWith("bottle-cli "));
  CHECK(f.run({"--help"}) == 0);
  for (const char* command : {"create", "ls", "start", "stop", "rm", "exec", "attach", "config"})
    CHECK_THAT(f.out.str(), Catch::Contains(std::string("  ") + command));
  CHECK(f.run({"exec", "--help"}) == 0);
  CHECK_THAT(f.out.str(), Catch::StartsWith("usage: bottle-cli exec"));
  CHECK(f.runner.commands().empty());
}

TEST_CASE("cli: usage errors name the argument and exit 2", "[cli]") {
  CliFixture f;
  CHECK(f.run({}) == exit_code::usage);
  CHECK(f.run({"frobnicate"}) == exit_code::usage);
  CHECK_THAT(f.err.str(), Catch::Contains("unknown command 'frobnicate'"));
  CHECK(f.run({"exec", "api"}) == exit_code::usage);
  CHECK_THAT(f.err.str(), Catch::Contains("exec: missing `-- CMD...`"));
  CHECK(f.run({"create", "--cpus", "lots"}) == exit_code::usage);
  CHECK_THAT(f.err.str(), Catch::Contains("--cpus: must be a whole number"));
  CHECK(f.run({"create", "--workspace"}) == exit_code::usage);
  CHECK_THAT(f.err.str(), Catch::Contains("--workspace: needs a value"));
  CHECK(f.run({"stop"}) == exit_code::usage);
  CHECK(f.run({"stop", "Bad/Name"}) == exit_code::invalid_input);
  CHECK_THAT(f.err.str(), Catch::Contains("NAME: may contain only"));
  CHECK(f.runner.commands().empty());
}

TEST_CASE("cli: create runs the engine, then stores the spec", "[cli]") {
  CliFixture f;
  CHECK(f.run({"create", "--workspace", "ws", "--agent", "codex", "--image", "img:1", "-e", "A=1", "--no-egress"}) ==
        0);
  CHECK_THAT(f.out.str(), Catch::Contains("created bottle ws-codex"));
  DockerCommands docker;
  const BottleSpec spec = SpecStore(f.ctx.dirs).load("ws-codex");
  CHECK(spec.workspaces.at(0).host == (f.tmp.path() / "ws").string());
  const auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 6);  // ps (name check), network create, create, start, the start probe, the sentinel
  CHECK(argvs[0] == docker.list_argv());
  // The workspace is not a repository: its protection is the placeholders bottle
  // made (an empty `.git` refuses `git init` inside), each mounted read-only.
  const std::string ws = (f.tmp.path() / "ws").string();
  for (const char* name : {".git", ".claude", ".vscode"}) CHECK(std::filesystem::is_directory(ws + "/" + name));
  const std::vector<GuardMount> guard = guard_mounts(spec);
  CHECK(std::find(guard.begin(), guard.end(), GuardMount{ws + "/.git", "/workspace/.git", true}) != guard.end());
  CHECK(argvs[1] == docker.create_argvs(spec, guard)[0]);
  CHECK(argvs[2] == docker.create_argvs(spec, guard)[1]);
  CHECK(argvs[3] == docker.start_argv(spec));
  // The network canaries' probe (start_check.hpp) runs alongside what follows.
  CHECK(canary_responder::is_tcp_probe(argvs[4]));
  // The workspace sentinel runs under start-stop-daemon, as `bottle-cli guard NAME`.
  CHECK(argvs[5].front() == "start-stop-daemon");
  CHECK(std::vector<std::string>(argvs[5].end() - 3, argvs[5].end()) ==
        std::vector<std::string>{"--", "guard", "ws-codex"});
  // rm takes the placeholders away again.
  CHECK(f.run({"rm", "-f", "ws-codex"}) == 0);
  CHECK_FALSE(std::filesystem::exists(ws + "/.git"));
  CHECK(std::filesystem::is_empty(ws));
  CHECK(f.run({"create", "--workspace", "ws", "--agent", "codex", "--image", "img:1", "-e", "A=1", "--no-egress"}) ==
        0);

  CHECK(f.run({"create", "--workspace", "ws", "--agent", "codex", "--no-egress"}) == exit_code::conflict);
  CHECK_THAT(f.err.str(), Catch::Contains("already exists"));
}

TEST_CASE("cli: a failed start leaves nothing behind", "[cli]") {
  CliFixture f;
  f.runner.push_result(exited(0));                        // ps
  f.runner.push_result(exited(0));                        // network create
  f.runner.push_result(exited(0));                        // create
  f.runner.push_result(exited(1, "", "cannot start\n"));  // start
  CHECK(f.run({"create", "--name", "api", "--no-egress"}) == exit_code::failure);
  CHECK_THAT(f.err.str(), Catch::Contains("start api: docker failed (status 1): cannot start"));
  CHECK_FALSE(SpecStore(f.ctx.dirs).exists("api"));
  const auto argvs = f.runner.argvs();
  REQUIRE(argvs.size() == 7);
  CHECK(argvs[4] == Argv{"docker", "rm", "-f", "bottle-api"});
  CHECK(argvs[5] == Argv{"docker", "rm", "-f", "bottle-api-egress"});
  CHECK(argvs[6] == Argv{"docker", "network", "rm", "bottle-api-net"});
}

TEST_CASE("cli: exec and attach run the backend's argv and pass the status through", "[cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress"}) == 0);
  f.runner.push_result(exited(7));
  CHECK(f.run({"exec", "api", "--", "sh", "-c", "exit 7"}) == 7);
  CHECK(f.runner.commands().back().argv ==
        Argv{"docker", "exec", "-i", "-w", "/home/node", "-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "-e",
             "DISABLE_AUTOUPDATER=1", "-u", "node", "bottle-api", "sh", "-c", "exit 7"});
  CHECK(f.runner.commands().back().interactive);

  f.runner.push_result(exited(0));
  CHECK(f.run({"attach", "api", "--", "--model", "m"}) == 0);
  CHECK(f.runner.commands().back().argv ==
        Argv{"docker", "exec", "-it", "-w", "/home/node", "-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "-e",
             "DISABLE_AUTOUPDATER=1", "-u", "node", "bottle-api", "claude", "--model", "m"});

  f.runner.push_result(exited(0));
  CHECK(f.run({"attach", "--resume", "api"}) == 0);
  CHECK(f.runner.commands().back().argv ==
        Argv{"docker", "exec", "-it", "-w", "/home/node", "-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "-e",
             "DISABLE_AUTOUPDATER=1", "-u", "node", "bottle-api", "sh", "-c", "claude --continue || claude"});

  ProcessResult signaled;
  signaled.outcome = ProcessResult::Outcome::signaled;
  signaled.code = 9;
  f.runner.push_result(signaled);
  CHECK(f.run({"exec", "api", "--", "sleep", "100"}) == 137);
  CHECK(f.run({"exec", "nope", "--", "true"}) == exit_code::not_found);
}

TEST_CASE("cli: config show prints the effective spec with overrides", "[cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress"}) == 0);
  CHECK(f.run({"config", "show", "api", "--agent", "codex", "--cpus", "3"}) == 0);
  const BottleSpec shown = parse_spec(f.out.str());
  CHECK(shown.name == "api");
  CHECK(shown.agent == AgentKind::codex);
  CHECK(shown.resources.cpus == 3);
  // Showing does not change what is stored.
  CHECK(SpecStore(f.ctx.dirs).load("api").agent == AgentKind::claude);
  CHECK(f.run({"config", "show", "ghost"}) == exit_code::not_found);
}

TEST_CASE("cli: ls --json reports stored bottles with engine state", "[cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress"}) == 0);
  f.runner.push_result(exited(0,
                              "api\trunning\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"
                              "stray\texited\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"));
  CHECK(f.run({"ls", "--json"}) == 0);
  CHECK(f.out.str() ==
        "[{\"name\":\"api\",\"backend\":\"docker\",\"agent\":\"claude\",\"state\":\"running\",\"workspace\":\"\","
        "\"created\":1795719000,\"egress\":\"off\",\"managed\":true},"
        "{\"name\":\"stray\",\"backend\":\"docker\",\"agent\":null,\"state\":\"stopped\",\"workspace\":\"\","
        "\"created\":1795719000,\"egress\":\"\",\"managed\":false}]\n");
}

TEST_CASE("cli: render prints what a bottle gets", "[cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress", "--agent", "codex", "-e", "FOO=a b", "--allow",
                 "github.com"}) == 0);
  CHECK(f.run({"render", "env", "api"}) == 0);
  CHECK(f.out.str() == "FOO='a b'\n");
  CHECK(f.run({"render", "egress", "api"}) == 0);
  CHECK(f.out.str() == "{\n  \"version\": 1,\n  \"routes\": []\n}\n");
  CHECK(f.run({"render", "pipelock", "api"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("mode: \"strict\"") && Catch::Contains("- \"github.com\"") &&
                              Catch::Contains("- \"chatgpt.com\""));
  CHECK(f.run({"render", "secrets", "api"}) == exit_code::usage);
  CHECK_THAT(f.err.str(), Catch::Contains("render: unknown item 'secrets'"));
  CHECK(f.run({"render", "env", "ghost"}) == exit_code::not_found);
}

TEST_CASE("cli: broker run takes an interval, --once and names, each named when wrong", "[cli]") {
  CHECK(parse_broker_args({"run"}) == BrokerRunOptions{});
  CHECK(parse_broker_args({"run", "--interval", "30", "--once", "api", "web"}) ==
        BrokerRunOptions{.interval = std::chrono::seconds(30), .once = true, .names = {"api", "web"}});
  CHECK(error_of([] { parse_broker_args({}); }, ErrorKind::usage) == "broker: missing subcommand (run)");
  CHECK(error_of([] { parse_broker_args({"stop"}); }, ErrorKind::usage) == "broker: unknown subcommand 'stop'");
  CHECK(error_of(
            [] {
              parse_broker_args({"run", "--interval"});
            },
            ErrorKind::usage) == "broker run: --interval needs SECONDS");
  for (const char* bad : {"0", "-5", "1.5", "86401", "", "9999999"})
    CHECK(error_of([&] {
            parse_broker_args({"run", "--interval", bad});
          }) == "--interval: must be a whole number of seconds from 1 to 86400");
  CHECK(error_of(
            [] {
              parse_broker_args({"run", "--all"});
            },
            ErrorKind::usage) == "broker run: unknown option '--all'");
  CHECK_THAT(error_of([] { parse_broker_args({"run", "Bad Name"}); }), Catch::Contains("NAME"));
}

TEST_CASE("cli: broker run --once pushes nothing for bottles whose egress reads the host files", "[cli]") {
  CliFixture f;
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress"}) == 0);
  const std::size_t before = f.runner.commands().size();
  CHECK(f.run({"broker", "run", "--once"}) == 0);
  CHECK(f.out.str().empty());
  CHECK(f.runner.commands().size() == before);  // a Docker bottle has nothing to push
  CHECK(f.run({"broker", "run", "--once", "nope"}) == exit_code::failure);
  CHECK_THAT(f.err.str(), Catch::Contains("broker: nope:"));
}
