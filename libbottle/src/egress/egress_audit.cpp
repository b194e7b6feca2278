#include "bottle/egress/egress_audit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <ctime>
#include <fstream>
#include <iterator>
#include <limits>

#include "bottle/core/error.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Digits at s[at, at+n) as a number, or -1.
int digits(std::string_view s, std::size_t at, std::size_t n) {
  int value = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" -> milliseconds since the epoch.
std::optional<std::int64_t> parse_time(std::string_view t) {
  if (t.size() != 24 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != '.' ||
      t[23] != 'Z')
    return std::nullopt;
  const int year = digits(t, 0, 4), month = digits(t, 5, 2), day = digits(t, 8, 2);
  const int hour = digits(t, 11, 2), minute = digits(t, 14, 2), second = digits(t, 17, 2), millis = digits(t, 20, 3);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      millis < 0)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(seconds) * 1000 + millis;
}

bool get_string(const json::object& o, std::string_view key, std::string& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return false;
  out = std::string(v->get_string());
  return true;
}

bool get_int(const json::object& o, std::string_view key, std::int64_t& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return false;
  if (v->is_int64()) out = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    out = static_cast<std::int64_t>(v->get_uint64());
  else return false;
  return out >= 0;
}

std::string shown(std::string_view text) { return detail::printable(text, 512); }

std::string bytes_text(std::int64_t n) {
  constexpr std::int64_t kib = 1024, mib = kib * kib;
  if (n < 10 * kib) return fmt::format("{} B", n);
  if (n < 10 * mib) return fmt::format("{} KiB", n / kib);
  return fmt::format("{} MiB", n / mib);
}

}  // namespace

std::optional<AuditRecord> parse_audit_record(std::string_view line) {
  boost::system::error_code ec;
  const json::value doc = json::parse(line, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const json::object& o = doc.get_object();
  AuditRecord r;
  const bool ok = get_string(o, "time", r.time) && get_string(o, "bottle", r.bottle) &&
                  get_string(o, "method", r.method) && get_string(o, "host", r.host) && get_int(o, "port", r.port) &&
                  get_string(o, "path", r.path) && get_int(o, "status", r.status) &&
                  get_int(o, "bytes_up", r.bytes_up) && get_int(o, "bytes_down", r.bytes_down) &&
                  get_int(o, "duration_ms", r.duration_ms) && get_string(o, "route", r.route) &&
                  get_string(o, "action", r.action) && get_string(o, "reason", r.reason);
  if (!ok) return std::nullopt;
  const auto ms = parse_time(r.time);
  if (!ms) return std::nullopt;
  r.time_ms = *ms;
  return r;
}

std::string audit_record_json(const AuditRecord& r) {
  // Inserted in sorted key order, as the addon writes them.
  const json::object o{{"action", r.action},
                       {"bottle", r.bottle},
                       {"bytes_down", r.bytes_down},
                       {"bytes_up", r.bytes_up},
                       {"duration_ms", r.duration_ms},
                       {"host", r.host},
                       {"method", r.method},
                       {"path", r.path},
                       {"port", r.port},
                       {"reason", r.reason},
                       {"route", r.route},
                       {"status", r.status},
                       {"time", r.time}};
  return json::serialize(o);
}

std::string format_audit_record(const AuditRecord& r) {
  std::string line =
      fmt::format("{}  {:<8}  {:>3}  {} {}:{}{}  up {}  down {}  {} ms", shown(r.time), shown(r.action),
                  r.status == 0 ? std::string("-") : std::to_string(r.status), shown(r.method), shown(r.host), r.port,
                  shown(r.path), bytes_text(r.bytes_up), bytes_text(r.bytes_down), r.duration_ms);
  if (!r.route.empty()) line += "  route " + shown(r.route);
  if (!r.reason.empty()) line += "  (" + shown(r.reason) + ")";
  return line;
}

std::chrono::seconds parse_since(std::string_view text, std::string_view field) {
  const auto bad = [&]() -> std::chrono::seconds {
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: '{}' is not a duration (e.g. 30s, 5m, 2h, 1d or 1h30m)", field, shown(text)));
  };
  constexpr std::int64_t limit = 10LL * 366 * 24 * 3600;
  std::int64_t total = 0;
  std::size_t i = 0;
  if (text.empty()) bad();
  while (i < text.size()) {
    std::int64_t number = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data() + i || end == text.data() + text.size() || number > limit) bad();
    i = static_cast<std::size_t>(end - text.data());
    std::int64_t unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: bad();
    }
    ++i;
    total += number * unit;
    if (total > limit) bad();
  }
  if (total <= 0) bad();
  return std::chrono::seconds(total);
}

AuditLines parse_audit_lines(std::string_view text, std::string_view source, std::optional<std::int64_t> since_ms) {
  AuditLines out;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    const bool complete = nl != std::string_view::npos;
    text.remove_prefix(complete ? nl + 1 : text.size());
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto record = parse_audit_record(line);
    if (!record) {
      out.warnings.push_back(fmt::format("{}: line {}: {}, skipped", source, number,
                                         complete ? "not an audit record" : "truncated record"));
      continue;
    }
    if (since_ms && record->time_ms < *since_ms) continue;
    out.records.push_back(std::move(*record));
  }
  return out;
}

EgressActivity summarize_egress_activity(const std::vector<AuditRecord>& records, std::int64_t now_ms) {
  EgressActivity activity;
  for (const auto& r : records) {
    if (r.time_ms <= now_ms - egress_activity_window_ms || r.time_ms > now_ms) continue;
    ++activity.requests;
    if (r.action == "blocked" || r.action == "refused") ++activity.blocked;
  }
  return activity;
}

namespace {

// The last `max` bytes of `path`, from the first line that starts inside them; "" when unreadable.
std::string tail_of(const fs::path& path, std::uint64_t max) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  const std::uint64_t start = size > max ? size - max : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (start > 0) {
    const auto nl = data.find('\n');
    data.erase(0, nl == std::string::npos ? data.size() : nl + 1);
  }
  return data;
}

}  // namespace

EgressActivity recent_egress_activity(const StateDirs& dirs, std::string_view name, std::int64_t now_ms) {
  return summarize_egress_activity(recent_egress_records(dirs, name), now_ms);
}

std::vector<AuditRecord> recent_egress_records(const StateDirs& dirs, std::string_view name) {
  constexpr std::uint64_t max_bytes = std::uint64_t{256} * 1024;
  const fs::path log = egress_audit_log(dirs, name);
  fs::path rotated = log;
  rotated += ".1";
  // The rotated file still counts right after a rotation.
  std::vector<AuditRecord> records = parse_audit_lines(tail_of(rotated, max_bytes), "", std::nullopt).records;
  auto current = parse_audit_lines(tail_of(log, max_bytes), "", std::nullopt).records;
  records.insert(records.end(), current.begin(), current.end());
  return records;
}

fs::path egress_audit_dir(const StateDirs& dirs, std::string_view name) {
  return dirs.bottle_state_dir(name) / "egress" / "conf";
}

fs::path egress_audit_log(const StateDirs& dirs, std::string_view name) {
  return egress_audit_dir(dirs, name) / "audit.jsonl";
}

std::string render_egress_audit_config(std::string_view name, std::uint64_t max_bytes) {
  const json::object o{{"bottle", name}, {"log", "audit.jsonl"}, {"max_bytes", max_bytes}, {"version", 1}};
  return json::serialize(o) + "\n";
}

std::uint64_t egress_audit_max_bytes(const Host& host) {
  const std::string text = host.env_or(Var::bottle_egress_audit_mib, "");
  if (text.empty()) return default_egress_audit_mib * 1024 * 1024;
  std::uint64_t mib = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mib);
  if (ec != std::errc() || end != text.data() + text.size() || mib < 1 || mib > 1024)
    throw Error(ErrorKind::invalid_input, "environment variable BOTTLE_EGRESS_AUDIT_MIB: must be an integer 1-1024");
  return mib * 1024 * 1024;
}

void write_egress_audit_config(const StateDirs& dirs, std::string_view name, std::uint64_t max_bytes) {
  write_file_atomic(egress_audit_dir(dirs, name) / "audit.json", render_egress_audit_config(name, max_bytes), 0600);
}

AuditTail::AuditTail(fs::path file) : file_(std::move(file)) {}

namespace {

// The bytes of `path` from `offset` on, and its inode; nullopt when it cannot be opened.
std::optional<std::pair<std::string, std::uint64_t>> read_from(const fs::path& path, std::uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::string data;
  if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > offset &&
      ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) >= 0) {
    char buffer[65536];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) data.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::make_pair(std::move(data), static_cast<std::uint64_t>(st.st_ino));
}

}  // namespace

std::vector<std::string> AuditTail::poll() {
  std::string data;
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return {};
  const auto inode = static_cast<std::uint64_t>(st.st_ino);
  if (inode_ != 0 && (inode != inode_ || static_cast<std::uint64_t>(st.st_size) < offset_)) {
    // Rotated: what was written to the old file since the last poll is now in <file>.1.
    fs::path previous = file_;
    previous += ".1";
    if (const auto old = read_from(previous, offset_); old && old->second == inode_) data = old->first;
    if (!data.empty() && data.back() != '\n') data += '\n';  // a torn last line stays its own line
    offset_ = 0;
  }
  const auto now = read_from(file_, offset_);
  if (!now) return {};
  inode_ = now->second;
  offset_ += now->first.size();
  data += now->first;
  partial_ += data;
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.emplace_back(partial_.substr(start, nl - start));
  partial_.erase(0, start);
  return lines;
}

}  // namespace bottle
