#pragma once
// The dashboard's table: `ls`'s cells (row_cells) with a CLONE column before the
// workspace, laid out for a terminal `cols` wide. Pure, so the exact text of every
// line is tested; the curses view only draws the lines.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/frontend/rows_format.hpp"
#include "bottle/ops/bottles.hpp"

namespace bottle {

/// The dashboard's columns: row_columns with CLONE before WORKSPACE.
inline constexpr std::array<std::string_view, row_columns.size() + 1> dash_table_columns = {
    "NAME", "BACKEND", "AGENT", "STATE", "EGRESS", "AGE", "CLONE", "WORKSPACE"};
inline constexpr std::size_t dash_clone_column = 6;
inline constexpr std::size_t dash_workspace_column = 7;
using DashTableCells = std::array<std::string, dash_table_columns.size()>;

/// A branch longer than this is shortened in the CLONE cell ("~" marks the cut), so
/// the counts after it stay visible.
inline constexpr std::size_t clone_branch_width = 24;

/// The CLONE cell. "-": not in clone mode. Otherwise the branch (terminal_safe,
/// shortened to clone_branch_width), then: " -" when only the branch is known (a
/// stopped bottle), " ?" when reading the clone failed, else " +N" (commits ahead of
/// the base) followed by " *dirty" when there is uncommitted work and " ^unfetched"
/// when commits are not yet fetched to the host: "bottle/x +3 *dirty ^unfetched".
std::string clone_cell(const std::optional<CloneSummary>& clone);

/// row_cells(row, now) with clone_cell(row.clone) inserted at dash_clone_column.
DashTableCells dash_table_cells(const BottleRow& row, std::int64_t now);

/// The header line, then one line per row, each exactly `cols` characters (padded
/// or cut). Columns are as wide as their widest cell plus two spaces (NAME at most
/// 32); when that is wider than `cols`, WORKSPACE gives way first (down to 9), then
/// CLONE (down to 12), and the rest is cut at the edge. A cell cut short ends in "~".
std::vector<std::string> dash_table_lines(const std::vector<BottleRow>& rows, std::int64_t now, std::size_t cols);

}  // namespace bottle
