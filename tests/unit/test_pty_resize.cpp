// Unit tests for pty_resize_core: the pure logic of the pty-resize helper.

#include <catch2/catch.hpp>

#include <array>
#include <string_view>
#include <variant>
#include <vector>

#include "pty_resize_core.hpp"

using namespace pty_resize;

namespace {

CliParseResult parse(std::vector<std::string_view> args) { return parse_cli(args); }

std::string error_of(const CliParseResult& result) {
  REQUIRE(std::holds_alternative<UsageError>(result));
  return std::get<UsageError>(result).message;
}

CliRequest request_of(const CliParseResult& result) {
  REQUIRE(std::holds_alternative<CliRequest>(result));
  return std::get<CliRequest>(result);
}

}  // namespace

TEST_CASE("pty-resize parses MACHINE and the smolvm argv after --", "[pty-resize][cli]") {
  const CliRequest request =
      request_of(parse({"m1", "--", "smolvm", "machine", "exec", "--name", "m1", "-t", "--", "claude", "--"}));
  CliRequest expected;
  expected.machine = "m1";
  expected.child_argv = {"smolvm", "machine", "exec", "--name", "m1", "-t", "--", "claude", "--"};
  CHECK(request == expected);
  CHECK(side_channel_program(request) == "smolvm");
}

TEST_CASE("pty-resize --smolvm overrides the side-channel program", "[pty-resize][cli]") {
  SECTION("separate value, before MACHINE") {
    const CliRequest request = request_of(parse({"--smolvm", "/opt/smolvm", "m", "--", "smolvm", "x"}));
    CHECK(request.smolvm == "/opt/smolvm");
    CHECK(side_channel_program(request) == "/opt/smolvm");
    CHECK(request.child_argv == std::vector<std::string>{"smolvm", "x"});
  }
  SECTION("joined value, after MACHINE") {
    const CliRequest request = request_of(parse({"m", "--smolvm=/opt/s", "--", "smolvm"}));
    CHECK(request.machine == "m");
    CHECK(side_channel_program(request) == "/opt/s");
  }
  SECTION("missing or empty value") {
    CHECK(error_of(parse({"m", "--smolvm"})) == "--smolvm needs a PATH");
    CHECK(error_of(parse({"m", "--smolvm", "--", "smolvm"})) == "--smolvm needs a PATH");
    CHECK(error_of(parse({"m", "--smolvm=", "--", "smolvm"})) == "--smolvm needs a non-empty PATH");
  }
}

TEST_CASE("pty-resize --help and --version win before --", "[pty-resize][cli]") {
  CHECK(request_of(parse({"--help"})).action == CliAction::show_help);
  CHECK(request_of(parse({"-h"})).action == CliAction::show_help);
  CHECK(request_of(parse({"--bogus", "--help"})).action == CliAction::show_help);
  CHECK(request_of(parse({"--version"})).action == CliAction::show_version);
  // After --, --help belongs to the child.
  const CliRequest run = request_of(parse({"m", "--", "smolvm", "--help"}));
  CHECK(run.action == CliAction::run);
  CHECK(run.child_argv == std::vector<std::string>{"smolvm", "--help"});
  CHECK(usage_text().starts_with("Usage: pty-resize [OPTIONS] MACHINE -- SMOLVM-ARGV..."));
}

TEST_CASE("pty-resize rejects malformed command lines with a clear message", "[pty-resize][cli]") {
  CHECK(error_of(parse({})) == "missing MACHINE");
  CHECK(error_of(parse({"--", "smolvm", "machine"})) == "missing MACHINE");
  CHECK(error_of(parse({"m"})) == "missing `--` before SMOLVM-ARGV");
  CHECK(error_of(parse({"m", "smolvm", "machine"})).starts_with("unexpected argument 'smolvm'"));
  CHECK(error_of(parse({"m", "--"})) == "no SMOLVM-ARGV after `--`");
  CHECK(error_of(parse({"m", "--", ""})) == "SMOLVM-ARGV[0] must not be empty");
  CHECK(error_of(parse({"", "--", "smolvm"})) == "MACHINE must not be empty");
  CHECK(error_of(parse({"-x", "m", "--", "smolvm"})) == "unknown option '-x'");
}

TEST_CASE("pty-resize side-channel argv is exact", "[pty-resize][side-channel]") {
  const std::vector<std::string> expected{"/usr/bin/smolvm",
                                          "machine",
                                          "exec",
                                          "--name",
                                          "my-vm",
                                          "--",
                                          "sh",
                                          "-c",
                                          "for f in /dev/pts/*; do stty -F $f cols 120 rows 40; done"};
  CHECK(side_channel_argv("/usr/bin/smolvm", "my-vm", WindowSize{120, 40}) == expected);
  CHECK(stty_loop_script(WindowSize{80, 24}) == "for f in /dev/pts/*; do stty -F $f cols 80 rows 24; done");
}

TEST_CASE("pty-resize takes the size from the first terminal with a non-zero size", "[pty-resize][size]") {
  const FdProbe not_a_tty = std::nullopt;
  const FdProbe unsized_tty = WindowSize{0, 0};

  SECTION("stdin not a tty, stdout tty 0x0, stderr tty 120x40 -> 120x40") {
    const std::array<FdProbe, 3> probes{not_a_tty, unsized_tty, WindowSize{120, 40}};
    CHECK(select_window_size(probes) == WindowSize{120, 40});
  }
  SECTION("stdin wins over stdout and stderr") {
    const std::array<FdProbe, 3> probes{WindowSize{100, 30}, WindowSize{90, 20}, WindowSize{80, 24}};
    CHECK(select_window_size(probes) == WindowSize{100, 30});
  }
  SECTION("stdout used when stdin is not a terminal") {
    const std::array<FdProbe, 3> probes{not_a_tty, WindowSize{90, 20}, not_a_tty};
    CHECK(select_window_size(probes) == WindowSize{90, 20});
  }
  SECTION("half-zero sizes are not usable") {
    const std::array<FdProbe, 3> probes{WindowSize{80, 0}, WindowSize{0, 24}, not_a_tty};
    CHECK_FALSE(select_window_size(probes).has_value());
  }
  SECTION("all 0x0 -> none") {
    const std::array<FdProbe, 3> probes{unsized_tty, unsized_tty, unsized_tty};
    CHECK_FALSE(select_window_size(probes).has_value());
  }
  SECTION("no terminal at all -> none") {
    const std::array<FdProbe, 3> probes{not_a_tty, not_a_tty, not_a_tty};
    CHECK_FALSE(select_window_size(probes).has_value());
  }
}

TEST_CASE("pty-resize coalesces a resize storm into one follow-up push", "[pty-resize][coalesce]") {
  ResizeCoalescer coalescer;
  REQUIRE(coalescer.on_size_observed({80, 24}) == WindowSize{80, 24});
  CHECK(coalescer.in_flight() == WindowSize{80, 24});

  // A burst of N events while the start-up push is in flight starts nothing.
  constexpr unsigned k_burst = 100;
  for (unsigned i = 1; i <= k_burst; ++i) { CHECK_FALSE(coalescer.on_size_observed({80 + i, 24 + i}).has_value()); }
  // Exactly one follow-up, with the final size.
  CHECK(coalescer.on_push_finished(true) == WindowSize{80 + k_burst, 24 + k_burst});
  CHECK(coalescer.last_pushed() == WindowSize{80, 24});
  CHECK_FALSE(coalescer.on_push_finished(true).has_value());
  CHECK(coalescer.last_pushed() == WindowSize{80 + k_burst, 24 + k_burst});
  CHECK_FALSE(coalescer.in_flight().has_value());
}

TEST_CASE("pty-resize does not re-push the size the guest already has", "[pty-resize][coalesce]") {
  ResizeCoalescer coalescer;
  REQUIRE(coalescer.on_size_observed({100, 30}).has_value());
  REQUIRE_FALSE(coalescer.on_push_finished(true).has_value());

  SECTION("same size again") { CHECK_FALSE(coalescer.on_size_observed({100, 30}).has_value()); }
  SECTION("a storm that ends where the in-flight push goes") {
    REQUIRE(coalescer.on_size_observed({90, 20}) == WindowSize{90, 20});
    CHECK_FALSE(coalescer.on_size_observed({70, 10}).has_value());
    CHECK_FALSE(coalescer.on_size_observed({90, 20}).has_value());
    CHECK_FALSE(coalescer.on_push_finished(true).has_value());
    CHECK(coalescer.last_pushed() == WindowSize{90, 20});
  }
}

TEST_CASE("pty-resize retries a failed size only on the next event", "[pty-resize][coalesce]") {
  ResizeCoalescer coalescer;
  REQUIRE(coalescer.on_size_observed({100, 30}).has_value());
  CHECK_FALSE(coalescer.on_push_finished(false).has_value());  // no retry loop
  CHECK_FALSE(coalescer.last_pushed().has_value());
  CHECK(coalescer.on_size_observed({100, 30}) == WindowSize{100, 30});

  SECTION("a pending size after a failure is still pushed") {
    CHECK_FALSE(coalescer.on_size_observed({120, 40}).has_value());
    CHECK(coalescer.on_push_finished(false) == WindowSize{120, 40});
  }
  SECTION("finishing with nothing in flight is a no-op") {
    REQUIRE_FALSE(coalescer.on_push_finished(true).has_value());
    CHECK_FALSE(coalescer.on_push_finished(true).has_value());
    CHECK(coalescer.last_pushed() == WindowSize{100, 30});
  }
}

TEST_CASE("pty-resize exits with the child's status, 128+N for a signal", "[pty-resize][exit]") {
  // Wait statuses in the Linux encoding: exit code in bits 8-15, signal in bits 0-6.
  CHECK(exit_code_from_wait_status(0) == 0);
  CHECK(exit_code_from_wait_status(3 << 8) == 3);
  CHECK(exit_code_from_wait_status(255 << 8) == 255);
  CHECK(exit_code_from_wait_status(15) == 128 + 15);
  CHECK(exit_code_from_wait_status(9) == 128 + 9);
}

TEST_CASE("pty-resize settle pushes resend the unchanged size", "[pty-resize][coalesce]") {
  ResizeCoalescer coalescer;
  REQUIRE(coalescer.on_size_observed({100, 30}).has_value());
  REQUIRE_FALSE(coalescer.on_push_finished(true).has_value());

  SECTION("nothing in flight: the same size is pushed again") {
    CHECK(coalescer.on_repush_requested({100, 30}) == WindowSize{100, 30});
  }
  SECTION("a push in flight: the forced size follows it even if equal") {
    REQUIRE(coalescer.on_size_observed({90, 20}) == WindowSize{90, 20});
    CHECK_FALSE(coalescer.on_repush_requested({90, 20}).has_value());
    CHECK(coalescer.on_push_finished(true) == WindowSize{90, 20});
    CHECK_FALSE(coalescer.on_push_finished(true).has_value());
  }
  SECTION("an ordinary pending size equal to the pushed one is still dropped") {
    REQUIRE(coalescer.on_size_observed({90, 20}) == WindowSize{90, 20});
    CHECK_FALSE(coalescer.on_size_observed({90, 20}).has_value());
    CHECK_FALSE(coalescer.on_push_finished(true).has_value());
  }
}

TEST_CASE("pty-resize settle offsets are increasing and brief", "[pty-resize][coalesce]") {
  int previous = 0;
  for (int offset : k_settle_push_offsets_ms) {
    CHECK(offset > previous);
    previous = offset;
  }
  CHECK(previous <= 5000);
}
