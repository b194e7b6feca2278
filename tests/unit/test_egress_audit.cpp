// The egress audit log as bottle reads it: records, --since, formatting, corrupt and
// truncated lines, following across rotation, the addon's settings, and `logs`.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/frontend/audit_logs.hpp"
#include "bottle/frontend/rows_format.hpp"
#include "cli_fixture.hpp"
#include "error_of.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

const std::string injected_line =
    R"({"action":"injected","bottle":"api","bytes_down":512,"bytes_up":7,"duration_ms":12,"host":"chatgpt.com",)"
    R"("method":"GET","path":"/models","port":443,"reason":"credential swapped","route":"codex","status":200,)"
    R"("time":"2026-12-03T01:59:00.123Z"})";
const std::string refused_line =
    R"({"action":"refused","bottle":"api","bytes_down":0,"bytes_up":0,"duration_ms":3,"host":"10.0.0.1",)"
    R"("method":"CONNECT","path":"","port":443,"reason":"not a public address","route":"","status":0,)"
    R"("time":"2026-12-03T02:00:00.000Z"})";

void append(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app | std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("audit: a record parses, round-trips to the addon's JSON and formats on one line", "[audit]") {
  const auto r = parse_audit_record(injected_line);
  REQUIRE(r);
  CHECK(r->action == "injected");
  CHECK(r->host == "chatgpt.com");
  CHECK(r->port == 443);
  CHECK(r->path == "/models");
  CHECK(r->status == 200);
  CHECK(r->bytes_up == 7);
  CHECK(r->bytes_down == 512);
  CHECK(r->duration_ms == 12);
  CHECK(r->route == "codex");
  CHECK(r->time_ms == 1796263140123);  // 2026-12-03T01:59:00.123Z
  CHECK(audit_record_json(*r) == injected_line);
  CHECK(format_audit_record(*r) ==
        "2026-12-03T01:59:00.123Z  injected  200  GET chatgpt.com:443/models  up 7 B  down 512 B  12 ms"
        "  route codex  (credential swapped)");
  const auto refused = parse_audit_record(refused_line);
  REQUIRE(refused);
  CHECK(
      format_audit_record(*refused) ==
      "2026-12-03T02:00:00.000Z  refused     -  CONNECT 10.0.0.1:443  up 0 B  down 0 B  3 ms  (not a public address)");
}

TEST_CASE("audit: hostile field contents cannot reach the terminal raw", "[audit]") {
  auto r = parse_audit_record(injected_line);
  REQUIRE(r);
  r->path = "/\x1b]0;owned\x07x";
  r->bytes_down = 20 * 1024 * 1024;
  const std::string line = format_audit_record(*r);
  CHECK(line.find('\x1b') == std::string::npos);
  CHECK(line.find('\x07') == std::string::npos);
  CHECK_THAT(line, Catch::Contains("/\\x1b]0;owned\\x07x"));
  CHECK_THAT(line, Catch::Contains("down 20 MiB"));
}

TEST_CASE("audit: what is not a record is rejected, never thrown", "[audit]") {
  for (const std::string& bad : std::vector<std::string>{
           std::string(""),
           std::string("not json"),
           std::string("[1,2]"),
           injected_line.substr(0, injected_line.size() / 2),  // torn at a crash
           std::string(R"({"action":"injected"})"),            // fields missing
           // wrong types, a negative count, a bad time
           std::string(injected_line).replace(injected_line.find("443"), 3, "\"443\""),
           std::string(injected_line).replace(injected_line.find("512"), 3, "-512"),
           std::string(injected_line).replace(injected_line.find("2026-12-03T01"), 13, "2026-13-03T01"),
           std::string(injected_line).replace(injected_line.find(".123Z"), 5, ".123+01:00"),
       }) {
    INFO(bad);
    CHECK_FALSE(parse_audit_record(bad));
  }
}

TEST_CASE("audit: corrupt and truncated lines are skipped with a warning naming the line", "[audit]") {
  const std::string text =
      injected_line + "\n" + "{garbage\n" + "\n" + refused_line + "\n" + refused_line.substr(0, 40);
  const AuditLines lines = parse_audit_lines(text, "audit.jsonl");
  REQUIRE(lines.records.size() == 2);
  CHECK(lines.records[0].action == "injected");
  CHECK(lines.records[1].action == "refused");
  REQUIRE(lines.warnings.size() == 2);
  CHECK(lines.warnings[0] == "audit.jsonl: line 2: not an audit record, skipped");
  CHECK(lines.warnings[1] == "audit.jsonl: line 5: truncated record, skipped");
  // The cut-off keeps records at or after it.
  const auto later = parse_audit_lines(text, "audit.jsonl", 1796263200000);  // 02:00:00.000
  REQUIRE(later.records.size() == 1);
  CHECK(later.records[0].action == "refused");
}

TEST_CASE("audit: --since durations", "[audit]") {
  using std::chrono::seconds;
  CHECK(parse_since("30s") == seconds(30));
  CHECK(parse_since("5m") == seconds(300));
  CHECK(parse_since("2h") == seconds(7200));
  CHECK(parse_since("1d") == seconds(86400));
  CHECK(parse_since("1h30m") == seconds(5400));
  for (const char* bad : {"", "5", "m", "5x", "-5m", "0s", "1h-", "5 m", "99999999999999999999s", "4000d"}) {
    INFO(bad);
    CHECK_THAT(error_of([&] { parse_since(bad); }), Catch::StartsWith("--since: '"));
  }
}

TEST_CASE("audit: the addon's settings and BOTTLE_EGRESS_AUDIT_MIB", "[audit]") {
  CHECK(render_egress_audit_config("api", 16777216) ==
        "{\"bottle\":\"api\",\"log\":\"audit.jsonl\",\"max_bytes\":16777216,\"version\":1}\n");
  CHECK(egress_audit_max_bytes(Host(Host::Environment{})) == 16u * 1024 * 1024);
  CHECK(egress_audit_max_bytes(Host(Host::Environment{{"BOTTLE_EGRESS_AUDIT_MIB", "2"}})) == 2u * 1024 * 1024);
  for (const char* bad : {"0", "1025", "x", "1.5", "-1", " 2"}) {
    INFO(bad);
    CHECK(error_of([&] {
            egress_audit_max_bytes(Host(Host::Environment{{"BOTTLE_EGRESS_AUDIT_MIB", bad}}));
          }) == "environment variable BOTTLE_EGRESS_AUDIT_MIB: must be an integer 1-1024");
  }
  TempDir tmp;
  const StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  write_egress_audit_config(dirs, "api", 4096 * 1024);
  const fs::path file = dirs.bottle_state_dir("api") / "egress" / "conf" / "audit.json";
  CHECK(read_file(file) == render_egress_audit_config("api", 4096 * 1024));
  CHECK((fs::status(file).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(egress_audit_log(dirs, "api") == file.parent_path() / "audit.jsonl");
}

TEST_CASE("audit: the tail holds back a half-written line and follows a rotation", "[audit]") {
  TempDir tmp;
  const fs::path log = tmp.path() / "audit.jsonl";
  AuditTail tail(log);
  CHECK(tail.poll().empty());  // no file yet
  append(log, "one\ntw");
  CHECK(tail.poll() == std::vector<std::string>{"one"});
  CHECK(tail.pending() == 2);
  append(log, "o\nthree\n");
  CHECK(tail.poll() == std::vector<std::string>{"two", "three"});
  // Written after the last poll, then rotated away before the next one: still read.
  append(log, "four\n");
  fs::rename(log, tmp.path() / "audit.jsonl.1");
  append(log, "five\n");
  CHECK(tail.poll() == std::vector<std::string>{"four", "five"});
  CHECK(tail.poll().empty());
  CHECK(tail.pending() == 0);
}

TEST_CASE("logs: arguments", "[audit][cli]") {
  std::string name;
  CHECK(parse_logs_args({"api"}, name) == LogsOptions{});
  CHECK(name == "api");
  const LogsOptions all = parse_logs_args({"--egress", "-f", "--json", "--since", "5m", "api"}, name);
  CHECK(all == LogsOptions{.follow = true, .json = true, .since = std::chrono::seconds(300)});
  CHECK(parse_logs_args({"--since=1h", "api"}, name).since == std::chrono::seconds(3600));
  CHECK(error_of([&] { parse_logs_args({}, name); }, ErrorKind::usage) == "logs: missing bottle NAME");
  CHECK(error_of(
            [&] {
              parse_logs_args({"api", "--since"}, name);
            },
            ErrorKind::usage) == "logs: --since needs a DURATION (e.g. 10m)");
  CHECK(error_of(
            [&] {
              parse_logs_args({"--tail", "api"}, name);
            },
            ErrorKind::usage) == "logs: unknown option '--tail'");
  CHECK(error_of(
            [&] {
              parse_logs_args({"a", "b"}, name);
            },
            ErrorKind::usage) == "logs: takes one bottle name, got 'b' too");
  CHECK_THAT(error_of([&] { parse_logs_args({"--since", "soon", "api"}, name); }), Catch::StartsWith("--since: "));
}

TEST_CASE("logs: prints the rotated file, then the current one, skipping corrupt lines", "[audit][cli]") {
  CliFixture f;
  CHECK(f.run({"logs", "api"}) == exit_code::not_found);
  CHECK_THAT(f.err.str(), Catch::Contains("no bottle named \"api\""));
  SpecStore(f.ctx.dirs).save(minimal_docker_spec());
  CHECK(f.run({"logs", "api"}) == 0);  // egress never wrote: nothing, and no error
  CHECK(f.out.str().empty());
  CHECK(f.err.str().empty());

  const fs::path log = egress_audit_log(f.ctx.dirs, "api");
  fs::create_directories(log.parent_path());
  append(fs::path(log.string() + ".1"), injected_line + "\n");
  append(log, "\x01garbage\n" + refused_line + "\n" + injected_line.substr(0, 30));
  CHECK(f.run({"logs", "--json", "api"}) == 0);
  CHECK(f.out.str() == injected_line + "\n" + refused_line + "\n");
  CHECK(f.err.str() ==
        "bottle-cli: warning: audit.jsonl: line 1: not an audit record, skipped\n"
        "bottle-cli: warning: audit.jsonl: line 3: truncated record, skipped\n");
  CHECK(f.run({"logs", "api"}) == 0);
  CHECK_THAT(f.out.str(), Catch::StartsWith("2026-12-03T01:59:00.123Z  injected  200  GET chatgpt.com:443/models"));
  // A torn last line in the rotated file (egress died, then restarted and rotated).
  append(fs::path(log.string() + ".1"), "{\"action\":");
  CHECK(f.run({"logs", "--json", "api"}) == 0);
  CHECK(f.out.str() == injected_line + "\n" + refused_line + "\n");
  CHECK_THAT(f.err.str(), Catch::StartsWith("bottle-cli: warning: audit.jsonl.1: line 2: truncated record, skipped\n"));
  CHECK(f.run({"logs", "--since", "bad", "api"}) == exit_code::invalid_input);
}

TEST_CASE("logs: --since against a given now, and --follow until stopped", "[audit]") {
  TempDir tmp;
  const StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  const fs::path log = egress_audit_log(dirs, "api");
  fs::create_directories(log.parent_path());
  append(log, injected_line + "\n" + refused_line + "\n");
  FakeClock clock;
  std::atomic<bool> stop{true};
  std::ostringstream out, err;
  // now = 02:00:30: the last minute holds only the refused record.
  show_egress_log(dirs, "api", {.json = true, .since = std::chrono::seconds(60)}, 1796263230000, out, err, clock, stop);
  CHECK(out.str() == refused_line + "\n");
  CHECK(err.str().empty());
  CHECK(clock.slept() == std::chrono::milliseconds(0));  // no --follow: no polling
  // --follow with stop already set: prints what is there, polls no more.
  out.str("");
  show_egress_log(dirs, "api", {.follow = true, .json = true}, 1796263230000, out, err, clock, stop);
  CHECK(out.str() == injected_line + "\n" + refused_line + "\n");
  CHECK(clock.slept() == std::chrono::milliseconds(0));
}

TEST_CASE("audit: a bottle's egress activity in the last minute", "[audit][dashboard]") {
  const auto at = [](std::int64_t ms, std::string action) {
    AuditRecord r = *parse_audit_record(injected_line);
    r.time_ms = ms;
    r.action = std::move(action);
    return r;
  };
  const std::int64_t now = 1796263230000;
  const std::vector<AuditRecord> records = {
      at(now - 60000, "blocked"),  // exactly a minute ago: out
      at(now - 59999, "injected"), at(now - 30000, "blocked"), at(now - 1000, "refused"),
      at(now, "tunneled"),         at(now + 1, "blocked"),  // from the future: out
  };
  CHECK(summarize_egress_activity(records, now) == EgressActivity{.requests = 4, .blocked = 2});
  CHECK(summarize_egress_activity({}, now) == EgressActivity{});

  TempDir tmp;
  const StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  CHECK(recent_egress_activity(dirs, "api", now) == EgressActivity{});  // no log yet
  const fs::path log = egress_audit_log(dirs, "api");
  fs::create_directories(log.parent_path());
  // The rotated file counts too; a corrupt line does not; a huge old part is not read.
  append(fs::path(log.string() + ".1"), std::string(300 * 1024, 'x') + "\n" + refused_line + "\n");
  append(log, "garbage\n" + injected_line + "\n" + refused_line.substr(0, 50));
  // now = 02:00:30: the refused record (02:00:00) is in the window, the injected one (01:59:00.123) is not;
  // at 02:00:00 both are.
  CHECK(recent_egress_activity(dirs, "api", now) == EgressActivity{.requests = 1, .blocked = 1});
  CHECK(recent_egress_activity(dirs, "api", 1796263200000) == EgressActivity{.requests = 2, .blocked = 1});
}

TEST_CASE("rows: egress activity shows in the egress cell and the JSON when counted", "[audit][dashboard]") {
  BottleRow row{.name = "api", .egress = EgressState::on};
  CHECK(row_cells(row, 0)[4] == "on");  // `ls` does not count
  CHECK(rows_to_json({row}).find("egress_last_minute") == std::string::npos);
  row.egress_activity = EgressActivity{.requests = 12, .blocked = 0};
  CHECK(row_cells(row, 0)[4] == "on 12/min");
  row.egress_activity = EgressActivity{.requests = 12, .blocked = 3};
  CHECK(row_cells(row, 0)[4] == "on 12/min !3 blocked");
  CHECK_THAT(rows_to_json({row}), Catch::Contains(R"("egress_last_minute":{"requests":12,"blocked":3})"));
}
