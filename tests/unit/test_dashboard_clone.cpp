// Clone mode in the dashboard: the CLONE cell and the table's lines (exact text,
// wide and narrow), the summary of a clone, the f key, the fetch messages, and the
// worker's cache that reads a running bottle's clone only every interval.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/frontend/dashboard_clone.hpp"
#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/dashboard_table.hpp"
#include "bottle/ops/clone_summary.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

const std::string id_a(40, 'a');
const std::string id_b(40, 'b');
const std::string id_c(40, 'c');

BottleRow row(std::string name, EngineState state = EngineState::running, std::string workspace = "/src/api") {
  BottleRow r;
  r.name = std::move(name);
  r.state = state;
  r.workspace = std::move(workspace);
  r.egress = EgressState::off;
  r.created_unix = 40;
  return r;
}

CloneSummary read_ok(std::string branch, std::size_t ahead, std::size_t dirty = 0, std::size_t unfetched = 0) {
  return {.branch = std::move(branch),
          .read = CloneSummary::Read::ok,
          .ahead = ahead,
          .dirty = dirty,
          .unfetched = unfetched};
}

BottleSpec clone_spec(std::string name) {
  BottleSpec s = minimal_docker_spec();
  s.name = std::move(name);
  s.repo = RepoSpec{.path = "/src/api", .branch = "bottle/" + s.name, .base = id_a};
  return s;
}

}  // namespace

TEST_CASE("dashboard clone: the CLONE cell", "[dashboard][clone]") {
  CHECK(clone_cell(std::nullopt) == "-");
  CHECK(clone_cell(CloneSummary{.branch = "bottle/api"}) == "bottle/api -");
  CHECK(clone_cell(CloneSummary{.branch = "bottle/api", .read = CloneSummary::Read::failed}) == "bottle/api ?");
  CHECK(clone_cell(read_ok("bottle/api", 0)) == "bottle/api +0");
  CHECK(clone_cell(read_ok("bottle/api", 3, 2, 1)) == "bottle/api +3 *dirty ^unfetched");
  CHECK(clone_cell(read_ok("bottle/api", 3, 0, 1)) == "bottle/api +3 ^unfetched");
  CHECK(clone_cell(read_ok("bottle/api", 0, 5)) == "bottle/api +0 *dirty");
  // A long branch is shortened so the counts stay visible.
  CHECK(clone_cell(read_ok("bottle/a-very-long-feature-branch-name", 12, 1, 1)) ==
        "bottle/a-very-long-feat~ +12 *dirty ^unfetched");
  // Whatever the branch holds, the terminal never receives a control character.
  CHECK(clone_cell(CloneSummary{.branch = "x\x1b]52;c;aGk=\x07"}) == "x^[]52;c;aGk=^G -");
}

TEST_CASE("dashboard clone: table cells and lines, with and without clone info", "[dashboard][clone]") {
  BottleRow plain = row("web", EngineState::stopped, "/src/web-frontend");
  BottleRow cloned = row("api");
  cloned.clone = read_ok("bottle/api", 3, 2, 1);
  CHECK(dash_table_cells(plain, 100) ==
        DashTableCells{"web", "docker", "claude", "stopped", "off", "1m", "-", "/src/web-frontend"});
  CHECK(dash_table_cells(cloned, 100) == DashTableCells{"api", "docker", "claude", "running", "off", "1m",
                                                        "bottle/api +3 *dirty ^unfetched", "/src/api"});
  // Every other cell is ls's.
  const RowCells ls = row_cells(cloned, 100);
  const DashTableCells dash = dash_table_cells(cloned, 100);
  CHECK(std::equal(ls.begin(), ls.begin() + 6, dash.begin()));
  CHECK(ls[workspace_column] == dash[dash_workspace_column]);

  // Widest cells: NAME 4, BACKEND 7, AGENT 6, STATE 7, EGRESS 6, AGE 3, CLONE 31,
  // WORKSPACE 17; two spaces after each: 97 columns.
  SECTION("wide: every column as wide as its widest cell, padded to the screen") {
    const auto lines = dash_table_lines({cloned, plain}, 100, 100);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] ==
          "NAME  BACKEND  AGENT   STATE    EGRESS  AGE  CLONE                            WORKSPACE        "
          "     ");
    CHECK(lines[1] ==
          "api   docker   claude  running  off     1m   bottle/api +3 *dirty ^unfetched  /src/api         "
          "     ");
    CHECK(lines[2] ==
          "web   docker   claude  stopped  off     1m   -                                /src/web-frontend"
          "     ");
  }
  SECTION("narrow: the workspace gives way first, then the clone, then the edge cuts") {
    // 17 columns too many: WORKSPACE gives 8 (17 -> 9), CLONE the other 9 (31 -> 22).
    auto lines = dash_table_lines({cloned, plain}, 100, 80);
    CHECK(lines[0] == "NAME  BACKEND  AGENT   STATE    EGRESS  AGE  CLONE                   WORKSPACE  ");
    CHECK(lines[1] == "api   docker   claude  running  off     1m   bottle/api +3 *dirty ~  /src/api   ");
    CHECK(lines[2] == "web   docker   claude  stopped  off     1m   -                       /src/web~  ");
    // Both at their floors (9 and 12), the line is cut at the screen's edge.
    lines = dash_table_lines({cloned, plain}, 100, 50);
    CHECK(lines[0] == "NAME  BACKEND  AGENT   STATE    EGRESS  AGE  CLONE");
    CHECK(lines[1] == "api   docker   claude  running  off     1m   bottl");
  }
}

TEST_CASE("dashboard clone: a clone's summary", "[dashboard][clone]") {
  const RepoSpec repo{.path = "/src/api", .branch = "bottle/api", .base = id_a};
  const CloneStatus status{.dirty = 2,
                           .branches = {{.name = "bottle/api", .commit = id_b, .ahead = 3},
                                        {.name = "main", .commit = id_a, .ahead = 0},
                                        {.name = "side", .commit = id_c, .ahead = 1}}};
  CHECK(summarize_clone(repo, status, {}) == read_ok("bottle/api", 3, 2, 2));
  CHECK(summarize_clone(repo, status, {{"bottle/api", id_b}}) == read_ok("bottle/api", 3, 2, 1));
  CHECK(summarize_clone(repo, status, {{"bottle/api", id_b}, {"side", id_c}}) == read_ok("bottle/api", 3, 2, 0));
  // The agent deleted its branch: nothing ahead on it.
  CHECK(summarize_clone(repo, CloneStatus{}, {}) == read_ok("bottle/api", 0));
}

TEST_CASE("dashboard clone: f fetches the selected clone-mode bottle", "[dashboard][clone]") {
  using K = DashAction::Kind;
  DashboardModel m;
  CHECK(m.on_key('f') == DashAction{K::redraw, {}});
  CHECK(m.status() == "no bottle selected");
  BottleRow cloned = row("api");
  cloned.clone = CloneSummary{.branch = "bottle/api"};
  m.set_rows({cloned, row("web")});
  CHECK(m.on_key('f') == DashAction{K::fetch, "api"});
  m.on_key('j');
  CHECK(m.on_key('f') == DashAction{K::redraw, {}});
  CHECK(m.status() == "fetch: bottle web is not in clone mode (create it with --repo)");
  CHECK(m.status_is_error());
  // The filter finds a bottle by its branch.
  m.on_key('/');
  for (const char c : std::string("bottle/a")) m.on_key(c);
  REQUIRE(m.visible().size() == 1);
  CHECK(m.visible()[0].name == "api");
}

TEST_CASE("dashboard clone: the fetch key's status messages", "[dashboard][clone]") {
  const BottleSpec spec = clone_spec("api");
  using Message = DashboardWorker::Message;
  FetchReport fetched{
      .fetched = {{.name = "bottle/api", .commit = id_b, .ahead = 3}, {.name = "side", .commit = id_c, .ahead = 1}}};
  CHECK(fetch_message(spec, fetched) ==
        Message{"fetched bottle/api -> refs/bottles/api/bottle/api (3 commits ahead of the base); fetched side -> "
                "refs/bottles/api/side (1 commit ahead of the base)",
                false});
  fetched.uncommitted = 2;
  fetched.fetched.pop_back();
  CHECK(fetch_message(spec, fetched) ==
        Message{"fetched bottle/api -> refs/bottles/api/bottle/api (3 commits ahead of the base); 2 uncommitted paths "
                "left in the bottle, not fetched",
                false});
  CHECK(fetch_message(spec, FetchReport{}) == Message{"bottle api has no commits ahead of its base", false});
  CHECK(fetch_message(spec, FetchReport{.uncommitted = 1}) ==
        Message{"bottle api has no commits ahead of its base; 1 uncommitted path left in the bottle, not fetched",
                false});
  // An error (which may carry git's output from inside the bottle) is one line, shown, not obeyed.
  CHECK(fetch_error_message("api", "fetch: git bundle create in bottle api failed: fatal: x\n\x1b[2Jmore\n") ==
        Message{"fetch api: fetch: git bundle create in bottle api failed: fatal: x; ^[[2Jmore", true});
}

TEST_CASE("dashboard clone: the worker's cache reads a running clone every interval only", "[dashboard][clone]") {
  TempDir home;
  const StateDirs dirs{home.path() / "config", home.path() / "state"};
  SpecStore store(dirs);
  store.save(clone_spec("api"));
  store.save(clone_spec("old"));
  BottleSpec plain = minimal_docker_spec();
  plain.name = "web";
  store.save(plain);
  store.save(clone_spec("broken"));

  RecordingRunner runner;
  int status_reads = 0;
  runner.respond([&](const Command& c) -> std::optional<ProcessResult> {
    const auto& argv = c.argv;
    const auto has = [&](std::string_view word) { return std::find(argv.begin(), argv.end(), word) != argv.end(); };
    if (has(guest_status_script())) {
      ++status_reads;
      if (has("bottle-broken")) return exited(1, "", "fatal: not a git repository");
      return exited(0, "dirty 1\nbranch bottle/api " + id_b + " 2\n");
    }
    if (has("--is-bare-repository")) return exited(0, "false\n/src/api/.git\n");
    if (has("for-each-ref")) return exited(0, "");
    return std::nullopt;
  });
  const BackendFactory factory = [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(r, std::make_unique<DockerCommands>());
  };
  Bottles bottles(Host(), runner, dirs, factory);
  CloneSummaries cache(std::chrono::seconds(10));
  const auto t0 = CloneSummaries::Clock::time_point{} + std::chrono::hours(1);
  const auto rows = [] {
    return std::vector<BottleRow>{row("api"), row("old", EngineState::stopped), row("web"), row("broken")};
  };

  auto shown = rows();
  cache.fill(bottles, runner, shown, t0);
  CHECK(status_reads == 2);  // api and broken: the running clone-mode bottles only
  CHECK(shown[0].clone == read_ok("bottle/api", 2, 1, 1));
  CHECK(shown[1].clone == CloneSummary{.branch = "bottle/old"});
  CHECK_FALSE(shown[2].clone);
  CHECK(shown[3].clone == CloneSummary{.branch = "bottle/broken", .read = CloneSummary::Read::failed});
  CHECK(clone_cell(shown[3].clone) == "bottle/broken ?");

  shown = rows();
  cache.fill(bottles, runner, shown, t0 + std::chrono::seconds(9));
  CHECK(status_reads == 2);  // within the interval: the last read is shown
  CHECK(shown[0].clone == read_ok("bottle/api", 2, 1, 1));

  cache.forget("api");
  shown = rows();
  cache.fill(bottles, runner, shown, t0 + std::chrono::seconds(9));
  CHECK(status_reads == 3);  // after a fetch: api at once

  shown = rows();
  cache.fill(bottles, runner, shown, t0 + std::chrono::seconds(19));
  CHECK(status_reads == 5);  // the interval passed for both
}

TEST_CASE("dashboard clone: the worker's fetch job reports its error on the status line", "[dashboard][clone]") {
  TempDir home;
  const StateDirs dirs{home.path() / "config", home.path() / "state"};
  BottleSpec plain = minimal_docker_spec();
  plain.name = "web";
  SpecStore(dirs).save(plain);
  auto runner = std::make_unique<RecordingRunner>();
  runner->fallback = exited(0, "");
  const BackendFactory factory = [](BackendKind, Runner& r) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(r, std::make_unique<DockerCommands>());
  };
  DashboardWorker worker(Host(), std::move(runner), dirs, factory, std::chrono::milliseconds(20));
  worker.start();
  worker.submit(DashboardWorker::Job::fetch, "web");
  worker.submit(DashboardWorker::Job::fetch, "ghost");
  std::vector<DashboardWorker::Message> messages;
  for (int i = 0; i < 2000 && messages.size() < 2; ++i) {
    for (auto& m : worker.take_messages()) messages.push_back(std::move(m));
    if (messages.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  worker.stop();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0] == DashboardWorker::Message{
                           "fetch web: fetch: bottle \"web\" is not in clone mode (create it with --repo)", true});
  CHECK(messages[1].error);
  CHECK_THAT(messages[1].text, Catch::StartsWith("fetch ghost: "));
}
