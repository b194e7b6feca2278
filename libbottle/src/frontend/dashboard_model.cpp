#include "bottle/frontend/dashboard_model.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "bottle/frontend/rows_format.hpp"

namespace bottle {

DashCells dash_cells(const BottleRow& row, std::int64_t now) { return row_cells(row, now); }

void DashboardModel::set_rows(std::vector<BottleRow> rows) {
  rows_ = std::move(rows);
  refilter();
}

// Refiltering keeps the selected bottle selected when it is still visible: a
// background refresh must never move the cursor under the user's finger.
void DashboardModel::refilter() {
  const auto previous = selected();
  visible_.clear();
  for (const auto& row : rows_) {
    const bool match = filter_.empty() || row.name.find(filter_) != std::string::npos ||
                       to_string(row.backend).find(filter_) != std::string_view::npos ||
                       to_string(row.agent).find(filter_) != std::string_view::npos ||
                       row.state_text().find(filter_) != std::string::npos ||
                       row.workspace.find(filter_) != std::string::npos ||
                       to_string(row.egress).find(filter_) != std::string_view::npos ||
                       (row.clone && row.clone->branch.find(filter_) != std::string::npos);
    if (match) visible_.push_back(row);
  }
  const int count = static_cast<int>(visible_.size());
  if (previous) {
    const auto it =
        std::find_if(visible_.begin(), visible_.end(), [&](const BottleRow& r) { return r.name == previous->name; });
    if (it != visible_.end()) {
      selected_ = static_cast<int>(it - visible_.begin());
      return;
    }
  }
  if (count == 0) selected_ = -1;
  else selected_ = std::clamp(selected_, 0, count - 1);
}

std::optional<BottleRow> DashboardModel::selected() const {
  if (selected_ < 0 || selected_ >= static_cast<int>(visible_.size())) return std::nullopt;
  return visible_[static_cast<std::size_t>(selected_)];
}

void DashboardModel::move(int delta) {
  const int count = static_cast<int>(visible_.size());
  if (count == 0) return;
  selected_ = std::clamp(selected_ + delta, 0, count - 1);
}

int DashboardModel::scroll_top(int height) {
  if (height < 1) height = 1;
  page_ = height;
  if (selected_ < top_) top_ = std::max(selected_, 0);
  if (selected_ >= top_ + height) top_ = selected_ - height + 1;
  const int max_top = std::max(static_cast<int>(visible_.size()) - height, 0);
  top_ = std::clamp(top_, 0, max_top);
  return top_;
}

void DashboardModel::set_status(std::string text, bool error) {
  status_ = std::move(text);
  status_error_ = error;
}

DashAction DashboardModel::on_key(int key) {
  if (key == dash_key::resize) return {DashAction::Kind::redraw, {}};
  switch (mode_) {
    case DashMode::table: return on_table_key(key);
    case DashMode::filter: return on_filter_key(key);
    case DashMode::confirm_remove: return on_confirm_key(key);
    case DashMode::egress_log: return on_egress_log_key(key);
    case DashMode::help:
      // Any key leaves help; it never doubles as a command (q must not quit here).
      mode_ = DashMode::table;
      return {DashAction::Kind::redraw, {}};
  }
  return {};
}

DashAction DashboardModel::act_on_selection(DashAction::Kind kind) {
  const auto row = selected();
  if (!row) {
    set_status("no bottle selected", true);
    return {DashAction::Kind::redraw, {}};
  }
  return {kind, row->name};
}

DashAction DashboardModel::on_table_key(int key) {
  using K = DashAction::Kind;
  switch (key) {
    case dash_key::up:
    case 'k': move(-1); return {K::redraw, {}};
    case dash_key::down:
    case 'j': move(1); return {K::redraw, {}};
    case dash_key::page_up: move(-page_); return {K::redraw, {}};
    case dash_key::page_down: move(page_); return {K::redraw, {}};
    case dash_key::home:
    case 'g': move(-static_cast<int>(visible_.size())); return {K::redraw, {}};
    case dash_key::end:
    case 'G': move(static_cast<int>(visible_.size())); return {K::redraw, {}};
    case dash_key::enter:
    case '\r': return act_on_selection(K::attach);
    case 'r': return act_on_selection(K::resume);
    case 's': return act_on_selection(K::stop);
    case 'f': {
      // Only a clone-mode bottle has anything to fetch; say so here rather than
      // queueing a job that can only fail.
      const auto row = selected();
      if (row && !row->clone) {
        set_status("fetch: bottle " + row->name + " is not in clone mode (create it with --repo)", true);
        return {K::redraw, {}};
      }
      return act_on_selection(K::fetch);
    }
    case 'd': {
      const auto row = selected();
      if (!row) return act_on_selection(K::remove);  // sets the status
      confirm_target_ = row->name;
      mode_ = DashMode::confirm_remove;
      return {K::redraw, {}};
    }
    case 'l': {
      const auto row = selected();
      if (!row) return act_on_selection(K::redraw);  // sets the status
      egress_log_bottle_ = row->name;
      egress_log_.clear();
      mode_ = DashMode::egress_log;
      return {K::redraw, {}};
    }
    case '/': mode_ = DashMode::filter; return {K::redraw, {}};
    case '?': mode_ = DashMode::help; return {K::redraw, {}};
    case 'q': return {K::quit, {}};
    default: return {};
  }
}

// The filter applies live while typing; Enter keeps it, Esc clears it.
DashAction DashboardModel::on_filter_key(int key) {
  using K = DashAction::Kind;
  if (key == dash_key::enter || key == '\r') {
    mode_ = DashMode::table;
  } else if (key == dash_key::escape) {
    mode_ = DashMode::table;
    filter_.clear();
    refilter();
  } else if (key == dash_key::backspace || key == 8) {
    if (!filter_.empty()) filter_.pop_back();
    refilter();
  } else if (key >= 32 && key <= 126) {
    filter_ += static_cast<char>(key);
    refilter();
  } else {
    return {};
  }
  return {K::redraw, {}};
}

DashAction DashboardModel::on_confirm_key(int key) {
  using K = DashAction::Kind;
  mode_ = DashMode::table;
  std::string target = std::move(confirm_target_);
  confirm_target_.clear();
  if (key == 'y' || key == 'Y') return {K::remove, std::move(target)};
  set_status("remove cancelled");
  return {K::redraw, {}};
}

void DashboardModel::set_egress_log(std::string_view bottle, std::vector<AuditRecord> records) {
  if (mode_ != DashMode::egress_log || bottle != egress_log_bottle_) return;
  egress_log_ = std::move(records);
}

// Only the keys that leave count here: q closes the log, it never quits the dashboard
// from inside it.
DashAction DashboardModel::on_egress_log_key(int key) {
  if (key != 'l' && key != 'q' && key != dash_key::escape) return {};
  mode_ = DashMode::table;
  egress_log_bottle_.clear();
  egress_log_.clear();
  return {DashAction::Kind::redraw, {}};
}

}  // namespace bottle
