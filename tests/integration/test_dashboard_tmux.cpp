// bottle-dashboard end to end in a real tmux (private socket, no config), with the
// smolmachines backend served by the fake smolvm and `claude` played by fake_agent.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "cli_harness.hpp"

namespace {

namespace fs = std::filesystem;

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A private tmux server and the files the fake bottle needs. The agent runs as
// "nobody" (runuser in the framing), so its PATH directory, workspace and log live
// in a world-readable directory rather than in the 0700 BOTTLE_HOME.
class DashboardTmux {
 public:
  DashboardTmux() : socket_("bottle-dash-" + std::to_string(::getpid())) {
    std::string pattern = (fs::temp_directory_path() / "bottle-dash-pub-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    pub_ = pattern;
    fs::permissions(pub_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    fs::create_directories(pub_ / "bin");
    fs::create_directories(pub_ / "log");
    fs::permissions(pub_ / "log", fs::perms::all);
    workspace_ = pub_ / "work space";
    fs::create_directories(workspace_);
    fs::create_symlink(test_paths::fake_smolvm, pub_ / "bin" / "smolvm");
    // Copies, not links: the agent runs as "nobody", who may not be able to reach
    // the build tree (a clone under a 0700 mktemp directory, say).
    fs::copy_file(test_paths::fake_agent, pub_ / "bin" / "claude");
    fs::copy_file(test_paths::fake_agent, pub_ / "bin" / "codex");
    const char* path = std::getenv("PATH");
    auto& env = home_.env();
    env["PATH"] = (pub_ / "bin").string() + ":" + (path ? path : "/usr/bin:/bin");
    env["FAKE_SMOLVM_STATE"] = (home_.path() / "fake-state").string();
    env["BOTTLE_PTY_RESIZE"] = test_paths::pty_resize;
    env["FAKE_AGENT_LOG"] = agent_log().string();
    // The continue form fails, so the fallback (plain agent) must run after it.
    env["FAKE_AGENT_MODE"] = "exit:1";
    env["TERM"] = "screen";
    env.erase("TMUX");
  }
  ~DashboardTmux() {
    tmux({"kill-server"});
    std::error_code ec;
    fs::remove_all(pub_, ec);
  }
  DashboardTmux(const DashboardTmux&) = delete;
  DashboardTmux& operator=(const DashboardTmux&) = delete;

  IntegrationHome& home() { return home_; }
  fs::path agent_log() const { return pub_ / "log" / "agent.log"; }
  const fs::path& workspace() const { return workspace_; }

  bottle::ProcessResult tmux(std::vector<std::string> args) {
    const bool starts_server = !args.empty() && args.front() == "new-session";
    args.insert(args.begin(), {"tmux", "-L", socket_, "-f", "/dev/null"});
    // The command that starts the server must not hand it our output pipes: the
    // daemon would hold them open and the run would never see end-of-file.
    if (starts_server) args.insert(args.begin(), {"sh", "-c", "exec \"$@\" </dev/null >/dev/null 2>&1", "sh"});
    return home_.run(std::move(args));
  }
  std::string capture(const std::string& pane) { return tmux({"capture-pane", "-p", "-t", pane}).out; }
  std::string format(const std::string& pane, const std::string& fmt) {
    std::string out = tmux({"display-message", "-p", "-t", pane, fmt}).out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  // The argvs fake_agent recorded, in order.
  std::vector<std::vector<std::string>> agent_runs() {
    std::vector<std::vector<std::string>> runs;
    std::ifstream in(agent_log());
    for (std::string line; std::getline(in, line);) {
      const auto v = boost::json::parse(line);
      const auto* argv = v.as_object().if_contains("argv");
      if (!argv) continue;
      std::vector<std::string> words;
      for (const auto& w : argv->as_array()) words.emplace_back(w.as_string().c_str());
      runs.push_back(std::move(words));
    }
    return runs;
  }
  std::string agent_cwd_of_first_run() {
    std::ifstream in(agent_log());
    std::string line;
    std::getline(in, line);
    return boost::json::value_to<std::string>(boost::json::parse(line).at("cwd"));
  }

 private:
  IntegrationHome home_;
  std::string socket_;
  fs::path pub_;
  fs::path workspace_;
};

using Runs = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("dashboard in tmux: lists, launches and resumes in panes, quits cleanly", "[dashboard][integration]") {
  DashboardTmux t;
  const std::string name = unique_bottle_name("dash");
  auto r = t.home().cli({"create", "--backend", "smolmachines", "--name", name, "--user", "nobody", "--workspace",
                         t.workspace().string() + ":" + t.workspace().string()});
  INFO(r.err);
  REQUIRE(r.ok());

  SECTION("--once --json prints exactly what bottle-cli ls --json prints") {
    const auto once = t.home().run({test_paths::bottle_dashboard, "--once", "--json"});
    REQUIRE(once.ok());
    CHECK(once.out == t.home().cli({"ls", "--json"}).out);
    CHECK_THAT(t.home().run({test_paths::bottle_dashboard, "--once"}).out, Catch::Contains(name));
  }

  SECTION("interactive") {
    REQUIRE(t.tmux({"new-session", "-d", "-s", "dash", "-x", "200", "-y", "40", "-c", "/", "sh"}).ok());
    const std::string pane = t.format("dash", "#{pane_id}");
    // Keys typed before the shell is ready wait in the pane's tty.
    t.tmux({"send-keys", "-t", pane, "-l", test_paths::bottle_dashboard});
    t.tmux({"send-keys", "-t", pane, "Enter"});
    INFO(t.capture(pane));
    REQUIRE(wait_until([&] {
      return t.capture(pane).find(name) != std::string::npos && t.capture(pane).find("running") != std::string::npos;
    }));
    CHECK(t.format(pane, "#{alternate_on}") == "1");

    // Enter: a new pane runs the backend-exec argv; the agent runs in the workspace.
    t.tmux({"send-keys", "-t", pane, "Enter"});
    REQUIRE(wait_until([&] { return t.agent_runs().size() >= 1; }));
    CHECK(t.agent_runs() == Runs{{"claude"}});
    CHECK(t.agent_cwd_of_first_run() == t.workspace().string());
    REQUIRE(wait_until([&] { return t.capture(pane).find("opened in a tmux pane") != std::string::npos; }));

    // r: `claude --continue || claude`; the continue form fails, so both run.
    t.tmux({"send-keys", "-t", pane, "r"});
    const bool resumed = wait_until([&] { return t.agent_runs().size() >= 3; });
    INFO("the dashboard now shows:\n" << t.capture(pane));
    REQUIRE(resumed);
    CHECK(t.agent_runs() == Runs{{"claude"}, {"claude", "--continue"}, {"claude"}});

    // A key while the worker refreshes is handled at once: filter narrows to nothing.
    t.tmux({"send-keys", "-t", pane, "/", "z", "z", "z"});
    REQUIRE(wait_until([&] { return t.capture(pane).find("no bottle matches the filter") != std::string::npos; }));
    t.tmux({"send-keys", "-t", pane, "Escape"});
    REQUIRE(wait_until([&] { return t.capture(pane).find("1/1 bottles") != std::string::npos; }));

    // l: the bottle's egress log, live; a blocked record arriving later shows at a refresh.
    // q there goes back to the list, it does not quit.
    const fs::path audit = t.home().path() / "state" / "bottles" / name / "egress" / "conf" / "audit.jsonl";
    fs::create_directories(audit.parent_path());
    const auto audit_line = [&](const std::string& action, const std::string& host, int status) {
      return R"({"action":")" + action + R"(","bottle":")" + name +
             R"(","bytes_down":0,"bytes_up":0,"duration_ms":4,"host":")" + host +
             R"(","method":"GET","path":"/v1","port":443,"reason":"","route":"","status":)" + std::to_string(status) +
             R"(,"time":"2026-12-03T02:00:00.000Z"})" + "\n";
    };
    std::ofstream(audit, std::ios::app) << audit_line("tunneled", "first.example", 200);
    t.tmux({"send-keys", "-t", pane, "l"});
    REQUIRE(wait_until([&] {
      const std::string screen = t.capture(pane);
      return screen.find("egress log: " + name) != std::string::npos &&
             screen.find("tunneled  200  GET first.example:443/v1") != std::string::npos;
    }));
    std::ofstream(audit, std::ios::app) << audit_line("blocked", "second.example", 403);
    REQUIRE(wait_until(
        [&] { return t.capture(pane).find("blocked   403  GET second.example:443/v1") != std::string::npos; }));
    t.tmux({"send-keys", "-t", pane, "q"});
    REQUIRE(wait_until([&] { return t.capture(pane).find("1/1 bottles") != std::string::npos; }));
    CHECK(t.format(pane, "#{alternate_on}") == "1");

    // q: back to the shell, out of the alternate screen, line discipline restored.
    t.tmux({"send-keys", "-t", pane, "q"});
    REQUIRE(wait_until(
        [&] { return t.format(pane, "#{alternate_on}") == "0" && t.format(pane, "#{pane_current_command}") == "sh"; }));
    t.tmux({"send-keys", "-t", pane, "-l", "echo restored-$((40+2))"});
    t.tmux({"send-keys", "-t", pane, "Enter"});
    CHECK(wait_until([&] { return t.capture(pane).find("restored-42") != std::string::npos; }));
  }

  SECTION("outside tmux: foreground handoff, then the table is back") {
    REQUIRE(t.tmux({"new-session", "-d", "-s", "fg", "-x", "160", "-y", "30", "-c", "/", "env", "-u", "TMUX",
                    test_paths::bottle_dashboard})
                .ok());
    const std::string pane = t.format("fg", "#{pane_id}");
    REQUIRE(wait_until([&] { return t.capture(pane).find(name) != std::string::npos; }));
    t.tmux({"send-keys", "-t", pane, "Enter"});
    REQUIRE(wait_until([&] { return t.capture(pane).find("agent exited with status 1") != std::string::npos; }));
    CHECK(t.agent_runs() == Runs{{"claude"}});
    CHECK(t.format(pane, "#{alternate_on}") == "1");
    CHECK_THAT(t.capture(pane), Catch::Contains(name) && Catch::Contains("1/1 bottles"));
    t.tmux({"send-keys", "-t", pane, "q"});
  }

  SECTION("SIGTERM leaves the terminal restored") {
    // Two words make tmux exec the dashboard itself rather than `$SHELL -c`: the
    // signal must reach the dashboard, not a shell (dash does not exec its command).
    REQUIRE(t.tmux({"new-session", "-d", "-s", "term", "-x", "120", "-y", "30", "-c", "/", "env",
                    test_paths::bottle_dashboard})
                .ok());
    t.tmux({"set-option", "-w", "-t", "term", "remain-on-exit", "on"});
    const std::string pane = t.format("term", "#{pane_id}");
    REQUIRE(wait_until([&] { return t.capture(pane).find(name) != std::string::npos; }));
    const pid_t pid = std::stoi(t.format(pane, "#{pane_pid}"));
    REQUIRE(::kill(pid, SIGTERM) == 0);
    REQUIRE(wait_until([&] { return t.format(pane, "#{pane_dead}") == "1"; }));
    // tmux 3.3a can lose the pane's SIGCHLD: closing a dead pane runs
    // utempter_remove_record, which sets SIGCHLD to SIG_DFL while its helper runs,
    // and a signal arriving then is dropped with the process left unreaped. tmux
    // reaps every exited child on its next SIGCHLD, so a child of its own
    // (run-shell) makes it collect the dashboard's real exit status.
    REQUIRE(wait_until([&] {
      if (!t.format(pane, "#{pane_dead_status}").empty()) return true;
      t.tmux({"run-shell", "true"});
      return false;
    }));
    CHECK(t.format(pane, "#{pane_dead_status}") == std::to_string(128 + SIGTERM));
    CHECK(t.format(pane, "#{alternate_on}") == "0");
  }
  const auto removed = t.home().cli({"rm", "--force", name});
  INFO(removed.err);
  CHECK(removed.ok());
}

namespace {

std::string git_out(IntegrationHome& home, const fs::path& repo, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", repo.string()});
  const auto r = home.run(std::move(args));
  INFO(r.err);
  REQUIRE(r.ok());
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

TEST_CASE("dashboard in tmux: a clone-mode bottle shows its branch and ahead count and f fetches it",
          "[dashboard][docker][integration][clone]") {
  DashboardTmux t;
  auto& home = t.home();
  const fs::path repo = home.path() / "repo";
  fs::create_directories(repo);
  git_out(home, repo, {"init", "-q", "-b", "main"});
  git_out(home, repo, {"config", "user.name", "host"});
  git_out(home, repo, {"config", "user.email", "host@example.invalid"});
  std::ofstream(repo / "README") << "hello\n";
  git_out(home, repo, {"add", "README"});
  git_out(home, repo, {"commit", "-q", "-m", "first"});
  const std::string head_before = git_out(home, repo, {"rev-parse", "HEAD"});

  const std::string name = unique_bottle_name("dclone");
  const std::string branch = "bottle/" + name;
  struct Cleanup {
    IntegrationHome& home;
    std::string name;
    ~Cleanup() {
      home.cli({"rm", "--force", name});
      home.run({"docker", "rm", "-f", "bottle-" + name});
      home.run({"docker", "volume", "rm", "bottle-" + name + "-repo"});
    }
  } cleanup{home, name};
  auto r =
      home.cli({"create", "--name", name, "--image", "bottle-test-git:latest", "--no-egress", "--repo", repo.string()});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  // The scripted agent: two commits on its branch, and a file it has not committed.
  r = home.cli({"exec", name, "--", "sh", "-c",
                "set -e; echo one > one.txt; git add one.txt; git commit -qm one; echo two > two.txt; "
                "git add two.txt; git commit -qm two; echo wip > wip.txt; git rev-parse HEAD"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  std::string agent_head = r.out;
  while (!agent_head.empty() && agent_head.back() == '\n') agent_head.pop_back();

  REQUIRE(t.tmux({"new-session", "-d", "-s", "clone", "-x", "220", "-y", "30", "-c", "/", "env",
                  test_paths::bottle_dashboard})
              .ok());
  const std::string pane = t.format("clone", "#{pane_id}");
  const bool shown =
      wait_until([&] { return t.capture(pane).find(branch + " +2 *dirty ^unfetched") != std::string::npos; },
                 std::chrono::seconds(60));
  INFO("the dashboard shows:\n" << t.capture(pane));
  REQUIRE(shown);
  CHECK(t.capture(pane).find("CLONE") != std::string::npos);

  // Other engineers' containers may be listed too: the filter selects ours.
  t.tmux({"send-keys", "-t", pane, "-l", "/" + name});
  t.tmux({"send-keys", "-t", pane, "Enter"});
  REQUIRE(wait_until([&] { return t.capture(pane).find("1/") != std::string::npos; }));
  t.tmux({"send-keys", "-t", pane, "f"});
  const std::string fetched_line = "fetched " + branch + " -> refs/bottles/" + name + "/" + branch +
                                   " (2 commits ahead of the base); " +
                                   "1 uncommitted path left in the bottle, not fetched";
  const bool fetched =
      wait_until([&] { return t.capture(pane).find(fetched_line) != std::string::npos; }, std::chrono::seconds(60));
  INFO("the dashboard shows:\n" << t.capture(pane));
  REQUIRE(fetched);
  // The commits are on the host under refs/bottles/NAME/*, the user's branch did not move,
  // and the row no longer says ^unfetched (the clone was read again after the fetch).
  CHECK(git_out(home, repo, {"rev-parse", "refs/bottles/" + name + "/" + branch}) == agent_head);
  CHECK(git_out(home, repo, {"show", "refs/bottles/" + name + "/" + branch + ":two.txt"}) == "two");
  CHECK(git_out(home, repo, {"rev-parse", "HEAD"}) == head_before);
  CHECK(git_out(home, repo, {"symbolic-ref", "HEAD"}) == "refs/heads/main");
  const bool refreshed = wait_until(
      [&] {
        const std::string screen = t.capture(pane);
        return screen.find(branch + " +2 *dirty ") != std::string::npos &&
               screen.find("^unfetched") == std::string::npos;
      },
      std::chrono::seconds(30));
  INFO("the dashboard shows:\n" << t.capture(pane));
  CHECK(refreshed);

  // Stopped: the branch from the spec, nothing else.
  REQUIRE(home.cli({"stop", name}).ok());
  CHECK(wait_until([&] { return t.capture(pane).find(branch + " -") != std::string::npos; }, std::chrono::seconds(30)));
  t.tmux({"send-keys", "-t", pane, "q"});
}
