#include <catch2/catch.hpp>

#include <algorithm>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/egress/egress_setup.hpp"
#include "bottle/spec/guest_env.hpp"
#include "sample_specs.hpp"

using namespace bottle;

namespace {

BottleSpec sample_spec() {
  BottleSpec s = minimal_docker_spec();
  s.workspaces = {{"/src/api", "/workspace", false}, {"/data", "/data", true}};
  s.env = {{"FOO", "bar"}, {"A", "b c"}};
  return s;
}

}  // namespace

TEST_CASE("docker agent argv with a TTY", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  s.egress.enabled = false;  // its variables: "docker agent argv carries the guest environment"
  const AgentArgv a = docker.agent_argv(s, {"--model", "x"}, true);
  // The spec's env and claude's sandbox defaults, sorted.
  CHECK(a.argv() == Argv{"docker", "exec", "-it", "-w", "/workspace", "-e", "A=b c", "-e",
                         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "-e", "DISABLE_AUTOUPDATER=1", "-e", "FOO=bar",
                         "-u", "node", "bottle-api", "claude", "--model", "x"});
  CHECK(a.tail == Argv{"claude", "--model", "x"});
}

TEST_CASE("docker agent argv without a TTY has no -it", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  s.env.clear();
  s.egress.enabled = false;
  s.agent = AgentKind::codex;
  CHECK(docker.agent_argv(s, {"exec", "hi"}, false).argv() ==
        Argv{"docker", "exec", "-w", "/workspace", "-u", "node", "bottle-api", "codex", "exec", "hi"});
}

TEST_CASE("docker agent argv injects the prompt file flag", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  s.env.clear();
  s.prompt_file = "/home/me/PROMPT.md";
  CHECK(docker.agent_argv(s, {}, true).tail == Argv{"claude", "--append-system-prompt-file", "/etc/bottle/prompt.md"});
  s.agent = AgentKind::codex;
  CHECK(docker.agent_argv(s, {"-m", "o3"}, true).tail ==
        Argv{"codex", "-c", "model_instructions_file=/etc/bottle/prompt.md", "-m", "o3"});
}

TEST_CASE("docker agent argv carries the guest environment, egress variables included", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  s.agent = AgentKind::codex;
  s.env.clear();
  s.egress.enabled = true;
  const GuestEgress egress = docker.guest_egress(s);
  REQUIRE(egress.enabled);
  const auto env = guest_environment(s, egress);
  REQUIRE(env.count("HTTPS_PROXY") == 1);
  CHECK(docker.guest_env(s) == env);
  Argv expected{"docker", "exec", "-w", "/workspace"};
  for (const auto& [key, value] : env) expected.insert(expected.end(), {"-e", key + "=" + value});
  expected.insert(expected.end(), {"-u", "node", "bottle-api"});
  CHECK(docker.agent_argv(s, {}, false).prefix == expected);
  // Without egress there is no proxy to point at.
  s.egress.enabled = false;
  CHECK(docker.guest_env(s).count("HTTPS_PROXY") == 0);
}

TEST_CASE("docker create argv: labelled, internal network, dropped capabilities, mounts", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  s.resources = {2, 2048};
  const auto argvs = docker.create_argvs(
      s, {{"/src/api/.git", "/workspace/.git", false}, {"/src/api/.git/config", "/workspace/.git/config", true}});
  REQUIRE(argvs.size() == 2);
  CHECK(argvs[0] == Argv{"docker", "network", "create", "--internal", "-o",
                         "com.docker.network.bridge.inhibit_ipv4=true", "--label", "io.bottle.managed=1", "--label",
                         "io.bottle.name=api", "bottle-api-net"});
  CHECK(argvs[1] == Argv{"docker",
                         "create",
                         "--name",
                         "bottle-api",
                         "--hostname",
                         "api",
                         "--label",
                         "io.bottle.managed=1",
                         "--label",
                         "io.bottle.name=api",
                         "--label",
                         "io.bottle.role=bottle",
                         "--network",
                         "bottle-api-net",
                         "--cap-drop",
                         "ALL",
                         "--cap-add",
                         "CHOWN",
                         "--cap-add",
                         "DAC_OVERRIDE",
                         "--cap-add",
                         "FOWNER",
                         "--cap-add",
                         "SETUID",
                         "--cap-add",
                         "SETGID",
                         "--security-opt",
                         "no-new-privileges",
                         "--pids-limit",
                         "4096",
                         "--cpus",
                         "2",
                         "--memory",
                         "2048m",
                         "--memory-swap",
                         "2048m",
                         "-v",
                         "/src/api:/workspace",
                         "-v",
                         "/data:/data:ro",
                         "--mount",
                         "type=bind,source=/src/api/.git,target=/workspace/.git",
                         "--mount",
                         "type=bind,source=/src/api/.git/config,target=/workspace/.git/config,readonly",
                         "--entrypoint",
                         "/bin/sh",
                         "bottle-agent:latest",
                         "-c",
                         "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"});
}

TEST_CASE("docker bottles get a memory limit by default", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  s.resources = {};
  const Argv create = docker.create_argvs(s, {})[1];
  const auto memory = std::find(create.begin(), create.end(), "--memory");
  REQUIRE(memory != create.end());
  CHECK(Argv(memory, memory + 4) == Argv{"--memory", "4096m", "--memory-swap", "4096m"});
}

TEST_CASE("docker lifecycle argvs", "[docker][argv]") {
  DockerCommands docker(DockerOptions{.docker = "/usr/bin/docker"});
  const BottleSpec s = sample_spec();
  CHECK(docker.start_argv(s) == Argv{"/usr/bin/docker", "start", "bottle-api"});
  CHECK(docker.stop_argv(s) == Argv{"/usr/bin/docker", "stop", "bottle-api"});
  CHECK(docker.remove_argvs(s) == std::vector<Argv>{{"/usr/bin/docker", "rm", "-f", "bottle-api"},
                                                    {"/usr/bin/docker", "rm", "-f", "bottle-api-egress"},
                                                    {"/usr/bin/docker", "network", "rm", "bottle-api-net"}});
  CHECK(docker.list_argv() ==
        Argv{"/usr/bin/docker", "ps", "-a", "--no-trunc", "--filter", "label=io.bottle.managed=1", "--format",
             "{{.Label \"io.bottle.name\"}}\t{{.State}}\t{{.CreatedAt}}\t{{.Label \"io.bottle.role\"}}"});
}

TEST_CASE("docker exec argv: provisioning runs as root with stdin, user commands as the user", "[docker][argv]") {
  DockerCommands docker;
  const BottleSpec s = sample_spec();
  CHECK(docker.exec_argv(s, {"cat"}, ExecOptions{.forward_stdin = true}) ==
        Argv{"docker", "exec", "-i", "-u", "root", "bottle-api", "cat"});
  CHECK(docker.exec_argv(s, {"ls", "-la"},
                         ExecOptions{.tty = true, .user = "node", .workdir = "/workspace", .env = {{"K", "V"}}}) ==
        Argv{"docker", "exec", "-it", "-w", "/workspace", "-e", "K=V", "-u", "node", "bottle-api", "ls", "-la"});
}

TEST_CASE("docker ls output is parsed into rows", "[docker][parse]") {
  DockerCommands docker;
  const auto rows = docker.parse_list(
      "api\trunning\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"
      "api\texited\t2026-11-26 18:50:00 +0000 UTC\tegress\n"
      "web\texited\t2026-11-26 19:50:00 +0100 CET\tbottle\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == BottleInfo{"api", BackendKind::docker, EngineState::running, 1795719000, EngineState::stopped});
  CHECK(rows[1] == BottleInfo{"web", BackendKind::docker, EngineState::stopped, 1795719000, std::nullopt});
  CHECK(docker.parse_list("").empty());
  // A malformed offset (found by fuzzing) is ignored, not a crash.
  CHECK(docker.parse_list("api\trunning\t2026-11-26 18:50:00 +00x0 UTC\tbottle\n").at(0).created_unix == 1795719000);
  CHECK_THROWS_WITH(docker.parse_list("garbage line\n"), Catch::Contains("4 tab-separated fields"));
}

TEST_CASE("docker operations run exactly the built argvs", "[docker][ops]") {
  RecordingRunner runner;
  Backend docker(runner, std::make_unique<DockerCommands>());
  const BottleSpec s = sample_spec();
  docker.create(s, {});
  docker.start(s);
  REQUIRE(runner.argvs().size() == 3);
  CHECK(runner.argvs()[0] == docker.commands().create_argvs(s, {})[0]);
  CHECK(runner.argvs()[1] == docker.commands().create_argvs(s, {})[1]);
  CHECK(runner.argvs()[2] == docker.commands().start_argv(s));
}

TEST_CASE("a failing engine command becomes a backend error with its stderr", "[docker][ops]") {
  RecordingRunner runner;
  runner.push_result(exited(1, "", "Error: No such container: bottle-api\n"));
  Backend docker(runner, std::make_unique<DockerCommands>());
  try {
    docker.stop(sample_spec());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::backend);
    CHECK(std::string(e.what()) == "stop api: docker failed (status 1): Error: No such container: bottle-api");
  }
}

TEST_CASE("a docker binary that cannot start is not an exit status", "[docker][ops]") {
  RecordingRunner runner;
  ProcessResult missing;
  missing.outcome = ProcessResult::Outcome::failed_to_start;
  missing.start_error = "docker: not found on PATH";
  runner.push_result(missing);
  Backend docker(runner, std::make_unique<DockerCommands>());
  CHECK_THROWS_WITH(docker.list(), "list docker bottles: could not run docker: docker: not found on PATH");
}

TEST_CASE("install_file sends the content on stdin, never in argv", "[docker][ops]") {
  RecordingRunner runner;
  Backend docker(runner, std::make_unique<DockerCommands>());
  docker.install_file(sample_spec(), "/home/node/.codex/auth.json", "SECRET-LOOKING", "node:node", 0600);
  REQUIRE(runner.commands().size() == 1);
  const Command& c = runner.commands()[0];
  CHECK(c.stdin_data == std::optional<std::string>("SECRET-LOOKING"));
  for (const auto& word : c.argv) CHECK(word.find("SECRET-LOOKING") == std::string::npos);
  CHECK(Argv(c.argv.end() - 4, c.argv.end()) == Argv{"sh", "/home/node/.codex/auth.json", "node:node", "600"});
}

TEST_CASE("docker egress sidecar: internal network alias, read-only mounts, bottle-egress argv", "[docker][argv]") {
  DockerCommands docker;
  BottleSpec s = sample_spec();
  const EgressFiles files{.run_dir = "/st/egress",
                          .conf_dir = "/st/egress/conf",
                          .routes_dir = "/st/egress/routes",
                          .host_mounts = {{"/home/u/.codex", "/run/bottle/host/0"}}};
  const auto argvs = docker.egress_create_argvs(s, files, {.proxy = "http://pipelock:8888"});
  REQUIRE(argvs.size() == 2);
  const Argv expected_prefix{"docker",
                             "create",
                             "--name",
                             "bottle-api-egress",
                             "--hostname",
                             "egress",
                             "--label",
                             "io.bottle.managed=1",
                             "--label",
                             "io.bottle.name=api",
                             "--label",
                             "io.bottle.role=egress",
                             "--network",
                             "bottle-api-net",
                             "--network-alias",
                             "egress",
                             "--cap-drop",
                             "ALL",
                             "--security-opt",
                             "no-new-privileges",
                             "--pids-limit",
                             "512",
                             "--memory",
                             "256m",
                             "--memory-swap",
                             "256m",
                             "-v",
                             "/st/egress/conf:/run/bottle/egress/conf",
                             "-v",
                             "/st/egress/routes:/run/bottle/egress/routes:ro",
                             "-v",
                             "/home/u/.codex:/run/bottle/host/0",
                             "--entrypoint",
                             "/usr/local/bin/bottle-egress",
                             "bottle-egress:latest",
                             "--listen",
                             "0.0.0.0:8080",
                             "--ca",
                             "/run/bottle/egress/conf/mitmproxy-ca.pem",
                             "--routes",
                             "/run/bottle/egress/routes/routes.json",
                             "--confdir",
                             "/run/bottle/egress/conf",
                             "--parent-proxy",
                             "http://pipelock:8888"};
  CHECK(argvs[0] == expected_prefix);
  CHECK(docker.egress_probe_argv(s, files) ==
        Argv{"docker", "exec", "bottle-api-egress", "/usr/local/bin/bottle-egress", "probe", "127.0.0.1:8080"});
  CHECK(argvs[1] == Argv{"docker", "network", "connect", "bridge", "bottle-api-egress"});
  CHECK(docker.guest_egress(s).proxy_url == "http://egress:8080");
  s.egress.enabled = false;
  CHECK_FALSE(docker.guest_egress(s).enabled);
}

TEST_CASE("docker states are parsed once into EngineState, other words are kept to show", "[docker][parse]") {
  DockerCommands docker;
  const auto state_of = [&](const std::string& word) {
    return docker.parse_list("api\t" + word + "\t2026-11-26 18:50:00 +0000 UTC\tbottle\n").at(0);
  };
  CHECK(state_of("running").state == EngineState::running);
  CHECK(state_of("exited").state == EngineState::stopped);
  CHECK(state_of("dead").state == EngineState::stopped);
  CHECK(state_of("created").state == EngineState::created);
  CHECK(state_of("running").other_state.empty());
  CHECK(state_of("paused").state == EngineState::other);
  CHECK(state_of("paused").other_state == "paused");
  CHECK(state_of("paused").state_text() == "paused");
  CHECK(state_of("exited").state_text() == "stopped");
  // An egress container in a state bottle does not know is still not running.
  const auto rows = docker.parse_list(
      "api\trunning\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"
      "api\trestarting\t2026-11-26 18:50:00 +0000 UTC\tegress\n");
  CHECK(rows.at(0).egress_state == EngineState::other);
}

TEST_CASE("docker: an object already gone is recognised from each engine message", "[docker][gone]") {
  DockerCommands docker;
  CHECK(docker.is_gone(exited(1, "", "Error: No such container: bottle-api\n")));
  CHECK(docker.is_gone(exited(1, "", "Error response from daemon: No such container: bottle-api-egress\n")));
  CHECK(docker.is_gone(exited(1, "", "Error: No such network: bottle-api-net\n")));
  CHECK(docker.is_gone(exited(1, "", "Error response from daemon: network bottle-api-net not found\n")));
  CHECK_FALSE(docker.is_gone(exited(1, "",
                                    "Error response from daemon: error while removing network: "
                                    "network bottle-api-net id 1234 has active endpoints\n")));
  CHECK_FALSE(docker.is_gone(exited(1, "",
                                    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                    "Is the docker daemon running?\n")));
  CHECK_FALSE(docker.is_gone(exited(1, "", "")));
}

TEST_CASE("docker remove: gone objects are fine, a real failure is reported", "[docker][gone][ops]") {
  RecordingRunner runner;
  Backend docker(runner, std::make_unique<DockerCommands>());
  runner.push_result(exited(1, "", "Error: No such container: bottle-api\n"));
  runner.push_result(exited(1, "", "Error: No such container: bottle-api-egress\n"));
  runner.push_result(exited(1, "", "Error: No such network: bottle-api-net\n"));
  CHECK_NOTHROW(docker.remove(sample_spec()));

  RecordingRunner failing;
  Backend docker2(failing, std::make_unique<DockerCommands>());
  failing.push_result(exited(0));
  failing.push_result(exited(0));
  failing.push_result(exited(1, "", "Error response from daemon: network bottle-api-net has active endpoints\n"));
  CHECK_THROWS_WITH(docker2.remove(sample_spec()), Catch::Contains("has active endpoints"));
}
