#include "bottle/egress/audit_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

constexpr std::string_view redacted = "[redacted]";
constexpr std::uint64_t smallest_max_bytes = 4096;  // as the addon: a log holds a few records at least

[[noreturn]] void bad_setting(std::string_view source, std::string field, std::string problem) {
  throw Error(ErrorKind::invalid_input, std::move(field), std::move(problem), source);
}

}  // namespace

AuditSettings parse_audit_settings(std::string_view text, std::string_view source) {
  json::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) bad_setting(source, "$", "must be a JSON object");
  const json::object& o = doc.as_object();
  const json::value* version = o.if_contains("version");
  if (version == nullptr || !version->is_int64() || version->as_int64() != 1)
    bad_setting(source, "$.version", "must be 1");
  AuditSettings settings;
  if (const json::value* bottle = o.if_contains("bottle")) {
    if (!bottle->is_string()) bad_setting(source, "$.bottle", "must be a string");
    settings.bottle = bottle->as_string();
  }
  if (const json::value* log = o.if_contains("log")) {
    if (!log->is_string()) bad_setting(source, "$.log", "must be a string");
    settings.log = log->as_string();
    if (settings.log.empty() || settings.log == "." || settings.log == ".." ||
        settings.log.find('/') != std::string::npos)
      bad_setting(source, "$.log", "must be a file name");
  }
  if (const json::value* max_bytes = o.if_contains("max_bytes")) {
    if (!max_bytes->is_int64() || max_bytes->as_int64() <= 0)
      bad_setting(source, "$.max_bytes", "must be a positive integer");
    settings.max_bytes = static_cast<std::uint64_t>(max_bytes->as_int64());
  }
  return settings;
}

std::string redact_secrets(std::string text, std::vector<std::string> secrets) {
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + redacted.size()))
      text.replace(at, secret.size(), redacted);
  }
  return text;
}

std::string_view audit_bare_path(std::string_view target) { return target.substr(0, target.find_first_of("?#")); }

std::unique_ptr<AuditWriter> AuditWriter::from_confdir(const std::filesystem::path& confdir, Warn warn,
                                                       const std::optional<std::string>& config_file) {
  const std::filesystem::path config = config_file ? std::filesystem::path(*config_file) : confdir / "audit.json";
  std::string text;
  try {
    text = read_file(config);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) return nullptr;
    throw;
  }
  const AuditSettings settings = parse_audit_settings(text, config.string());
  return std::make_unique<AuditWriter>(confdir / settings.log, settings.bottle, settings.max_bytes, std::move(warn));
}

AuditWriter::AuditWriter(std::filesystem::path file, std::string bottle, std::uint64_t max_bytes, Warn warn)
    : file_(std::move(file)),
      bottle_(std::move(bottle)),
      max_bytes_(std::max(max_bytes, smallest_max_bytes)),
      warn_(std::move(warn)) {}

void AuditWriter::open_log() {
  UniqueFd fd(::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw Error(ErrorKind::io, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(ErrorKind::io, std::strerror(errno));
  fd_ = std::move(fd);
  size_ = static_cast<std::uint64_t>(st.st_size);
}

void AuditWriter::rotate() {
  fd_.reset();
  std::filesystem::path previous = file_;
  previous += ".1";
  if (::rename(file_.c_str(), previous.c_str()) != 0) throw Error(ErrorKind::io, std::strerror(errno));
  open_log();
}

void AuditWriter::write(AuditRecord record) {
  record.bottle = bottle_;
  const std::string line = audit_record_json(record) + "\n";
  const std::lock_guard<std::mutex> hold(mutex_);
  try {
    if (fd_.get() < 0) open_log();
    if (size_ != 0 && size_ + line.size() > max_bytes_ / 2) rotate();
    const ssize_t n = ::write(fd_.get(), line.data(), line.size());
    if (n < 0) throw Error(ErrorKind::io, std::strerror(errno));
    if (static_cast<std::size_t>(n) != line.size()) throw Error(ErrorKind::io, "short write");
    size_ += line.size();
  } catch (const Error& e) {
    fd_.reset();  // the next record opens the file again
    if (!warned_ && warn_) {
      warned_ = true;
      warn_(e.what());
    }
  }
}

}  // namespace bottle
