#pragma once
// The dashboard's background worker: the only place the dashboard talks to
// engines while the UI is up. One thread with its own Runner and its own Bottles
// lists every `interval` (or at once when asked), runs queued stop/remove/fetch
// jobs, reads the egress log the detail view shows and, for clone-mode bottles,
// their clone summaries (every clone_summary_interval, and after a fetch). The UI thread only takes
// a mutex to hand over a job or pick up results, so a slow or unreachable engine
// never blocks a key.
//
//   DashboardWorker worker(host, std::make_unique<SystemRunner>(), dirs);
//   worker.start();
//   if (auto snap = worker.take_snapshot()) model.set_rows(snap->rows);
//   worker.submit(DashboardWorker::Job::stop, "api");

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bottle/egress/egress_audit.hpp"
#include "bottle/ops/bottles.hpp"

namespace bottle {

class CloneSummaries;
class EgressDrains;

class DashboardWorker {
 public:
  /// fetch: fetch_clone (no --into, no WIP commit), reported by fetch_message.
  enum class Job { stop, remove, fetch };

  struct Snapshot {
    std::vector<BottleRow> rows;  ///< the last good list (kept when a refresh fails)
    std::string error;            ///< why the last refresh failed; "" when it worked
  };
  /// One read of a watched bottle's egress log.
  struct EgressLog {
    std::string bottle;
    std::vector<AuditRecord> records;  ///< recent_egress_records, the newest egress_detail_max_records
  };
  struct Message {
    std::string text;
    bool error = false;
    bool operator==(const Message&) const = default;
  };

  /// An empty `factory` means default_backends(host, dirs).
  DashboardWorker(Host host, std::unique_ptr<Runner> runner, StateDirs dirs, BackendFactory factory = {},
                  std::chrono::milliseconds interval = std::chrono::milliseconds(2000));
  ~DashboardWorker();  ///< stops and joins
  DashboardWorker(const DashboardWorker&) = delete;
  DashboardWorker& operator=(const DashboardWorker&) = delete;

  void start();
  /// Finish the thread and wait for it. An engine call in flight is killed
  /// (Runner::cancel), so this returns at once even when the engine hangs; the
  /// runner runs nothing afterwards.
  void stop();
  /// Refresh now instead of at the next tick.
  void request_refresh();
  /// Queue a job; its outcome arrives as a Message, followed by a refresh.
  void submit(Job job, std::string bottle);
  /// The newest snapshot if one arrived since the last call.
  std::optional<Snapshot> take_snapshot();
  std::vector<Message> take_messages();
  /// Read `bottle`'s egress log now and then at every tick, until another bottle or
  /// "" (stop reading) is watched.
  void watch_egress(std::string bottle);
  /// The newest read of the watched log if one arrived since the last call.
  std::optional<EgressLog> take_egress_log();
  /// Completed list() calls so far (for tests and the benchmark).
  std::uint64_t refreshes() const;

 private:
  void run();
  void do_job(Bottles& bottles, Job job, const std::string& name);

  Host host_;
  std::unique_ptr<Runner> runner_;
  StateDirs dirs_;
  BackendFactory factory_;
  std::chrono::milliseconds interval_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool refresh_now_ = true;
  std::deque<std::pair<Job, std::string>> jobs_;
  std::optional<Snapshot> snapshot_;
  std::vector<BottleRow> last_rows_;
  std::vector<Message> messages_;
  std::string watched_;
  bool egress_now_ = false;
  std::optional<EgressLog> egress_log_;
  std::uint64_t refreshes_ = 0;
  /// Per bottle: when its workspace was last compared, and how many changes that
  /// found. A comparison walks the workspace, so it runs at most every
  /// workspace_interval, not at every refresh.
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, std::optional<std::size_t>>> workspace_seen_;
  static constexpr std::chrono::seconds workspace_interval{20};
  std::unique_ptr<CloneSummaries> clones_;  ///< the worker thread's only
  std::unique_ptr<EgressDrains> drains_;    ///< the worker thread's only
  std::thread thread_;
};

}  // namespace bottle
