#include "bottle/egress/audit_drain.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/core/unique_fd.hpp"
#include "bottle/egress/audit_writer.hpp"
#include "core/ascii_text.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view state_file = "audit.drained";

// Appends the complete lines of `file` past what `before` says was read, and notes
// in `after` how far that is now.
void drain_file(const fs::path& file, const AuditDrainState& before, AuditDrainState& after, std::string& out) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return;
    throw Error(ErrorKind::io, fmt::format("audit-drain: cannot open {}: {}", file.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(ErrorKind::io, fmt::format("audit-drain: {} is not a regular file", file.string()));
  const auto inode = static_cast<std::uint64_t>(st.st_ino);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t start = 0;
  if (const auto it = before.find(inode); it != before.end() && it->second <= size) start = it->second;
  std::string text(size - start, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::pread(fd.get(), text.data() + got, text.size() - got, static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(ErrorKind::io, fmt::format("audit-drain: cannot read {}: {}", file.string(), std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  const std::size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  out.append(text, 0, complete);
  after[inode] = start + complete;
}

}  // namespace

std::string render_audit_drain_state(const AuditDrainState& state) {
  std::string out;
  for (const auto& [inode, offset] : state) out += fmt::format("{} {}\n", inode, offset);
  return out;
}

AuditDrainState parse_audit_drain_state(std::string_view text) {
  AuditDrainState state;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return {};
    const auto inode = parse_decimal(line.substr(0, space));
    const auto offset = parse_decimal(line.substr(space + 1));
    if (!inode || !offset) return {};
    state[*inode] = *offset;
  }
  return state;
}

std::string drain_audit_log(const fs::path& confdir) {
  std::string log_name = "audit.jsonl";
  try {
    const fs::path config = confdir / "audit.json";
    log_name = parse_audit_settings(read_file(config), config.string()).log;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found) throw;
  }
  AuditDrainState before;
  try {
    before = parse_audit_drain_state(read_file(confdir / state_file));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found) throw;
  }
  const fs::path log = confdir / log_name;
  fs::path rotated = log;
  rotated += ".1";
  // The older file first, so records come out in the order they were written.
  AuditDrainState after;
  std::string out;
  drain_file(rotated, before, after, out);
  drain_file(log, before, after, out);
  write_file_atomic(confdir / state_file, render_audit_drain_state(after), 0600);
  return out;
}

fs::path parse_audit_drain_args(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "--confdir")
    throw Error(ErrorKind::usage, "audit-drain: needs exactly --confdir DIR");
  if (args[1].empty() || args[1].front() != '/')
    throw Error(ErrorKind::usage, "audit-drain: --confdir must be an absolute path");
  return args[1];
}

}  // namespace bottle
