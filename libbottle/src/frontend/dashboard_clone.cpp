#include "bottle/frontend/dashboard_clone.hpp"

#include <fmt/format.h>
#include <exception>
#include <set>

#include "bottle/frontend/terminal_text.hpp"

namespace bottle {

namespace {

// The status line is one line; what git printed in the bottle may span several.
std::string one_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += "; ";
    else if (c == '\t') out += ' ';
    else out += c;
  }
  return terminal_safe(out);
}

}  // namespace

void CloneSummaries::fill(Bottles& bottles, Runner& runner, std::vector<BottleRow>& rows, Clock::time_point now) {
  std::set<std::string> present;
  for (auto& row : rows) {
    if (!row.managed) continue;
    BottleSpec spec;
    try {
      spec = bottles.spec(row.name);
    } catch (const std::exception&) { continue; }  // removed between list() and here
    if (!spec.repo) continue;
    present.insert(row.name);
    if (row.state != EngineState::running) {
      row.clone = CloneSummary{.branch = spec.repo->branch};
      seen_.erase(row.name);
      continue;
    }
    const auto known = seen_.find(row.name);
    if (known == seen_.end() || now - known->second.when >= interval_) {
      CloneSummary summary;
      try {
        summary = read_clone_summary(runner, bottles.backend(spec.backend), spec);
      } catch (const std::exception&) {
        summary = CloneSummary{.branch = spec.repo->branch, .read = CloneSummary::Read::failed};
      }
      seen_[row.name] = Seen{now, summary};
    }
    row.clone = seen_[row.name].summary;
  }
  // A bottle removed and created again under its name starts afresh.
  std::erase_if(seen_, [&](const auto& entry) { return !present.contains(entry.first); });
}

DashboardWorker::Message fetch_message(const BottleSpec& spec, const FetchReport& report) {
  std::string text = one_line(describe_fetch(spec, report));
  if (report.uncommitted > 0)
    text += fmt::format("; {} uncommitted path{} left in the bottle, not fetched", report.uncommitted,
                        report.uncommitted == 1 ? "" : "s");
  return {text, false};
}

DashboardWorker::Message fetch_error_message(std::string_view name, std::string_view what) {
  return {one_line(fmt::format("fetch {}: {}", name, what)), true};
}

}  // namespace bottle
