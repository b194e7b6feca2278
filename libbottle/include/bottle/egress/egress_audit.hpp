#pragma once
// The egress audit log: one JSON line per request or connection a bottle makes
// through egress, written by the egress addon (tests/oracle/egress-addon/bottle_audit.py)
// into the bottle's state directory, and read back by `bottle-cli logs`.
//
//   <state>/bottles/NAME/egress/conf/audit.json     the addon's settings (bottle writes it
//                                                   at every start; egress reads it once)
//   <state>/bottles/NAME/egress/conf/audit.jsonl    the log (0600)
//   <state>/bottles/NAME/egress/conf/audit.jsonl.1  the previous one, after a rotation
// The conf directory is the one egress already writes to (the container mounts it),
// so every placement (container, host process) writes the same place. The addon
// rotates the log when it would pass max_bytes / 2, so both files together hold the
// last max_bytes at most (BOTTLE_EGRESS_AUDIT_MIB, default 16 MiB).
//
// A record (keys sorted, one line):
//   {"action":"injected","bottle":"demo","bytes_down":512,"bytes_up":0,"duration_ms":12,
//    "host":"chatgpt.com","method":"GET","path":"/models","port":443,
//    "reason":"credential swapped","route":"codex","status":200,"time":"2026-12-03T01:59:00.123Z"}
// action: injected | blocked | broker | tunneled (forwarded unchanged) | refused (egress
// or its parent proxy would not connect; status 0). The path never has a query string;
// no header value, dummy or real token is ever recorded.
//
// Everything here except the file functions is pure.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/host.hpp"
#include "bottle/core/state.hpp"

namespace bottle {

/// The log size kept when BOTTLE_EGRESS_AUDIT_MIB is unset.
inline constexpr std::uint64_t default_egress_audit_mib = 16;

struct AuditRecord {
  std::string time;          ///< UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"
  std::int64_t time_ms = 0;  ///< the same, in milliseconds since the epoch
  std::string bottle;
  std::string method;
  std::string host;
  std::int64_t port = 0;
  std::string path;
  std::int64_t status = 0;  ///< 0: no answer (refused)
  std::int64_t bytes_up = 0;
  std::int64_t bytes_down = 0;
  std::int64_t duration_ms = 0;
  std::string route;
  std::string action;
  std::string reason;
  bool operator==(const AuditRecord&) const = default;
};

/// The record on `line` (without its newline), or nullopt when it is not one: not
/// JSON, not an object, a field missing or of the wrong type, a bad time. Never throws.
std::optional<AuditRecord> parse_audit_record(std::string_view line);

/// The record as one JSON line (no newline), keys sorted like the addon writes them.
std::string audit_record_json(const AuditRecord& record);

/// One human-readable line (no newline); control bytes in any field are escaped:
///   2026-12-03T01:59:00.123Z  injected  200  GET chatgpt.com:443/models  up 0 B  down 512 B  12 ms
///   route codex  (credential swapped)
/// (one line; route omitted when empty, status shown as "-" when 0).
std::string format_audit_record(const AuditRecord& record);

/// A `--since` duration: one or more NUMBER UNIT groups ("30s", "5m", "2h", "1d",
/// "1h30m"), more than zero in total, at most 10 years. Throws Error(invalid_input)
/// naming `field`.
std::chrono::seconds parse_since(std::string_view text, std::string_view field = "--since");

struct AuditLines {
  std::vector<AuditRecord> records;
  std::vector<std::string> warnings;  ///< one per skipped line: "<source>: line N: ..."
};

/// The records in `text` (one file's contents) at or after `since_ms` (when given).
/// A corrupt line (e.g. half written at a crash) is skipped with a warning naming
/// `source` and its line number, never the line's content; blank lines are ignored.
AuditLines parse_audit_lines(std::string_view text, std::string_view source,
                             std::optional<std::int64_t> since_ms = std::nullopt);

/// What a bottle did through egress lately (the dashboard's per-bottle figures).
struct EgressActivity {
  std::size_t requests = 0;  ///< records in the window
  std::size_t blocked = 0;   ///< of those, action "blocked" or "refused"
  bool operator==(const EgressActivity&) const = default;
};

/// The window EgressActivity counts: the last minute.
inline constexpr std::int64_t egress_activity_window_ms = 60'000;

/// Count `records` with now_ms - egress_activity_window_ms < time_ms <= now_ms.
EgressActivity summarize_egress_activity(const std::vector<AuditRecord>& records, std::int64_t now_ms);

/// The same over bottle `name`'s log files, reading at most their last 256 KiB each
/// (far more than a minute of an agent's requests); corrupt lines are not counted.
/// No log yet: zero. Never throws for a missing or unreadable file.
EgressActivity recent_egress_activity(const StateDirs& dirs, std::string_view name, std::int64_t now_ms);

/// Bottle `name`'s latest records, oldest first (the rotated file before the current
/// one), from at most the last 256 KiB of each log file, so a huge log cannot stall a
/// caller; corrupt lines are skipped. No log yet, or unreadable: none. Never throws.
std::vector<AuditRecord> recent_egress_records(const StateDirs& dirs, std::string_view name);

/// Where the audit files of bottle `name` live (the egress conf directory).
std::filesystem::path egress_audit_dir(const StateDirs& dirs, std::string_view name);
/// The current log file.
std::filesystem::path egress_audit_log(const StateDirs& dirs, std::string_view name);

/// The addon's settings file (deterministic, trailing newline):
///   {"bottle": "demo", "log": "audit.jsonl", "max_bytes": 16777216, "version": 1}
std::string render_egress_audit_config(std::string_view name, std::uint64_t max_bytes);

/// BOTTLE_EGRESS_AUDIT_MIB as bytes: an integer 1-1024, default 16 (`logs` holds the current
/// file, at most half of it, in memory). Throws
/// Error(invalid_input) naming the variable.
std::uint64_t egress_audit_max_bytes(const Host& host);

/// Write the settings file (atomically, 0600) for bottle `name`. Throws Error(io).
void write_egress_audit_config(const StateDirs& dirs, std::string_view name, std::uint64_t max_bytes);

/// Reads the lines appended to one log file, following it across rotations: after a
/// rotation (the file is replaced: another inode, or it shrank) the new file is read
/// from its start. A last line without its newline yet is held back until it has one.
class AuditTail {
 public:
  /// Starts at the beginning of `file` (which need not exist yet).
  explicit AuditTail(std::filesystem::path file);
  /// The complete lines (without newlines) appended since the last call.
  std::vector<std::string> poll();
  /// Bytes of a last line still waiting for its newline.
  std::size_t pending() const { return partial_.size(); }

 private:
  std::filesystem::path file_;
  std::uint64_t inode_ = 0;
  std::uint64_t offset_ = 0;
  std::string partial_;
};

}  // namespace bottle
