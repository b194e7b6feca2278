#include <catch2/catch.hpp>

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/ops/resume.hpp"

using namespace bottle;

namespace {

BottleSpec sample_spec(AgentKind agent = AgentKind::claude) {
  BottleSpec s;
  s.name = "api";
  s.backend = BackendKind::smolmachines;
  s.agent = agent;
  s.image = "bottle-agent:latest";
  s.workspaces = {{"/src/api", "/workspace", false}};
  s.env = {{"FOO", "bar"}};
  return s;
}

SmolmachinesOptions options(SmolvmGrammar grammar = SmolvmGrammar::positional_names) {
  return {.smolvm = "smolvm", .grammar = grammar, .pty_resize = "/opt/bottle/libexec/bottle/pty-resize"};
}

}  // namespace

TEST_CASE("smolmachines TTY agent argv: pty-resize by absolute path, -t, env, runuser before the agent",
          "[smolmachines][argv]") {
  SmolmachinesCommands smol(options());
  const AgentArgv a = smol.agent_argv(sample_spec(), {"--model", "x"}, true);
  CHECK(a.argv() == Argv{"/opt/bottle/libexec/bottle/pty-resize",
                         "bottle-api",
                         "--",
                         "smolvm",
                         "machine",
                         "exec",
                         "--name",
                         "bottle-api",
                         "-t",
                         "-w",
                         "/workspace",
                         "-e",
                         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
                         "-e",
                         "DISABLE_AUTOUPDATER=1",
                         "-e",
                         "FOO=bar",
                         "--",
                         "runuser",
                         "-u",
                         "node",
                         "--",
                         "claude",
                         "--model",
                         "x"});
  CHECK(a.tail == Argv{"claude", "--model", "x"});
}

TEST_CASE("smolmachines non-TTY agent argv has neither -t nor the wrapper", "[smolmachines][argv]") {
  SmolmachinesCommands smol(options());
  const Argv argv = smol.agent_argv(sample_spec(AgentKind::codex), {"exec", "hi"}, false).argv();
  CHECK(argv == Argv{"smolvm", "machine", "exec", "--name", "bottle-api", "-w", "/workspace", "-e", "FOO=bar", "--",
                     "runuser", "-u", "node", "--", "codex", "exec", "hi"});
  for (const auto& word : argv) CHECK(word.find("pty-resize") == std::string::npos);
}

TEST_CASE("smolmachines agent argv injects the prompt file after runuser", "[smolmachines][argv]") {
  SmolmachinesCommands smol(options());
  BottleSpec s = sample_spec();
  s.env.clear();
  s.prompt_file = "/host/PROMPT.md";
  CHECK(smol.agent_argv(s, {}, false).argv() == Argv{"smolvm", "machine", "exec", "--name", "bottle-api", "-w",
                                                     "/workspace", "-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
                                                     "-e", "DISABLE_AUTOUPDATER=1", "--", "runuser", "-u", "node", "--",
                                                     "claude", "--append-system-prompt-file", "/etc/bottle/prompt.md"});
}

TEST_CASE("smolmachines TTY argv without a located wrapper is a clear error", "[smolmachines][argv]") {
  SmolmachinesOptions o = options();
  o.pty_resize.clear();
  SmolmachinesCommands smol(o);
  CHECK_THROWS_WITH(smol.agent_argv(sample_spec(), {}, true), Catch::Contains("pty-resize wrapper not found"));
  CHECK_NOTHROW(smol.agent_argv(sample_spec(), {}, false));
}

TEST_CASE("a root agent user needs no runuser", "[smolmachines][argv]") {
  SmolmachinesCommands smol(options());
  BottleSpec s = sample_spec();
  s.user = "root";
  s.env.clear();
  CHECK(smol.agent_argv(s, {}, false).argv() == Argv{"smolvm", "machine", "exec", "--name", "bottle-api", "-w",
                                                     "/workspace", "-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
                                                     "-e", "DISABLE_AUTOUPDATER=1", "-e", "IS_SANDBOX=1", "--",
                                                     "claude"});
}

TEST_CASE("smolvm create/delete follow the installed grammar", "[smolmachines][argv]") {
  BottleSpec s = sample_spec();
  s.resources = {2, 2048};
  SmolmachinesCommands old_grammar(options(SmolvmGrammar::positional_names));
  CHECK(old_grammar.create_argvs(s, {}) ==
        std::vector<Argv>{{"smolvm", "machine", "create", "bottle-api", "--image", "bottle-agent:latest", "--cpus", "2",
                           "--mem", "2048", "-v", "/src/api:/workspace"}});
  CHECK(old_grammar.remove_argvs(s) == std::vector<Argv>{{"smolvm", "machine", "delete", "bottle-api", "-f"}});
  SmolmachinesCommands new_grammar(options(SmolvmGrammar::flag_names));
  CHECK(new_grammar.create_argvs(s, {})[0][3] == "--name");
  CHECK(new_grammar.remove_argvs(s) ==
        std::vector<Argv>{{"smolvm", "machine", "delete", "--name", "bottle-api", "-f"}});
  CHECK(new_grammar.start_argv(s) == Argv{"smolvm", "machine", "start", "--name", "bottle-api"});
  CHECK(new_grammar.stop_argv(s) == Argv{"smolvm", "machine", "stop", "--name", "bottle-api"});
  CHECK(new_grammar.list_argv() == Argv{"smolvm", "machine", "ls", "--json"});
}

TEST_CASE("smolvm version output selects the grammar", "[smolmachines][parse]") {
  CHECK(smolvm_grammar_for_version("smolvm 0.8.0\n") == SmolvmGrammar::positional_names);
  CHECK(smolvm_grammar_for_version("smolvm 1.0.1") == SmolvmGrammar::positional_names);
  CHECK(smolvm_grammar_for_version("smolvm 1.0.2\n") == SmolvmGrammar::flag_names);
  CHECK(smolvm_grammar_for_version("smolvm 1.9.3") == SmolvmGrammar::flag_names);
  CHECK(smolvm_grammar_for_version("smolvm 2.0.0") == SmolvmGrammar::flag_names);
  for (const char* bad : {"", "smolvm", "smolvm x.y.z", "docker 1.0.0", "smolvm 1.2", "smolvm 99999999.0.0"})
    CHECK_THROWS_AS(smolvm_grammar_for_version(bad), Error);
}

TEST_CASE("smolmachines exec argv: provisioning as root with -i, user commands through runuser",
          "[smolmachines][argv]") {
  SmolmachinesCommands smol(options());
  const BottleSpec s = sample_spec();
  CHECK(smol.exec_argv(s, {"cat"}, ExecOptions{.forward_stdin = true}) ==
        Argv{"smolvm", "machine", "exec", "--name", "bottle-api", "-i", "--", "cat"});
  CHECK(smol.exec_argv(s, {"id"}, ExecOptions{.user = "node", .workdir = "/workspace"}) ==
        Argv{"smolvm", "machine", "exec", "--name", "bottle-api", "-w", "/workspace", "--", "runuser", "-u", "node",
             "--", "id"});
}

TEST_CASE("smolvm ls --json keeps only bottle's machines", "[smolmachines][parse]") {
  SmolmachinesCommands smol(options());
  const auto rows = smol.parse_list(R"([
    {"name": "bottle-api", "state": "running", "created_at": 1795719000, "pid": 42},
    {"name": "someone-else", "state": "stopped", "created_at": 1}
  ])");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0] == BottleInfo{"api", BackendKind::smolmachines, EngineState::running, 1795719000});
  CHECK(smol.parse_list("[]").empty());
  CHECK_THROWS_WITH(smol.parse_list("No machines found"), Catch::Contains("not a JSON array"));
  CHECK_THROWS_WITH(smol.parse_list(R"([{"name": 3}])"), Catch::Contains("lacks a string name"));
}

TEST_CASE("resume keeps the backend framing and wraps only the agent", "[resume]") {
  SmolmachinesCommands smol(options());
  BottleSpec s = sample_spec();
  s.env.clear();
  const AgentArgv plain = smol.agent_argv(s, {}, true);
  // The framing (its shape: the TTY agent argv test) is kept word for word.
  Argv expected = plain.prefix;
  expected.insert(expected.end(), {"sh", "-c", "claude --continue || claude"});
  CHECK(resume_argv(plain, {"claude", "--continue"}) == expected);
  CHECK(Argv(plain.prefix.end() - 4, plain.prefix.end()) == Argv{"runuser", "-u", "node", "--"});
}

TEST_CASE("smolvm machine states are parsed once into EngineState", "[smolmachines][parse]") {
  SmolmachinesCommands smol(options());
  const auto rows = smol.parse_list(R"([
    {"name": "bottle-a", "state": "running"}, {"name": "bottle-b", "state": "stopped"},
    {"name": "bottle-c", "state": "created"}, {"name": "bottle-d", "state": "starting"}
  ])");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].state == EngineState::running);
  CHECK(rows[1].state == EngineState::stopped);
  CHECK(rows[2].state == EngineState::created);
  CHECK(rows[3].state == EngineState::other);
  CHECK(rows[3].state_text() == "starting");
  CHECK(rows[0].other_state.empty());
  CHECK(!rows[0].egress_state);  // egress runs on the host: host_egress_state() reports it
}

TEST_CASE("smolvm: a machine already gone is recognised from each engine message", "[smolmachines][gone]") {
  SmolmachinesCommands smol(options());
  CHECK(smol.is_gone(exited(1, "", "Error: vm not found: bottle-api\n")));
  CHECK(
      smol.is_gone(exited(1, "", "Error: config operation failed: machine status: machine 'bottle-api' not found\n")));
  CHECK_FALSE(smol.is_gone(exited(1, "", "Error: agent operation failed: delete machine: permission denied\n")));
  CHECK_FALSE(smol.is_gone(exited(1, "", "")));
}
