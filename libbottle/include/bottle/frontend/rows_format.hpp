#pragma once
// How bottle lists bottles (`bottle-cli ls`, `bottle-dashboard --once`), for people
// and for scripts. The one row presenter: `ls` and the dashboard show the same
// cells, in the same columns.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/ops/bottles.hpp"

namespace bottle {

/// The columns of a row, in order.
inline constexpr std::array<std::string_view, 7> row_columns = {"NAME",   "BACKEND", "AGENT",    "STATE",
                                                                "EGRESS", "AGE",     "WORKSPACE"};
/// Where the workspace is in row_columns (the column that gives way on a narrow screen).
inline constexpr std::size_t workspace_column = 6;
using RowCells = std::array<std::string, row_columns.size()>;

/// One row's cells, age relative to `now` (unix seconds). A bottle with no stored
/// spec shows agent "?" and its state followed by " (no spec)"; an unknown egress,
/// age or workspace shows "-"; changed protected paths prefix the workspace with
/// "!N changed ". Egress activity, when counted, follows the egress state:
/// "on 12/min", "on 12/min !3 blocked".
RowCells row_cells(const BottleRow& row, std::int64_t now);
/// The egress cell's activity suffix: "" when not counted, " 12/min", " 12/min !3 blocked".
std::string egress_activity_text(const std::optional<EgressActivity>& activity);

/// A JSON array of objects: name, backend, agent, state, workspace, created (unix
/// seconds), egress, managed (and workspace_changes, egress_last_minute {requests,
/// blocked} when counted). Ends with a newline.
std::string rows_to_json(const std::vector<BottleRow>& rows);
/// An aligned table of row_cells() with a header; "no bottles" when empty.
std::string rows_to_table(const std::vector<BottleRow>& rows, std::int64_t now);
/// "45s", "12m", "3h", "5d"; "-" for an unknown time.
std::string format_age(std::int64_t created_unix, std::int64_t now);

}  // namespace bottle
