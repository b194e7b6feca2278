#include "bottle/frontend/rows_format.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>

namespace bottle {

namespace json = boost::json;

std::string_view to_string(EgressState state) {
  switch (state) {
    case EgressState::unknown: return "";
    case EgressState::off: return "off";
    case EgressState::on: return "on";
    case EgressState::down: return "down";
    case EgressState::missing: return "missing";
    case EgressState::none: return "none";
  }
  return "";
}

std::string BottleRow::state_text() const {
  return state == EngineState::other ? other_state : std::string(to_string(state));
}

std::string egress_activity_text(const std::optional<EgressActivity>& activity) {
  if (!activity) return "";
  return fmt::format(" {}/min", activity->requests) +
         (activity->blocked > 0 ? fmt::format(" !{} blocked", activity->blocked) : "");
}

RowCells row_cells(const BottleRow& r, std::int64_t now) {
  const std::string_view egress = to_string(r.egress);
  return {r.name,
          std::string(to_string(r.backend)),
          r.managed ? std::string(to_string(r.agent)) : "?",
          r.managed ? r.state_text() + (r.unchecked ? " (unchecked)" : "") : r.state_text() + " (no spec)",
          (egress.empty() ? "-" : std::string(egress)) + egress_activity_text(r.egress_activity),
          format_age(r.created_unix, now),
          (r.workspace_changes.value_or(0) > 0 ? fmt::format("!{} changed ", *r.workspace_changes) : "") +
              (r.workspace.empty() ? "-" : r.workspace)};
}

std::string rows_to_json(const std::vector<BottleRow>& rows) {
  json::array array;
  for (const auto& r : rows) {
    array.push_back(
        json::object{{"name", r.name},
                     {"backend", json::string(to_string(r.backend))},
                     {"agent", r.managed ? json::value(json::string(to_string(r.agent))) : json::value(nullptr)},
                     {"state", r.state_text()},
                     {"workspace", r.workspace},
                     {"created", r.created_unix},
                     {"egress", json::string(to_string(r.egress))},
                     {"managed", r.managed}});
    if (r.unchecked) array.back().as_object()["unchecked"] = true;
    if (r.workspace_changes) array.back().as_object()["workspace_changes"] = *r.workspace_changes;
    if (r.egress_activity)
      array.back().as_object()["egress_last_minute"] =
          json::object{{"requests", r.egress_activity->requests}, {"blocked", r.egress_activity->blocked}};
  }
  return json::serialize(array) + "\n";
}

std::string format_age(std::int64_t created_unix, std::int64_t now) {
  if (created_unix <= 0 || now < created_unix) return "-";
  const std::int64_t s = now - created_unix;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

std::string rows_to_table(const std::vector<BottleRow>& rows, std::int64_t now) {
  if (rows.empty()) return "no bottles\n";
  std::vector<RowCells> cells(1);
  for (std::size_t c = 0; c < row_columns.size(); ++c) cells[0][c] = row_columns[c];
  for (const auto& r : rows) cells.push_back(row_cells(r, now));
  std::vector<std::size_t> width(cells.front().size(), 0);
  for (const auto& row : cells)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c)
      line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], width[c]);
    out += line + "\n";
  }
  return out;
}

}  // namespace bottle
