#include <catch2/catch.hpp>

#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bottle/core/subprocess.hpp"

using namespace bottle;

TEST_CASE("SystemRunner captures stdout and stderr and the exit status", "[subprocess]") {
  SystemRunner runner;
  const ProcessResult r = runner.run({.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}});
  CHECK(r.outcome == ProcessResult::Outcome::exited);
  CHECK(r.code == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK(r.shell_status() == 3);
}

TEST_CASE("SystemRunner overlays the environment and keeps the rest", "[subprocess]") {
  SystemRunner runner;
  ::setenv("BOTTLE_TEST_KEPT", "kept", 1);
  const ProcessResult r = runner.run({.argv = {"sh", "-c", "echo \"$PATH|$NEW|$BOTTLE_TEST_KEPT\""},
                                      .env = {{"PATH", "/usr/bin:/bin"}, {"NEW", "a b"}}});
  CHECK(r.out == "/usr/bin:/bin|a b|kept\n");
}

TEST_CASE("SystemRunner feeds stdin and survives a child that does not read it", "[subprocess]") {
  SystemRunner runner;
  CHECK(runner.run({.argv = {"cat"}, .stdin_data = std::string("line1\nline2\n")}).out == "line1\nline2\n");
  const std::string big(4 << 20, 'x');
  const ProcessResult r = runner.run({.argv = {"true"}, .stdin_data = big});
  CHECK(r.ok());
  // Without stdin_data the child reads /dev/null, never the caller's terminal.
  CHECK(runner.run({.argv = {"cat"}}).out.empty());
}

TEST_CASE("SystemRunner tells 'could not start' from 'exited 127' and from a signal", "[subprocess]") {
  SystemRunner runner;
  const ProcessResult missing = runner.run({.argv = {"bottle-no-such-program"}});
  CHECK(missing.outcome == ProcessResult::Outcome::failed_to_start);
  CHECK(missing.start_error == "bottle-no-such-program: not found on PATH");
  CHECK(missing.shell_status() == 125);

  const ProcessResult not_exec = runner.run({.argv = {"/etc/hostname"}});
  CHECK(not_exec.outcome == ProcessResult::Outcome::failed_to_start);

  const ProcessResult shell_127 = runner.run({.argv = {"sh", "-c", "exit 127"}});
  CHECK(shell_127.outcome == ProcessResult::Outcome::exited);
  CHECK(shell_127.code == 127);

  const ProcessResult killed = runner.run({.argv = {"sh", "-c", "kill -TERM $$"}});
  CHECK(killed.outcome == ProcessResult::Outcome::signaled);
  CHECK(killed.code == 15);
  CHECK(killed.shell_status() == 143);
}

TEST_CASE("SystemRunner runs in the requested directory", "[subprocess]") {
  SystemRunner runner;
  CHECK(runner.run({.argv = {"pwd"}, .cwd = "/"}).out == "/\n");
}

TEST_CASE("RecordingRunner records and answers from its script", "[subprocess]") {
  RecordingRunner runner;
  runner.push_result(exited(4, "x"));
  runner.fallback = exited(0, "fallback");
  CHECK(runner.run({.argv = {"a"}}).code == 4);
  CHECK(runner.run({.argv = {"b", "c"}}).out == "fallback");
  CHECK(runner.argvs() == std::vector<std::vector<std::string>>{{"a"}, {"b", "c"}});
}

namespace {

// True once no process is left in process group `group` (polled: the kernel
// reaps re-parented descendants asynchronously).
bool group_gone(int group) {
  for (int i = 0; i < 500; ++i) {
    if (::kill(-group, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("SystemRunner kills a command at its timeout and keeps what it printed", "[subprocess][timeout]") {
  SystemRunner runner;
  // The shell forks sleep (it has work after it), so the group has two members.
  auto child = runner.start({.argv = {"sh", "-c", "echo before; echo oops >&2; sleep 30; echo after"}});
  const int group = child->pid();
  REQUIRE(group > 0);
  CHECK(::getpgid(group) == group);  // its own process group, not ours
  CHECK(::getpgid(group) != ::getpgrp());
  CHECK_FALSE(child->wait_for(std::chrono::milliseconds(200)).has_value());
  child->kill_group();
  const ProcessResult killed = child->wait();
  CHECK(killed.outcome == ProcessResult::Outcome::signaled);
  CHECK(killed.code == SIGTERM);
  CHECK(killed.out == "before\n");
  CHECK(group_gone(group));

  const ProcessResult r = runner.run(
      {.argv = {"sh", "-c", "echo before; sleep 30; echo after"}, .timeout = std::chrono::milliseconds(200)});
  CHECK(r.outcome == ProcessResult::Outcome::timed_out);
  CHECK(r.timed_out());
  CHECK(r.started());
  CHECK_FALSE(r.ok());
  CHECK(r.out == "before\n");
  CHECK(r.shell_status() == 124);
}

TEST_CASE("A timed-out group that ignores SIGTERM is killed and leaves nothing behind", "[subprocess][timeout]") {
  SystemRunner runner;
  const std::filesystem::path pid_file =
      std::filesystem::temp_directory_path() / ("bottle-subprocess-" + std::to_string(::getpid()));
  const ProcessResult r = runner.run(
      {.argv = {"sh", "-c", "trap '' TERM; sleep 30 & echo $! > \"$1\"; echo started; wait", "sh", pid_file.string()},
       .timeout = std::chrono::milliseconds(300)});
  CHECK(r.outcome == ProcessResult::Outcome::timed_out);
  CHECK(r.out == "started\n");
  std::ifstream in(pid_file);
  int sleeper = 0;
  in >> sleeper;
  std::filesystem::remove(pid_file);
  REQUIRE(sleeper > 0);
  // Both ignore SIGTERM (an ignored signal survives exec): only SIGKILL ends them.
  for (int i = 0; i < 500 && ::kill(sleeper, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(::kill(sleeper, 0) != 0);
}

TEST_CASE("A command that finishes in time is not affected by its timeout", "[subprocess][timeout]") {
  SystemRunner runner;
  const ProcessResult r = runner.run({.argv = {"sh", "-c", "echo hi; exit 7"}, .timeout = std::chrono::seconds(30)});
  CHECK(r.outcome == ProcessResult::Outcome::exited);
  CHECK(r.code == 7);
  CHECK(r.out == "hi\n");
  // Interactive runs own the terminal: they cannot have a deadline.
  const ProcessResult interactive =
      runner.run({.argv = {"true"}, .interactive = true, .timeout = std::chrono::seconds(1)});
  CHECK(interactive.outcome == ProcessResult::Outcome::failed_to_start);
}

TEST_CASE("SystemRunner::start returns at once and wait_for collects the result", "[subprocess]") {
  SystemRunner runner;
  auto child =
      runner.start({.argv = {"sh", "-c", "read line; echo \"got $line\"; exit 2"}, .stdin_data = std::string("x\n")});
  std::optional<ProcessResult> r;
  for (int i = 0; i < 100 && !r; ++i) r = child->wait_for(std::chrono::milliseconds(100));
  REQUIRE(r.has_value());
  CHECK(r->code == 2);
  CHECK(r->out == "got x\n");
  CHECK(child->wait().code == 2);  // waiting again gives the same answer
  child->kill_group();             // and killing a finished child does nothing
  CHECK(child->wait().code == 2);

  auto missing = runner.start({.argv = {"bottle-no-such-program"}});
  CHECK(missing->pid() == 0);
  CHECK(missing->wait().outcome == ProcessResult::Outcome::failed_to_start);
}

TEST_CASE("Dropping a running child's handle kills its group", "[subprocess]") {
  SystemRunner runner;
  int group = 0;
  {
    auto child = runner.start({.argv = {"sh", "-c", "sleep 30; echo never"}});
    group = child->pid();
    REQUIRE(group > 0);
  }
  CHECK(group_gone(group));
}

TEST_CASE("SystemRunner::cancel kills what runs and refuses what comes", "[subprocess]") {
  SystemRunner runner;
  const std::filesystem::path marker =
      std::filesystem::temp_directory_path() / ("bottle-cancel-" + std::to_string(::getpid()));
  std::filesystem::remove(marker);
  std::optional<ProcessResult> r;
  std::thread waiter([&] {
    r = runner.run({.argv = {"sh", "-c", "touch \"$1\"; exec sleep 30", "sh", marker.string()}});
  });
  // Cancel once the child is up (a cancel before it starts is refused instead).
  for (int i = 0; i < 500 && !std::filesystem::exists(marker); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  runner.cancel();
  waiter.join();
  REQUIRE(r.has_value());
  CHECK(r->outcome == ProcessResult::Outcome::signaled);
  CHECK(r->code == SIGKILL);
  const ProcessResult later = runner.run({.argv = {"true"}});
  CHECK(later.outcome == ProcessResult::Outcome::failed_to_start);
  CHECK(later.start_error.find("cancelled") != std::string::npos);
  std::filesystem::remove(marker);
}

TEST_CASE("EnvPolicy::clean passes only the given variables and a minimal PATH", "[subprocess]") {
  SystemRunner runner;
  ::setenv("BOTTLE_TEST_LEAK", "secret-ish", 1);
  const ProcessResult clean =
      runner.run({.argv = {"/bin/sh", "-c", "env | sort"}, .env = {{"ONLY", "1"}}, .env_policy = EnvPolicy::clean});
  CHECK(clean.out.find("BOTTLE_TEST_LEAK") == std::string::npos);
  CHECK(clean.out.find("ONLY=1\n") != std::string::npos);
  CHECK(clean.out.find(std::string("PATH=") + clean_path + "\n") != std::string::npos);
  const ProcessResult own_path = runner.run(
      {.argv = {"/bin/sh", "-c", "echo \"$PATH\""}, .env = {{"PATH", "/bin"}}, .env_policy = EnvPolicy::clean});
  CHECK(own_path.out == "/bin\n");
  // The default still inherits.
  CHECK(runner.run({.argv = {"/bin/sh", "-c", "echo $BOTTLE_TEST_LEAK"}}).out == "secret-ish\n");
  ::unsetenv("BOTTLE_TEST_LEAK");
}

TEST_CASE("RecordingRunner patterns match by prefix with * for one word", "[subprocess]") {
  CHECK(RecordingRunner::matches({"docker", "inspect", "*"}, {"docker", "inspect", "x"}));
  CHECK(RecordingRunner::matches({"docker", "inspect", "*"}, {"docker", "inspect", "x", "--format", "y"}));
  CHECK_FALSE(RecordingRunner::matches({"docker", "inspect", "*"}, {"docker", "inspect"}));
  CHECK_FALSE(RecordingRunner::matches({"docker", "inspect", "*"}, {"docker", "ps", "x"}));
  CHECK_FALSE(RecordingRunner::matches({"docker", "*", "x"}, {"docker", "rm", "y"}));
  CHECK(RecordingRunner::matches({}, {"anything"}));
}

TEST_CASE("RecordingRunner answers patterns first, then its script, then the fallback", "[subprocess]") {
  RecordingRunner runner;
  runner.on({"docker", "inspect", "*"}, exited(0, "inspected"));
  runner.on({"docker"}, exited(9));
  runner.push_result(exited(4, "scripted"));
  runner.fallback = exited(0, "fallback");
  CHECK(runner.run({.argv = {"smolvm", "ls"}}).out == "scripted");
  CHECK(runner.run({.argv = {"docker", "inspect", "a"}}).out == "inspected");
  CHECK(runner.run({.argv = {"docker", "inspect", "b"}}).out == "inspected");  // patterns repeat
  CHECK(runner.run({.argv = {"docker", "ps"}}).code == 9);                     // first match wins
  CHECK(runner.run({.argv = {"smolvm", "ls"}}).out == "fallback");
  auto child = runner.start({.argv = {"docker", "inspect", "c"}});
  CHECK(child->wait().out == "inspected");
  CHECK(runner.argvs().back() == std::vector<std::string>{"docker", "inspect", "c"});

  runner.on({"smolvm", "machine", "start"}, timed_out("partial"));
  const ProcessResult t = runner.run({.argv = {"smolvm", "machine", "start", "--name", "x"}});
  CHECK(t.timed_out());
  CHECK(t.out == "partial");
}

TEST_CASE("A non-interactive child dies with the thread that started it", "[subprocess]") {
  SystemRunner runner;
  std::unique_ptr<RunningProcess> child;
  // As when bottle-cli dies of ^C: the child is in its own group and gets no SIGINT.
  std::thread([&] { child = runner.start({.argv = {"sleep", "30"}}); }).join();
  REQUIRE(child->pid() > 0);
  const ProcessResult r = child->wait();
  CHECK(r.outcome == ProcessResult::Outcome::signaled);
  CHECK(r.code == SIGKILL);
}
