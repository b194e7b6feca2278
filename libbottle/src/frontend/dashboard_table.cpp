#include "bottle/frontend/dashboard_table.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "bottle/frontend/terminal_text.hpp"

namespace bottle {

namespace {

std::string fit(const std::string& text, std::size_t width) {
  if (text.size() <= width) return text + std::string(width - text.size(), ' ');
  if (width <= 1) return text.substr(0, width);
  return text.substr(0, width - 1) + "~";
}

// Give up to `excess` columns of `width`, keeping at least `floor`; returns what was given.
std::size_t shrink(std::size_t& width, std::size_t floor, std::size_t excess) {
  if (width <= floor) return 0;
  const std::size_t given = std::min(width - floor, excess);
  width -= given;
  return given;
}

}  // namespace

std::string clone_cell(const std::optional<CloneSummary>& clone) {
  if (!clone) return "-";
  // The spec's branch passed validate_branch_name, but the cell is drawn on the
  // user's terminal: it goes through the same filter as everything else shown.
  std::string branch = terminal_safe(clone->branch);
  if (branch.size() > clone_branch_width) branch = branch.substr(0, clone_branch_width - 1) + "~";
  switch (clone->read) {
    case CloneSummary::Read::not_read: return branch + " -";
    case CloneSummary::Read::failed: return branch + " ?";
    case CloneSummary::Read::ok: break;
  }
  return fmt::format("{} +{}{}{}", branch, clone->ahead, clone->dirty > 0 ? " *dirty" : "",
                     clone->unfetched > 0 ? " ^unfetched" : "");
}

DashTableCells dash_table_cells(const BottleRow& row, std::int64_t now) {
  const RowCells cells = row_cells(row, now);
  DashTableCells out;
  std::copy(cells.begin(), cells.begin() + static_cast<std::ptrdiff_t>(dash_clone_column), out.begin());
  out[dash_clone_column] = clone_cell(row.clone);
  std::copy(cells.begin() + static_cast<std::ptrdiff_t>(dash_clone_column), cells.end(),
            out.begin() + static_cast<std::ptrdiff_t>(dash_clone_column) + 1);
  return out;
}

std::vector<std::string> dash_table_lines(const std::vector<BottleRow>& rows, std::int64_t now, std::size_t cols) {
  std::vector<DashTableCells> cells;
  cells.reserve(rows.size() + 1);
  cells.emplace_back();
  for (std::size_t c = 0; c < dash_table_columns.size(); ++c) cells[0][c] = dash_table_columns[c];
  for (const auto& row : rows) cells.push_back(dash_table_cells(row, now));

  std::array<std::size_t, dash_table_columns.size()> widths{};
  for (const auto& line : cells)
    for (std::size_t c = 0; c < widths.size(); ++c) widths[c] = std::max(widths[c], line[c].size());
  widths[0] = std::min<std::size_t>(widths[0], 32);
  std::size_t total = 0;
  for (const auto w : widths) total += w + 2;
  if (total > cols) total -= shrink(widths[dash_workspace_column], 9, total - cols);
  if (total > cols) total -= shrink(widths[dash_clone_column], 12, total - cols);

  std::vector<std::string> lines;
  lines.reserve(cells.size());
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t c = 0; c < widths.size(); ++c) text += fit(line[c], widths[c]) + "  ";
    text.resize(cols, ' ');
    lines.push_back(std::move(text));
  }
  return lines;
}

}  // namespace bottle
