#pragma once
// bottle-egress's writer of the audit log (format and files: egress_audit.hpp), the
// C++ counterpart of tests/oracle/egress-addon/bottle_audit.py's AuditLog, same files and rules:
//   * settings from <confdir>/audit.json ({"version": 1, "bottle", "log", "max_bytes"});
//     none there: no log;
//   * one record per line, keys sorted, appended with one write(2) on an O_APPEND
//     descriptor (0600), so a reader never sees half a record unless egress dies
//     mid-write;
//   * rotated when the next line would take the file past max_bytes / 2: the file is
//     renamed to <log>.1 (replacing the older one), so both keep max_bytes at most;
//   * a failure to write loses the record, never the request: reported once, through
//     the warning callback, by reason only.
// Safe to call from several threads.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/unique_fd.hpp"
#include "bottle/egress/egress_audit.hpp"

namespace bottle {

/// The settings in audit.json's text. Throws Error(invalid_input) naming the field:
/// version must be 1, log a plain file name, max_bytes a positive integer.
struct AuditSettings {
  std::string bottle;
  std::string log = "audit.jsonl";
  std::uint64_t max_bytes = default_egress_audit_mib << 20;
  bool operator==(const AuditSettings&) const = default;
};
AuditSettings parse_audit_settings(std::string_view text, std::string_view source);

/// `text` with every occurrence of each secret (a dummy, a real value egress holds)
/// replaced by "[redacted]", longest first so one secret inside another leaves no part
/// of it behind. Empty secrets are ignored. Pure.
std::string redact_secrets(std::string text, std::vector<std::string> secrets);

/// The path of a request as the log keeps it: query string and fragment removed. Pure.
std::string_view audit_bare_path(std::string_view target);

class AuditWriter {
 public:
  using Warn = std::function<void(const std::string& reason)>;

  /// The writer configured in `confdir` (or by `config` when given; the log is
  /// still in confdir), or nullptr when there is no such settings file.
  /// Throws Error(invalid_input) for bad settings, Error(io) when they cannot be read.
  static std::unique_ptr<AuditWriter> from_confdir(const std::filesystem::path& confdir, Warn warn,
                                                   const std::optional<std::string>& config = std::nullopt);

  AuditWriter(std::filesystem::path file, std::string bottle, std::uint64_t max_bytes, Warn warn);

  /// Appends `record` with its bottle set to this log's. Never throws.
  void write(AuditRecord record);

 private:
  void open_log();
  void rotate();

  std::mutex mutex_;
  std::filesystem::path file_;
  std::string bottle_;
  std::uint64_t max_bytes_;
  Warn warn_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  bool warned_ = false;
};

}  // namespace bottle
