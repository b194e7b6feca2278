#include "bottle/frontend/audit_logs.hpp"

#include <fmt/format.h>
#include <fstream>

#include "bottle/core/error.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/spec/spec.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace fs = std::filesystem;

LogsOptions parse_logs_args(const std::vector<std::string>& args, std::string& name) {
  LogsOptions options;
  name.clear();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--egress") continue;
    if (arg == "--follow" || arg == "-f") {
      options.follow = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--since") {
      if (i + 1 >= args.size()) throw Error(ErrorKind::usage, "logs: --since needs a DURATION (e.g. 10m)");
      options.since = parse_since(args[++i]);
    } else if (arg.starts_with("--since=")) {
      options.since = parse_since(std::string_view(arg).substr(8));
    } else if (!arg.empty() && arg.front() == '-') {
      throw Error(ErrorKind::usage, fmt::format("logs: unknown option '{}'", detail::printable(arg)));
    } else if (!name.empty()) {
      throw Error(ErrorKind::usage, fmt::format("logs: takes one bottle name, got '{}' too", detail::printable(arg)));
    } else {
      name = arg;
    }
  }
  if (name.empty()) throw Error(ErrorKind::usage, "logs: missing bottle NAME");
  validate_bottle_name(name, "NAME");
  return options;
}

namespace {

void print(const AuditRecord& record, const LogsOptions& options, std::ostream& out) {
  out << (options.json ? audit_record_json(record) : format_audit_record(record)) << "\n";
}

}  // namespace

void show_egress_log(const StateDirs& dirs, const std::string& name, const LogsOptions& options, std::int64_t now_ms,
                     std::ostream& out, std::ostream& err, Clock& clock, const std::atomic<bool>& stop,
                     std::chrono::milliseconds interval, const std::function<void()>& before_read) {
  if (before_read) before_read();
  std::optional<std::int64_t> since_ms;
  if (options.since) since_ms = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(*options.since).count();
  const fs::path log = egress_audit_log(dirs, name);
  fs::path rotated = log;
  rotated += ".1";
  // One line of `source`: printed when it is a record in the window, else skipped with a warning.
  const auto handle = [&](const std::string& line, const std::string& source, std::size_t number, bool complete) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    const auto record = parse_audit_record(line);
    if (!record)
      err << fmt::format("bottle-cli: warning: {}: line {}: {}, skipped\n", source, number,
                         complete ? "not an audit record" : "truncated record");
    else if (!since_ms || record->time_ms >= *since_ms) print(*record, options, out);
  };
  // The rotated file is read as a stream: it may be far larger than what read_file allows.
  if (std::ifstream in(rotated, std::ios::binary); in) {
    std::size_t number = 0;
    for (std::string line; std::getline(in, line);) handle(line, rotated.filename().string(), ++number, !in.eof());
  }
  // The current file goes through the tail, so --follow continues exactly where this read stopped.
  AuditTail tail(log);
  const std::string source = log.filename().string();
  std::size_t number = 0;
  const auto drain = [&] {
    for (const auto& line : tail.poll()) handle(line, source, ++number, true);
    out.flush();
  };
  drain();
  while (options.follow && !stop.load()) {
    clock.sleep_for(interval);
    if (before_read) before_read();
    drain();
  }
  // A last line without its newline: egress died while writing it.
  if (tail.pending())
    err << fmt::format("bottle-cli: warning: {}: line {}: truncated record, skipped\n", source, number + 1);
}

}  // namespace bottle
