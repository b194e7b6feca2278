#pragma once
// Clone mode in the dashboard: the worker's cache of clone summaries (read inside
// running bottles every clone_summary_interval, not at every refresh) and the
// status-line messages of the fetch key.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/frontend/dashboard_worker.hpp"
#include "bottle/ops/bottles.hpp"
#include "bottle/ops/clone_ops.hpp"
#include "bottle/ops/clone_summary.hpp"

namespace bottle {

/// Per bottle, the last clone summary and when it was read. Used by one thread (the
/// worker's).
class CloneSummaries {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CloneSummaries(std::chrono::milliseconds interval = clone_summary_interval) : interval_(interval) {}

  /// Set row.clone for every managed row whose spec is in clone mode; other rows
  /// are left alone. A running bottle's clone is read (read_clone_summary: an exec
  /// under the engine's deadline) when it was never read or its last read is at
  /// least `interval` older than `now`; otherwise the last read is shown. A bottle
  /// that is not running shows its branch only (Read::not_read) and is read afresh
  /// once it runs again. A spec that cannot be loaded leaves its row alone.
  void fill(Bottles& bottles, Runner& runner, std::vector<BottleRow>& rows, Clock::time_point now);
  /// Read `name` afresh at the next fill (after a fetch changed what is unfetched).
  void forget(const std::string& name) { seen_.erase(name); }

 private:
  struct Seen {
    Clock::time_point when;
    CloneSummary summary;
  };
  std::chrono::milliseconds interval_;
  std::map<std::string, Seen> seen_;
};

/// The status line after the fetch key worked: describe_fetch's lines joined with
/// "; ", then "; N uncommitted path(s) left in the bottle, not fetched" when some
/// are. Never an error; terminal_safe.
DashboardWorker::Message fetch_message(const BottleSpec& spec, const FetchReport& report);
/// The status line after the fetch key failed: "fetch NAME: WHAT" on one line
/// (newlines become "; "), terminal_safe, an error.
DashboardWorker::Message fetch_error_message(std::string_view name, std::string_view what);

}  // namespace bottle
