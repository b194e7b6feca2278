#include <catch2/catch.hpp>

#include "bottle/subprocess.hpp"

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
