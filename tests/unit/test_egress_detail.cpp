// The dashboard's egress detail view (key `l`): the lines it draws for given records
// and sizes, the model's mode, and the worker reading the watched bottle's log.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/dashboard_worker.hpp"
#include "bottle/frontend/egress_detail.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

AuditRecord record(std::string time, std::string action, std::string host, std::int64_t status = 200) {
  AuditRecord r;
  r.time = std::move(time);
  r.bottle = "api";
  r.method = "GET";
  r.host = std::move(host);
  r.port = 443;
  r.path = "/";
  r.status = status;
  r.duration_ms = 5;
  r.action = std::move(action);
  return r;
}

const std::string injected_line =
    R"({"action":"injected","bottle":"api","bytes_down":512,"bytes_up":7,"duration_ms":12,"host":"chatgpt.com",)"
    R"("method":"GET","path":"/models","port":443,"reason":"credential swapped","route":"codex","status":200,)"
    R"("time":"2026-12-03T01:59:00.123Z"})";
const std::string blocked_line =
    R"({"action":"blocked","bottle":"api","bytes_down":0,"bytes_up":0,"duration_ms":1,"host":"evil.example",)"
    R"("method":"POST","path":"/x","port":443,"reason":"host not allowed","route":"","status":403,)"
    R"("time":"2026-12-03T02:00:00.000Z"})";

void append(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app | std::ios::binary);
  out << text;
}

BottleRow row(std::string name) {
  BottleRow r;
  r.name = std::move(name);
  r.state = EngineState::running;
  return r;
}

}  // namespace

TEST_CASE("egress detail: newest last, blocked and refused highlighted, cut to the width", "[dashboard][audit]") {
  const std::vector<AuditRecord> records = {
      record("2026-12-03T02:00:01.000Z", "injected", "a.example"),
      record("2026-12-03T02:00:02.000Z", "blocked", "b.example", 403),
      record("2026-12-03T02:00:03.000Z", "tunneled", "c.example"),
      record("2026-12-03T02:00:04.000Z", "refused", "d.example", 0),
  };
  // Three lines high: the oldest record gives way; the newest is the last line.
  CHECK(egress_detail_lines(records, 200, 3) ==
        std::vector<EgressDetailLine>{
            {"2026-12-03T02:00:02.000Z  blocked   403  GET b.example:443/  up 0 B  down 0 B  5 ms", true},
            {"2026-12-03T02:00:03.000Z  tunneled  200  GET c.example:443/  up 0 B  down 0 B  5 ms", false},
            {"2026-12-03T02:00:04.000Z  refused     -  GET d.example:443/  up 0 B  down 0 B  5 ms", true},
        });
  // Narrow: every line is cut to exactly the width, ending in '~'.
  CHECK(egress_detail_lines(records, 30, 2) == std::vector<EgressDetailLine>{
                                                   {"2026-12-03T02:00:03.000Z  tun~", false},
                                                   {"2026-12-03T02:00:04.000Z  ref~", true},
                                               });
  // A line that fits exactly is not cut.
  const std::string full = format_audit_record(records[3]);
  CHECK(egress_detail_lines(records, full.size(), 1) == std::vector<EgressDetailLine>{{full, true}});
  CHECK(egress_detail_lines(records, full.size() - 1, 1)[0].text == full.substr(0, full.size() - 2) + "~");
  CHECK(egress_detail_lines(records, 1, 1) == std::vector<EgressDetailLine>{{"2", true}});
  CHECK(egress_detail_lines(records, 0, 5).empty());
  CHECK(egress_detail_lines(records, 80, 0).empty());
  CHECK(egress_detail_lines({}, 80, 5) == std::vector<EgressDetailLine>{{"no egress records yet", false}});
  CHECK(egress_detail_lines({}, 10, 5) == std::vector<EgressDetailLine>{{"no egress~", false}});
}

TEST_CASE("egress detail: no control byte from a record or a name reaches the terminal", "[dashboard][audit]") {
  AuditRecord hostile = record("2026-12-03T02:00:01.000Z", "blocked\x1b[2J", "evil\r\n.example\x07");
  hostile.path = "/\x1b]0;pwned\x07\x9b";
  hostile.reason = "\x1b[31mred";
  hostile.route = std::string("r\0ute", 5);
  const auto lines = egress_detail_lines({hostile}, 500, 5);
  REQUIRE(lines.size() == 1);
  for (const unsigned char c : lines[0].text) {
    INFO(lines[0].text);
    CHECK((c >= 0x20 && c < 0x7f));
  }
  CHECK_THAT(lines[0].text, Catch::Contains("evil\\x0d\\x0a.example\\x07"));
  CHECK_FALSE(lines[0].alert);  // "blocked\x1b[2J" is not an action the view trusts
  const std::string title = egress_detail_title("api\x1b[2J", 3, 500);
  CHECK(title == " egress log: api\\x1b[2J  3 records, newest last  (l, Esc or q: back)");
}

TEST_CASE("egress detail: the title", "[dashboard][audit]") {
  CHECK(egress_detail_title("api", 1, 200) == " egress log: api  1 record, newest last  (l, Esc or q: back)");
  CHECK(egress_detail_title("api", 0, 200) == " egress log: api  0 records, newest last  (l, Esc or q: back)");
  CHECK(egress_detail_title("api", 12, 20) == " egress log: api  1~");
}

TEST_CASE("egress detail: a bottle's recent records skip corrupt lines, oldest first, from the tail only",
          "[dashboard][audit]") {
  TempDir tmp;
  const StateDirs dirs{tmp.path() / "config", tmp.path() / "state"};
  CHECK(recent_egress_records(dirs, "api").empty());  // no log yet
  const fs::path log = egress_audit_log(dirs, "api");
  fs::create_directories(log.parent_path());
  // The rotated file first; a huge old part of it is not read; a corrupt line and a
  // half-written last line are skipped.
  append(fs::path(log.string() + ".1"),
         blocked_line + "\n" + std::string(300 * 1024, 'x') + "\n" + injected_line + "\n");
  append(log, "garbage\n" + blocked_line + "\n" + injected_line.substr(0, 50));
  const auto records = recent_egress_records(dirs, "api");
  REQUIRE(records.size() == 2);
  CHECK(records[0] == *parse_audit_record(injected_line));
  CHECK(records[1] == *parse_audit_record(blocked_line));
  const auto lines = egress_detail_lines(records, 200, 10);
  REQUIRE(lines.size() == 2);
  CHECK_FALSE(lines[0].alert);
  CHECK(lines[1] == EgressDetailLine{format_audit_record(records[1]), true});
}

TEST_CASE("dashboard model: l opens the selected bottle's egress log, l, Esc and q close it, q never quits",
          "[dashboard]") {
  using K = DashAction::Kind;
  DashboardModel m;
  CHECK(m.on_key('l') == DashAction{K::redraw, {}});  // nothing selected
  CHECK(m.mode() == DashMode::table);
  CHECK(m.status() == "no bottle selected");
  m.set_rows({row("alpha"), row("beta")});
  m.on_key('j');
  const std::vector<AuditRecord> records = {record("2026-12-03T02:00:01.000Z", "blocked", "b.example", 403)};

  for (const int leave : {static_cast<int>('l'), static_cast<int>('q'), dash_key::escape}) {
    CHECK(m.on_key('l') == DashAction{K::redraw, {}});
    CHECK(m.mode() == DashMode::egress_log);
    CHECK(m.egress_log_bottle() == "beta");
    CHECK(m.egress_log().empty());
    m.set_egress_log("alpha", records);  // a read for another bottle is ignored
    CHECK(m.egress_log().empty());
    m.set_egress_log("beta", records);
    CHECK(m.egress_log() == records);
    // Table keys do nothing here: no stop, remove, attach or move.
    for (const int key :
         {static_cast<int>('s'), static_cast<int>('d'), dash_key::enter, dash_key::up, static_cast<int>('k')})
      CHECK(m.on_key(key) == DashAction{});
    CHECK(m.mode() == DashMode::egress_log);
    CHECK(m.on_key(dash_key::resize) == DashAction{K::redraw, {}});
    CHECK(m.on_key(leave) == DashAction{K::redraw, {}});
    CHECK(m.mode() == DashMode::table);
    CHECK(m.egress_log_bottle().empty());
    CHECK(m.egress_log().empty());
    CHECK(m.selected()->name == "beta");
    m.set_egress_log("beta", records);  // a late read after leaving is ignored
    CHECK(m.egress_log().empty());
  }
  CHECK(m.on_key('q') == DashAction{K::quit, {}});  // back in the table, q quits
}

TEST_CASE("dashboard worker: reads the watched bottle's egress log, and stops when unwatched", "[dashboard][audit]") {
  TempDir home;
  const StateDirs dirs{home.path() / "config", home.path() / "state"};
  const fs::path log = egress_audit_log(dirs, "api");
  fs::create_directories(log.parent_path());
  append(log, injected_line + "\n");
  auto runner = std::make_unique<RecordingRunner>();
  runner->fallback = exited(0, "[]");
  const BackendFactory factory = [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(r,
                                     std::make_unique<SmolmachinesCommands>(SmolmachinesOptions{.pty_resize = "/x"}));
  };
  DashboardWorker worker(Host(), std::move(runner), dirs, factory, std::chrono::milliseconds(20));
  worker.start();
  const auto next_log = [&] {
    std::optional<DashboardWorker::EgressLog> got;
    for (int i = 0; i < 1000 && !got; ++i) {
      got = worker.take_egress_log();
      if (!got) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return got;
  };
  CHECK_FALSE(worker.take_egress_log());  // nothing watched, nothing read

  worker.watch_egress("api");
  auto got = next_log();
  REQUIRE(got);
  CHECK(got->bottle == "api");
  CHECK(got->records == std::vector<AuditRecord>{*parse_audit_record(injected_line)});

  // Live: a record egress appends shows up at a later tick.
  append(log, blocked_line + "\n");
  for (int i = 0; i < 50 && got && got->records.size() < 2; ++i) got = next_log();
  REQUIRE(got);
  CHECK(got->records ==
        std::vector<AuditRecord>{*parse_audit_record(injected_line), *parse_audit_record(blocked_line)});

  worker.watch_egress("");
  CHECK_FALSE(worker.take_egress_log());  // unwatching drops a read not yet taken
  worker.stop();
}
