// The dashboard's pure parts: launch argvs (attach, resume, tmux forms), quoting
// that survives a real shell, and the model's filter / selection / key mapping.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <chrono>
#include <cstdio>
#include <thread>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/backends/podman_commands.hpp"
#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/frontend/dashboard_launch.hpp"
#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/dashboard_worker.hpp"
#include "bottle/ops/resume.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

constexpr const char* pty = "/opt/bottle/libexec/bottle/pty-resize";

BottleSpec spec_for(BackendKind backend, AgentKind agent, std::string guest = "/workspace") {
  BottleSpec s;
  s.name = "api";
  s.backend = backend;
  s.agent = agent;
  s.workspaces = {{"/src/api", std::move(guest), false}};
  return s;
}

BottleRow row(std::string name, EngineState state = EngineState::running, BackendKind backend = BackendKind::docker,
              std::string workspace = "/src") {
  BottleRow r;
  r.name = std::move(name);
  r.backend = backend;
  r.state = state;
  r.workspace = std::move(workspace);
  return r;
}

// Run argv[0..] the way exec would and capture stdout (popen is sh -c, so the
// argv is shell-joined first; shell_join is tested to be exact by this very trip).
std::string run_captured(const Argv& argv) {
  FILE* pipe = ::popen(shell_join(argv).c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[256];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  REQUIRE(::pclose(pipe) == 0);
  return out;
}

}  // namespace

TEST_CASE("dashboard: attach and resume argvs for docker and smolmachines, claude and codex", "[dashboard]") {
  DockerCommands docker;
  SmolmachinesCommands smol({.smolvm = "smolvm", .pty_resize = pty});
  // Without egress, only claude's sandbox defaults are in the environment.
  const Argv claude_env = {"-e", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "-e", "DISABLE_AUTOUPDATER=1"};
  const auto docker_prefix = [&](AgentKind agent) {
    Argv prefix = {"docker", "exec", "-it", "-w", "/workspace"};
    if (agent == AgentKind::claude) prefix.insert(prefix.end(), claude_env.begin(), claude_env.end());
    prefix.insert(prefix.end(), {"-u", "node", "bottle-api"});
    return prefix;
  };
  const auto smol_prefix = [&](AgentKind agent) {
    Argv prefix = {pty,      "bottle-api", "--", "smolvm", "machine",   "exec",
                   "--name", "bottle-api", "-t", "-w",     "/workspace"};
    if (agent == AgentKind::claude) prefix.insert(prefix.end(), claude_env.begin(), claude_env.end());
    prefix.insert(prefix.end(), {"--", "runuser", "-u", "node", "--"});
    return prefix;
  };
  auto with = [](Argv prefix, const Argv& tail) {
    prefix.insert(prefix.end(), tail.begin(), tail.end());
    return prefix;
  };
  const auto without_egress = [](BottleSpec spec) {
    spec.egress.enabled = false;
    return spec;
  };

  const auto claude_d = without_egress(spec_for(BackendKind::docker, AgentKind::claude));
  const auto codex_d = without_egress(spec_for(BackendKind::docker, AgentKind::codex));
  const auto claude_s = without_egress(spec_for(BackendKind::smolmachines, AgentKind::claude));
  const auto codex_s = without_egress(spec_for(BackendKind::smolmachines, AgentKind::codex));

  CHECK(agent_launch_argv(docker, claude_d, LaunchMode::attach) == with(docker_prefix(AgentKind::claude), {"claude"}));
  CHECK(agent_launch_argv(docker, claude_d, LaunchMode::resume) ==
        with(docker_prefix(AgentKind::claude), {"sh", "-c", "claude --continue || claude"}));
  CHECK(agent_launch_argv(docker, codex_d, LaunchMode::attach) == with(docker_prefix(AgentKind::codex), {"codex"}));
  CHECK(agent_launch_argv(docker, codex_d, LaunchMode::resume) ==
        with(docker_prefix(AgentKind::codex), {"sh", "-c", "codex resume --last || codex"}));
  CHECK(agent_launch_argv(smol, claude_s, LaunchMode::attach) == with(smol_prefix(AgentKind::claude), {"claude"}));
  CHECK(agent_launch_argv(smol, claude_s, LaunchMode::resume) ==
        with(smol_prefix(AgentKind::claude), {"sh", "-c", "claude --continue || claude"}));
  CHECK(agent_launch_argv(smol, codex_s, LaunchMode::attach) == with(smol_prefix(AgentKind::codex), {"codex"}));
  CHECK(agent_launch_argv(smol, codex_s, LaunchMode::resume) ==
        with(smol_prefix(AgentKind::codex), {"sh", "-c", "codex resume --last || codex"}));

  SECTION("a workdir with spaces and quotes stays one word in the framing") {
    const auto odd = spec_for(BackendKind::smolmachines, AgentKind::claude, "/work space/it's");
    const Argv a = agent_launch_argv(smol, odd, LaunchMode::resume);
    CHECK(a.at(10) == "/work space/it's");  // after -w
    CHECK(a.back() == "claude --continue || claude");
  }
}

TEST_CASE("dashboard: podman and kubernetes bottles launch through their engine's exec, like any other",
          "[dashboard][podman][kubernetes]") {
  const PodmanCommands podman;
  const KubernetesCommands kubernetes;
  BottleSpec pod = spec_for(BackendKind::podman, AgentKind::codex);
  pod.workspaces.clear();
  pod.egress.subnet = "10.89.3.0/24";
  CHECK(agent_launch_argv(podman, pod, LaunchMode::attach) ==
        Argv{"podman", "exec", "-i", "-t", "bottle-api-agent-agent", "codex"});
  CHECK(agent_launch_argv(podman, pod, LaunchMode::resume) ==
        Argv{"podman", "exec", "-i", "-t", "bottle-api-agent-agent", "sh", "-c", "codex resume --last || codex"});
  BottleSpec cluster = spec_for(BackendKind::kubernetes, AgentKind::claude);
  cluster.workspaces.clear();
  const Argv attach = agent_launch_argv(kubernetes, cluster, LaunchMode::attach);
  CHECK(attach == kubernetes.agent_argv(cluster, {}, true).argv());
  CHECK(attach.front() == "kubectl");
  CHECK(attach.back() == "claude");
}

TEST_CASE("dashboard: hostile words survive shell_quote through a real sh -c", "[dashboard]") {
  const Argv torture = {"plain",   "two words",    "it's", "\"double\"", "$HOME",       "${X:-y}",   "`id`",
                        "$(id)",   "line1\nline2", "",     "tab\there",  "back\\slash", "*",         "~",
                        "a;b|c&d", "ünïcødé ✓",    "'",    "''",         "-n",          "--continue"};
  // Through resume's own wrapping: sh -c '<continue> || <plain>' with printf as the agent.
  const AgentArgv plain{.prefix = {}, .tail = [&] {
                          Argv t = {"printf", "%s\\n"};
                          t.insert(t.end(), torture.begin(), torture.end());
                          return t;
                        }()};
  const Argv resumed = resume_argv(plain, {"false"});
  REQUIRE(resumed.size() == 3);
  std::string expected;
  for (const auto& w : torture) expected += w + "\n";
  CHECK(run_captured(resumed) == expected);
  for (const auto& w : torture) {
    INFO("word: [" << w << "]");
    CHECK(run_captured({"printf", "%s", w}) == w);
  }
}

TEST_CASE("dashboard: tmux split-window and respawn-pane argvs", "[dashboard]") {
  const Argv cmd = {"/opt/pty-resize",
                    "bottle-api",
                    "--",
                    "smolvm",
                    "machine",
                    "exec",
                    "--",
                    "sh",
                    "-c",
                    "claude --continue || claude"};
  CHECK(tmux_split_window_argv(cmd) == Argv{"tmux", "split-window", "-h", "-P", "-F", "#{pane_id}", "-c", "/", "--",
                                            "/opt/pty-resize", "bottle-api", "--", "smolvm", "machine", "exec", "--",
                                            "sh", "-c", "claude --continue || claude"});
  TmuxOptions options{.tmux = "/usr/bin/tmux", .env = {{"PATH", "/a b:/usr/bin"}}};
  CHECK(tmux_respawn_pane_argv("%7", cmd, options) == Argv{"/usr/bin/tmux",
                                                           "respawn-pane",
                                                           "-k",
                                                           "-t",
                                                           "%7",
                                                           "-c",
                                                           "/",
                                                           "-e",
                                                           "PATH=/a b:/usr/bin",
                                                           "--",
                                                           "/opt/pty-resize",
                                                           "bottle-api",
                                                           "--",
                                                           "smolvm",
                                                           "machine",
                                                           "exec",
                                                           "--",
                                                           "sh",
                                                           "-c",
                                                           "claude --continue || claude"});
  // One word would go through tmux's shell: it is quoted so it stays one word.
  CHECK(tmux_split_window_argv({"/x y/agent"}).back() == "'/x y/agent'");
  CHECK(inside_tmux("/tmp/tmux-0/default,123,0"));
  CHECK_FALSE(inside_tmux(""));
  CHECK_FALSE(inside_tmux(nullptr));
  const Command fg = foreground_command({"/bin/true"});
  CHECK(fg.argv == Argv{"/bin/true"});
  CHECK(fg.interactive);
  CHECK(resolve_program("sh", "relative:/nonexistent:/bin:/usr/bin") == "/bin/sh");
  CHECK(resolve_program("/abs/prog", "/bin") == "/abs/prog");
  CHECK(resolve_program("no-such-program-xyz", "/bin") == "no-such-program-xyz");
}

TEST_CASE("dashboard model: filter, selection follows the bottle, clamps after refresh", "[dashboard]") {
  DashboardModel m;
  CHECK(m.selected_index() == -1);
  m.set_rows({row("alpha"), row("beta", EngineState::stopped), row("gamma"), row("delta")});
  CHECK(m.selected_index() == 0);
  m.on_key(dash_key::down);
  m.on_key('j');
  CHECK(m.selected()->name == "gamma");

  SECTION("refresh keeps the selected bottle selected when rows move") {
    m.set_rows({row("zeta"), row("alpha"), row("beta"), row("gamma")});
    CHECK(m.selected()->name == "gamma");
    CHECK(m.selected_index() == 3);
  }
  SECTION("refresh clamps when the selected bottle vanished") {
    m.set_rows({row("alpha"), row("beta")});
    CHECK(m.selected_index() == 1);
    CHECK(m.selected()->name == "beta");
    m.set_rows({});
    CHECK(m.selected_index() == -1);
    CHECK_FALSE(m.selected());
    CHECK(m.on_key(dash_key::enter) == DashAction{DashAction::Kind::redraw, {}});
    CHECK(m.status() == "no bottle selected");
  }
  SECTION("moving clamps at both ends") {
    for (int i = 0; i < 10; ++i) m.on_key('k');
    CHECK(m.selected_index() == 0);
    for (int i = 0; i < 10; ++i) m.on_key(dash_key::down);
    CHECK(m.selected_index() == 3);
  }
  SECTION("filter applies while typing, Enter keeps it, Esc clears it") {
    CHECK(m.on_key('/').kind == DashAction::Kind::redraw);
    CHECK(m.mode() == DashMode::filter);
    m.on_key('t');
    m.on_key('a');
    CHECK(m.filter() == "ta");
    REQUIRE(m.visible().size() == 2);                       // beta, delta
    CHECK(m.selected()->name == "delta");                   // gamma is filtered out: clamped
    CHECK(m.on_key('q').kind == DashAction::Kind::redraw);  // q is text here, not quit
    CHECK(m.visible().empty());
    m.on_key(dash_key::backspace);
    m.on_key(dash_key::enter);
    CHECK(m.mode() == DashMode::table);
    CHECK(m.filter() == "ta");
    m.on_key('/');
    m.on_key(dash_key::escape);
    CHECK(m.filter().empty());
    CHECK(m.visible().size() == 4);
    CHECK(m.selected()->name == "beta");
  }
  SECTION("filter matches state and backend too") {
    m.set_rows({row("a"), row("b", EngineState::stopped, BackendKind::smolmachines)});
    m.on_key('/');
    for (char c : std::string("smol")) m.on_key(c);
    REQUIRE(m.visible().size() == 1);
    CHECK(m.visible()[0].name == "b");
  }
}

TEST_CASE("dashboard model: keys map to actions", "[dashboard]") {
  using K = DashAction::Kind;
  DashboardModel m;
  m.set_rows({row("alpha"), row("beta")});
  m.on_key('j');
  CHECK(m.on_key(dash_key::enter) == DashAction{K::attach, "beta"});
  CHECK(m.on_key('r') == DashAction{K::resume, "beta"});
  CHECK(m.on_key('s') == DashAction{K::stop, "beta"});
  CHECK(m.on_key('q') == DashAction{K::quit, {}});
  CHECK(m.on_key(dash_key::resize) == DashAction{K::redraw, {}});
  CHECK(m.on_key('x') == DashAction{});

  SECTION("d asks; y removes, anything else cancels") {
    CHECK(m.on_key('d') == DashAction{K::redraw, {}});
    CHECK(m.mode() == DashMode::confirm_remove);
    CHECK(m.confirm_target() == "beta");
    m.set_rows({row("beta"), row("alpha")});  // a refresh while asking keeps the target
    CHECK(m.on_key('y') == DashAction{K::remove, "beta"});
    CHECK(m.mode() == DashMode::table);
    m.on_key('d');
    CHECK(m.on_key('n') == DashAction{K::redraw, {}});
    CHECK(m.status() == "remove cancelled");
    m.on_key('d');
    CHECK(m.on_key(dash_key::escape) == DashAction{K::redraw, {}});
    CHECK(m.mode() == DashMode::table);
  }
  SECTION("? shows help; the next key only closes it") {
    m.on_key('?');
    CHECK(m.mode() == DashMode::help);
    CHECK(m.on_key('q') == DashAction{K::redraw, {}});
    CHECK(m.mode() == DashMode::table);
  }
  SECTION("scroll window follows the selection") {
    std::vector<BottleRow> many;
    for (int i = 0; i < 50; ++i) many.push_back(row("b" + std::to_string(i)));
    DashboardModel big;
    big.set_rows(many);
    CHECK(big.scroll_top(10) == 0);
    for (int i = 0; i < 15; ++i) big.on_key('j');
    CHECK(big.scroll_top(10) == 6);
    big.on_key(dash_key::end);
    CHECK(big.scroll_top(10) == 40);
    big.set_rows({row("b1"), row("b2")});
    CHECK(big.scroll_top(10) == 0);
  }
  CHECK(dash_cells(row("x", EngineState::running, BackendKind::smolmachines, ""), 100) ==
        DashCells{"x", "smolmachines", "claude", "running", "-", "-", "-"});
  // Workspace changes that protection could not prevent lead the workspace cell.
  BottleRow changed = row("x", EngineState::running, BackendKind::smolmachines, "");
  changed.workspace = "/src/api";
  changed.workspace_changes = 2;
  CHECK(dash_cells(changed, 100)[workspace_column] == "!2 changed /src/api");
  changed.workspace_changes = 0;
  CHECK(dash_cells(changed, 100)[workspace_column] == "/src/api");
}

TEST_CASE("dashboard worker: refreshes off the caller's thread, reports job failures", "[dashboard]") {
  TempDir home;
  const StateDirs dirs{home.path() / "config", home.path() / "state"};
  BottleSpec spec = spec_for(BackendKind::smolmachines, AgentKind::claude);
  SpecStore(dirs).save(spec);
  auto runner = std::make_unique<RecordingRunner>();
  runner->fallback = exited(0, R"([{"name":"bottle-api","state":"running"}])");
  const BackendFactory factory = [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(r, std::make_unique<SmolmachinesCommands>(SmolmachinesOptions{.pty_resize = pty}));
  };
  DashboardWorker worker(Host(), std::move(runner), dirs, factory, std::chrono::milliseconds(20));
  worker.start();
  std::optional<DashboardWorker::Snapshot> snap;
  for (int i = 0; i < 500 && !snap; ++i) {
    snap = worker.take_snapshot();
    if (!snap) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(snap);
  CHECK(snap->error.empty());
  REQUIRE(snap->rows.size() == 1);
  CHECK(snap->rows[0].name == "api");
  CHECK(snap->rows[0].state == EngineState::running);

  worker.submit(DashboardWorker::Job::stop, "ghost");
  std::vector<DashboardWorker::Message> messages;
  for (int i = 0; i < 500 && messages.empty(); ++i) {
    messages = worker.take_messages();
    if (messages.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].error);
  CHECK_THAT(messages[0].text, Catch::StartsWith("stop ghost: "));
  worker.stop();
  CHECK(worker.refreshes() >= 1);
}
