#include "bottle/frontend/dashboard_worker.hpp"

#include <chrono>
#include <exception>
#include <utility>

#include "bottle/core/error.hpp"
#include "bottle/frontend/dashboard_clone.hpp"
#include "bottle/frontend/egress_detail.hpp"
#include "bottle/frontend/egress_drains.hpp"

namespace bottle {

DashboardWorker::DashboardWorker(Host host, std::unique_ptr<Runner> runner, StateDirs dirs, BackendFactory factory,
                                 std::chrono::milliseconds interval)
    : host_(std::move(host)),
      runner_(std::move(runner)),
      dirs_(std::move(dirs)),
      factory_(std::move(factory)),
      interval_(interval),
      clones_(std::make_unique<CloneSummaries>()),
      drains_(std::make_unique<EgressDrains>()) {}

DashboardWorker::~DashboardWorker() { stop(); }

void DashboardWorker::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void DashboardWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // An engine call in flight (a hung dockerd) must not hold the join: killing it
  // makes the call return at once, and every later one fails without running.
  if (thread_.joinable()) runner_->cancel();
  if (thread_.joinable()) thread_.join();
}

void DashboardWorker::request_refresh() {
  {
    std::lock_guard lock(mutex_);
    refresh_now_ = true;
  }
  wake_.notify_all();
}

void DashboardWorker::submit(Job job, std::string bottle) {
  {
    std::lock_guard lock(mutex_);
    jobs_.emplace_back(job, std::move(bottle));
  }
  wake_.notify_all();
}

std::optional<DashboardWorker::Snapshot> DashboardWorker::take_snapshot() {
  std::lock_guard lock(mutex_);
  auto taken = std::move(snapshot_);
  snapshot_.reset();
  return taken;
}

std::vector<DashboardWorker::Message> DashboardWorker::take_messages() {
  std::lock_guard lock(mutex_);
  return std::exchange(messages_, {});
}

void DashboardWorker::watch_egress(std::string bottle) {
  {
    std::lock_guard lock(mutex_);
    watched_ = std::move(bottle);
    egress_now_ = !watched_.empty();
    egress_log_.reset();
  }
  wake_.notify_all();
}

std::optional<DashboardWorker::EgressLog> DashboardWorker::take_egress_log() {
  std::lock_guard lock(mutex_);
  auto taken = std::move(egress_log_);
  egress_log_.reset();
  return taken;
}

std::uint64_t DashboardWorker::refreshes() const {
  std::lock_guard lock(mutex_);
  return refreshes_;
}

void DashboardWorker::do_job(Bottles& bottles, Job job, const std::string& name) {
  Message message;
  try {
    if (job == Job::stop) {
      bottles.stop(name);
      message.text = "stopped " + name;
    } else if (job == Job::fetch) {
      const BottleSpec spec = bottles.spec(name);
      // Whatever happened, the clone's next read is a fresh one (commits may have
      // landed on the host even when a later step failed).
      clones_->forget(name);
      message = fetch_message(spec, fetch_clone(*runner_, bottles.backend(spec.backend), spec, dirs_, {}));
    } else {
      // The user confirmed with y, so a running bottle is removed too.
      bottles.remove(name, /*force=*/true);
      message.text = "removed " + name;
    }
  } catch (const std::exception& e) {
    if (job == Job::fetch) message = fetch_error_message(name, e.what());
    else message = {std::string(job == Job::stop ? "stop " : "remove ") + name + ": " + e.what(), true};
  }
  std::lock_guard lock(mutex_);
  messages_.push_back(std::move(message));
  refresh_now_ = true;
}

// Everything here is caught: an engine failure becomes a snapshot error or a
// message for the status line, never an exception escaping a thread
// (which would terminate the process with the terminal still in curses mode).
void DashboardWorker::run() {
  std::unique_ptr<Bottles> bottles;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!jobs_.empty()) {
      auto [job, name] = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      try {
        if (!bottles) bottles = std::make_unique<Bottles>(host_, *runner_, dirs_, factory_);
        do_job(*bottles, job, name);
      } catch (const std::exception& e) {
        std::lock_guard relock(mutex_);
        messages_.push_back({e.what(), true});
      }
      lock.lock();
      continue;
    }
    // Before the engine refresh: a file read, so the open log shows at once.
    if (egress_now_) {
      egress_now_ = false;
      EgressLog read{watched_, {}};
      lock.unlock();
      try {
        read.records = recent_egress_records(dirs_, read.bottle);
        if (read.records.size() > egress_detail_max_records)
          read.records.erase(read.records.begin(),
                             read.records.end() - static_cast<std::ptrdiff_t>(egress_detail_max_records));
      } catch (const std::exception&) {
        read.records.clear();  // out of memory: shown as no records rather than ending the thread
      }
      lock.lock();
      if (read.bottle == watched_) egress_log_ = std::move(read);
      continue;
    }
    if (refresh_now_) {
      refresh_now_ = false;
      lock.unlock();
      Snapshot snap;
      try {
        if (!bottles) bottles = std::make_unique<Bottles>(host_, *runner_, dirs_, factory_);
        snap.rows = bottles->list();
        // What protection could not prevent, per bottle, so the table shows it.
        const auto now = std::chrono::steady_clock::now();
        for (auto& row : snap.rows) {
          if (!row.managed) continue;
          auto& [when, count] = workspace_seen_[row.name];
          if (when == std::chrono::steady_clock::time_point{} || now - when >= workspace_interval) {
            when = now;
            try {
              count = bottles->workspace_changes(row.name).size();
            } catch (const std::exception&) {
              count.reset();  // unknown; `check --workspace` says why
            }
          }
          row.workspace_changes = count;
        }
        // Clone mode: branch, ahead, dirty, unfetched (an exec per running bottle, so not every refresh).
        clones_->fill(*bottles, *runner_, snap.rows, now);
        // Requests through egress in the last minute, from each bottle's audit log
        // (a cluster egress's records drained into it first).
        drains_->drain(*bottles, snap.rows, now);
        const auto wall_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        for (auto& row : snap.rows)
          if (row.managed && row.egress == EgressState::on)
            row.egress_activity = recent_egress_activity(dirs_, row.name, wall_ms);
      } catch (const std::exception& e) { snap.error = e.what(); }
      lock.lock();
      ++refreshes_;
      if (snap.error.empty()) last_rows_ = snap.rows;
      else snap.rows = last_rows_;
      snapshot_ = std::move(snap);
      continue;
    }
    wake_.wait_for(lock, interval_, [this] { return stopping_ || refresh_now_ || egress_now_ || !jobs_.empty(); });
    if (!stopping_ && jobs_.empty() && !egress_now_) {
      refresh_now_ = true;
      egress_now_ = !watched_.empty();
    }
  }
}

}  // namespace bottle
