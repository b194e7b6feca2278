// The one row presenter: `bottle-cli ls` (table and JSON) and the dashboard show
// the same cells in the same columns.

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <sstream>

#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/rows_format.hpp"

using namespace bottle;
namespace json = boost::json;

namespace {

BottleRow managed_row() {
  return BottleRow{.name = "api",
                   .backend = BackendKind::docker,
                   .agent = AgentKind::codex,
                   .state = EngineState::running,
                   .workspace = "/src/api",
                   .created_unix = 1000,
                   .egress = EgressState::on};
}

BottleRow unmanaged_row() {
  // An engine object with no stored spec: the agent is not known.
  return BottleRow{.name = "ghost",
                   .backend = BackendKind::smolmachines,
                   .state = EngineState::other,
                   .other_state = "paused",
                   .created_unix = 0,
                   .managed = false};
}

// The cells of one table line: columns are separated by two or more spaces and no
// cell here holds two spaces in a row.
std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (start < line.size()) {
    const auto gap = line.find("  ", start);
    cells.push_back(line.substr(start, gap - start));
    if (gap == std::string::npos) break;
    start = line.find_first_not_of(' ', gap);
  }
  return cells;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("row presenter: the cells of a managed and an unmanaged bottle", "[rows]") {
  CHECK(row_cells(managed_row(), 1090) == RowCells{"api", "docker", "codex", "running", "on", "1m", "/src/api"});
  // Unknown agent, engine word kept, unknown egress/age/workspace as "-".
  CHECK(row_cells(unmanaged_row(), 1090) == RowCells{"ghost", "smolmachines", "?", "paused (no spec)", "-", "-", "-"});
}

TEST_CASE("row presenter: every egress state has one word", "[rows]") {
  BottleRow r = managed_row();
  const std::vector<std::pair<EgressState, std::string>> words = {
      {EgressState::unknown, "-"}, {EgressState::off, "off"},         {EgressState::on, "on"},
      {EgressState::down, "down"}, {EgressState::missing, "missing"}, {EgressState::none, "none"}};
  for (const auto& [state, word] : words) {
    r.egress = state;
    CHECK(row_cells(r, 0)[4] == word);
  }
}

TEST_CASE("row presenter: ls's table lines are the presenter's cells under its columns", "[rows]") {
  BottleRow changed = managed_row();
  changed.workspace_changes = 3;
  const auto lines = lines_of(rows_to_table({managed_row(), unmanaged_row(), changed}, 1090));
  REQUIRE(lines.size() == 4);
  CHECK(split_line(lines[0]) == std::vector<std::string>(row_columns.begin(), row_columns.end()));
  const auto as_vector = [](const RowCells& c) { return std::vector<std::string>(c.begin(), c.end()); };
  CHECK(split_line(lines[1]) == as_vector(row_cells(managed_row(), 1090)));
  CHECK(split_line(lines[2]) == as_vector(row_cells(unmanaged_row(), 1090)));
  CHECK(split_line(lines[3]) == as_vector(row_cells(changed, 1090)));
  CHECK(split_line(lines[3]).back() == "!3 changed /src/api");
}

TEST_CASE("row presenter: the dashboard's cells are ls's cells", "[rows][dashboard]") {
  BottleRow changed = managed_row();
  changed.workspace_changes = 1;
  for (const BottleRow& r : {managed_row(), unmanaged_row(), changed}) CHECK(dash_cells(r, 1090) == row_cells(r, 1090));
  // The agent of a bottle with no spec is unknown in both: never a default "claude".
  CHECK(dash_cells(unmanaged_row(), 0)[2] == "?");
}

TEST_CASE("row presenter: the dashboard filters on the words it shows", "[rows][dashboard]") {
  DashboardModel m;
  BottleRow down = managed_row();
  down.name = "web";
  down.egress = EgressState::down;
  m.set_rows({managed_row(), unmanaged_row(), down});
  m.on_key('/');
  for (char c : std::string("paus")) m.on_key(c);
  REQUIRE(m.visible().size() == 1);
  CHECK(m.visible()[0].name == "ghost");
  m.on_key(dash_key::escape);
  m.on_key('/');
  for (char c : std::string("dow")) m.on_key(c);
  REQUIRE(m.visible().size() == 1);
  CHECK(m.visible()[0].name == "web");
}

TEST_CASE("row presenter: JSON carries the states as words, the agent of an unmanaged bottle as null", "[rows]") {
  const json::value doc = json::parse(rows_to_json({managed_row(), unmanaged_row()}));
  CHECK(doc == json::parse(R"([
    {"name": "api", "backend": "docker", "agent": "codex", "state": "running", "workspace": "/src/api",
     "created": 1000, "egress": "on", "managed": true},
    {"name": "ghost", "backend": "smolmachines", "agent": null, "state": "paused", "workspace": "",
     "created": 0, "egress": "", "managed": false}
  ])"));
}

TEST_CASE("engine and egress states have fixed words", "[rows]") {
  CHECK(to_string(EngineState::running) == "running");
  CHECK(to_string(EngineState::stopped) == "stopped");
  CHECK(to_string(EngineState::created) == "created");
  CHECK(to_string(EngineState::missing) == "missing");
  CHECK(to_string(EgressState::unknown).empty());
  CHECK(to_string(EgressState::none) == "none");
  BottleRow r;
  CHECK(r.state == EngineState::missing);
  CHECK(r.state_text() == "missing");
}
