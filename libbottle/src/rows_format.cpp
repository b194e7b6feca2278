#include "bottle/rows_format.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <fmt/format.h>

namespace bottle {

namespace json = boost::json;

std::string rows_to_json(const std::vector<BottleRow>& rows) {
  json::array array;
  for (const auto& r : rows) {
    array.push_back(json::object{{"name", r.name},
                                 {"backend", json::string(to_string(r.backend))},
                                 {"agent", r.managed ? json::value(json::string(to_string(r.agent))) : json::value(nullptr)},
                                 {"state", r.state},
                                 {"workspace", r.workspace},
                                 {"created", r.created_unix},
                                 {"egress", r.egress},
                                 {"managed", r.managed}});
    if (r.workspace_changes) array.back().as_object()["workspace_changes"] = *r.workspace_changes;
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
  std::vector<std::vector<std::string>> cells{{"NAME", "BACKEND", "AGENT", "STATE", "EGRESS", "AGE", "WORKSPACE"}};
  for (const auto& r : rows)
    cells.push_back({r.name, std::string(to_string(r.backend)), r.managed ? std::string(to_string(r.agent)) : "?",
                     r.managed ? r.state : r.state + " (no spec)", r.egress.empty() ? "-" : r.egress,
                     format_age(r.created_unix, now), r.workspace.empty() ? "-" : r.workspace});
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
