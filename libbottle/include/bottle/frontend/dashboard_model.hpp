#pragma once
// The dashboard's state machine, free of curses and of engines: the table of
// bottles, the filter, the selection (and its scroll window), the mode (table,
// filter input, remove confirmation, help, a bottle's egress log) and the mapping
// from keys to actions.
//
// The view feeds it translated keys (dash_key::*, or a printable character) and
// refreshed rows; it answers with a DashAction that the caller carries out. It
// never runs anything itself, so every transition is tested by exact equality.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bottle/egress/egress_audit.hpp"
#include "bottle/frontend/rows_format.hpp"
#include "bottle/ops/bottles.hpp"

namespace bottle {

/// Keys the model understands besides printable ASCII (32..126).
namespace dash_key {
inline constexpr int enter = '\n';
inline constexpr int escape = 27;
inline constexpr int backspace = 127;
inline constexpr int up = 0x10001;
inline constexpr int down = 0x10002;
inline constexpr int page_up = 0x10003;
inline constexpr int page_down = 0x10004;
inline constexpr int home = 0x10005;
inline constexpr int end = 0x10006;
inline constexpr int resize = 0x10007;
}  // namespace dash_key

enum class DashMode { table, filter, confirm_remove, help, egress_log };

/// What the caller should do after a key.
struct DashAction {
  enum class Kind { none, redraw, quit, attach, resume, stop, remove, fetch };
  Kind kind = Kind::none;
  std::string bottle;  ///< the bottle acted on (attach, resume, stop, remove, fetch)
  bool operator==(const DashAction&) const = default;
};

/// The dashboard's table is `ls`'s: the same columns (row_columns) and cells.
using DashCells = RowCells;
/// One row's cells: exactly row_cells(row, now).
DashCells dash_cells(const BottleRow& row, std::int64_t now);

class DashboardModel {
 public:
  /// Replace the rows (a refresh). The selection follows the selected bottle by
  /// name; if it vanished, the index is clamped into the new visible range.
  void set_rows(std::vector<BottleRow> rows);
  /// Handle one key (dash_key::* or a printable character).
  DashAction on_key(int key);

  DashMode mode() const { return mode_; }
  const std::string& filter() const { return filter_; }
  /// Rows passing the filter (case-sensitive substring of name, backend, agent,
  /// state, workspace or egress, as row_cells() shows them, or of the clone-mode
  /// branch), in list order.
  const std::vector<BottleRow>& visible() const { return visible_; }
  const std::vector<BottleRow>& rows() const { return rows_; }
  /// Index into visible(); -1 when nothing is visible.
  int selected_index() const { return selected_; }
  std::optional<BottleRow> selected() const;
  /// The bottle a pending remove confirmation is about.
  const std::string& confirm_target() const { return confirm_target_; }

  /// The bottle whose egress log is open (key `l`); "" outside DashMode::egress_log.
  /// The caller has its records read (off the UI thread) and handed to set_egress_log.
  const std::string& egress_log_bottle() const { return egress_log_bottle_; }
  /// The latest records of `bottle`'s log, oldest first; ignored unless that log is
  /// the open one (a read may arrive after the user moved on).
  void set_egress_log(std::string_view bottle, std::vector<AuditRecord> records);
  /// The open log's records; empty until the first read arrives.
  const std::vector<AuditRecord>& egress_log() const { return egress_log_; }

  /// Scroll window: keep the selection inside [top, top + height) and return top.
  int scroll_top(int height);

  void set_status(std::string text, bool error = false);
  const std::string& status() const { return status_; }
  bool status_is_error() const { return status_error_; }

 private:
  void refilter();
  void move(int delta);
  DashAction on_table_key(int key);
  DashAction on_filter_key(int key);
  DashAction on_confirm_key(int key);
  DashAction on_egress_log_key(int key);
  DashAction act_on_selection(DashAction::Kind kind);

  std::vector<BottleRow> rows_;
  std::vector<BottleRow> visible_;
  int selected_ = -1;
  int top_ = 0;
  int page_ = 10;
  DashMode mode_ = DashMode::table;
  std::string filter_;
  std::string confirm_target_;
  std::string egress_log_bottle_;
  std::vector<AuditRecord> egress_log_;
  std::string status_;
  bool status_error_ = false;
};

}  // namespace bottle
