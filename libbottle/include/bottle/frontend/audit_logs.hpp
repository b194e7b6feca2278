#pragma once
// `bottle-cli logs NAME [--egress] [--follow] [--since DURATION] [--json]`: a bottle's
// egress audit log (egress_audit.hpp), oldest first, the rotated file before the
// current one. Corrupt lines are skipped with a warning on `err`, never fatal.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bottle/core/host.hpp"
#include "bottle/core/state.hpp"

namespace bottle {

struct LogsOptions {
  bool follow = false;
  bool json = false;  ///< JSON lines instead of human-readable lines
  std::optional<std::chrono::seconds> since;
  bool operator==(const LogsOptions&) const = default;
};

/// The options after NAME's command word: `--egress` (the default and, for now, only
/// log), `--follow`/`-f`, `--since DURATION` or `--since=DURATION`, `--json`, and
/// exactly one NAME (stored in `name`). Throws Error(usage) for unknown or missing
/// arguments, Error(invalid_input) for a bad duration.
LogsOptions parse_logs_args(const std::vector<std::string>& args, std::string& name);

/// Print bottle `name`'s audit records (since `now_ms` - options.since, when given)
/// to `out`, warnings to `err`. With options.follow it then prints records as egress
/// appends them, polling every `interval` on `clock`, until `stop` is set. The caller
/// checks that the bottle exists; a bottle whose egress never wrote a record prints
/// nothing. `before_read`, when given, runs before the log is read and before each
/// poll (it brings a cluster egress's records to the host: Bottles::drain_egress_audit).
void show_egress_log(const StateDirs& dirs, const std::string& name, const LogsOptions& options, std::int64_t now_ms,
                     std::ostream& out, std::ostream& err, Clock& clock, const std::atomic<bool>& stop,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(500),
                     const std::function<void()>& before_read = {});

}  // namespace bottle
