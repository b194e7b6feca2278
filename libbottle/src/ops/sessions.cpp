#include "bottle/ops/sessions.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include "bottle/core/error.hpp"
#include "bottle/core/unique_fd.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

// Runs as the agent user in its home. Each file is copied before it is measured
// and sent, so an agent still appending to it cannot make SIZE and CONTENT disagree.
// Names with a newline split into names that are not there (skipped) or repeat
// one that is (the host keeps the first).
constexpr std::string_view export_script = R"(home=$1; max=$2; shift 2
cd "$home" 2>/dev/null || { echo E; exit 0; }
tmp=$(mktemp -d) || exit 3
trap 'rm -rf "$tmp"' EXIT
for root in "$@"; do
  [ -L "$root" ] && continue
  [ -e "$root" ] || continue
  find "$root" -type f 2>/dev/null
done | {
  total=0
  while IFS= read -r f; do
    rm -f "$tmp/f"
    cp -P -- "$f" "$tmp/f" 2>/dev/null || continue
    if [ -L "$tmp/f" ] || [ ! -f "$tmp/f" ]; then continue; fi
    size=$(wc -c < "$tmp/f") || continue
    size=$((size + 0))
    total=$((total + size))
    if [ "$total" -gt "$max" ]; then echo O; exit 0; fi
    mtime=$(stat -c %Y -- "$f" 2>/dev/null) || mtime=0
    n=$(printf %s "$f" | wc -c)
    n=$((n + 0))
    printf 'F %s %s %s\n%s' "$n" "$size" "$mtime" "$f"
    cat "$tmp/f"
  done
  echo E
})";

constexpr std::string_view restore_script = R"(cd "$1" && umask 077 && tar -x -o -f -)";

constexpr std::size_t max_session_path = 1024;

[[noreturn]] void malformed(std::string_view what) {
  throw Error(ErrorKind::invalid_input, fmt::format("sessions: the bottle's session export is malformed ({})", what));
}

// A decimal number up to the next `stop` byte at `pos`; advances past the stop.
std::uint64_t read_number(std::string_view text, std::size_t& pos, char stop) {
  const std::size_t end = text.find(stop, pos);
  if (end == std::string_view::npos || end == pos || end - pos > 19) malformed("a bad header");
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end) malformed("a bad header");
  pos = end + 1;
  return value;
}

[[noreturn]] void store_io(std::string_view what, const fs::path& path, int err) {
  throw Error(ErrorKind::io, fmt::format("sessions: could not {} {}: {}", what, path.string(), std::strerror(err)));
}

// Only directories this process made are walked: a directory that is there
// already must be a real one, never a symlink.
void make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return;
  if (errno != EEXIST) store_io("create directory", dir, errno);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(ErrorKind::io, fmt::format("sessions: {} is not a directory", dir.string()));
}

void write_new_file(const fs::path& path, const SessionFile& file) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) store_io("create", path, errno);
  std::string_view rest = file.content;
  while (!rest.empty()) {
    const ssize_t put = ::write(fd.get(), rest.data(), rest.size());
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) store_io("write", path, errno);
    rest.remove_prefix(static_cast<std::size_t>(put));
  }
  const struct timespec times[2] = {{.tv_sec = file.mtime_unix, .tv_nsec = 0},
                                    {.tv_sec = file.mtime_unix, .tv_nsec = 0}};
  if (::futimens(fd.get(), times) != 0) store_io("set the time of", path, errno);
  if (::fsync(fd.get()) != 0) store_io("sync", path, errno);
}

std::string read_regular(const fs::path& path, std::uint64_t budget, std::int64_t& mtime) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) store_io("open", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) store_io("stat", path, errno);
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorKind::invalid_input, fmt::format("sessions: {} is not a regular file", path.string()));
  if (static_cast<std::uint64_t>(st.st_size) > budget)
    throw Error(ErrorKind::invalid_input, fmt::format("sessions: the store holds more than {} MiB (at {})",
                                                      session_store_max_bytes >> 20, path.string()));
  mtime = st.st_mtim.tv_sec;
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) store_io("read", path, errno);
    if (got == 0) break;
    content.append(buffer, static_cast<std::size_t>(got));
    if (content.size() > budget)
      throw Error(ErrorKind::invalid_input, fmt::format("sessions: {} grew while it was read", path.string()));
  }
  return content;
}

fs::path sessions_parent(const StateDirs& dirs) { return dirs.state / "sessions"; }

// A fresh 0700 directory next to the store, named after it (".NAME.new-XXXXXX").
fs::path fresh_dir(const StateDirs& dirs, std::string_view name) {
  make_private_dirs(sessions_parent(dirs));
  std::string temp = (sessions_parent(dirs) / fmt::format(".{}.new-XXXXXX", name)).string();
  if (::mkdtemp(temp.data()) == nullptr) store_io("create a directory in", sessions_parent(dirs), errno);
  return temp;
}

void fill_store(const fs::path& root, AgentKind agent, const std::vector<SessionFile>& files) {
  write_new_file(root / "agent", SessionFile{.path = "agent", .content = std::string(to_string(agent))});
  const fs::path home = root / "home";
  make_dir(home);
  std::set<std::string> written;
  for (const auto& file : files) {
    if (const auto problem = session_path_problem(agent, file.path))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("sessions: refused path {}: {}", detail::printable(file.path), *problem));
    if (!written.insert(file.path).second) continue;
    fs::path dir = home;
    const fs::path relative(file.path);
    for (auto it = relative.begin(); it != relative.end(); ++it) {
      if (std::next(it) == relative.end()) break;
      dir /= *it;
      make_dir(dir);
    }
    write_new_file(home / relative, file);
  }
}

void swap_in(const fs::path& fresh, const fs::path& store) {
  const fs::path old = fresh.string() + ".old";
  const bool had = ::rename(store.c_str(), old.c_str()) == 0;
  if (!had && errno != ENOENT) store_io("move aside", store, errno);
  if (::rename(fresh.c_str(), store.c_str()) != 0) {
    const int err = errno;
    if (had) ::rename(old.c_str(), store.c_str());
    store_io("replace", store, err);
  }
  std::error_code ec;
  fs::remove_all(old, ec);
}

// ---- ustar -------------------------------------------------------------------------
void put_octal(char* field, std::size_t width, std::uint64_t value) {
  // width - 1 digits and a NUL, as every tar reads them.
  const std::string digits = fmt::format("{:0{}o}", value, width - 1);
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

// name (<= 100 bytes) and prefix (<= 155 bytes), split at a '/'; false when it
// does not fit.
bool split_tar_name(std::string_view path, std::string_view& prefix, std::string_view& name) {
  if (path.size() <= 100) {
    prefix = {};
    name = path;
    return true;
  }
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    if (slash > 155) break;
    if (path.size() - slash - 1 <= 100 && slash + 1 < path.size()) {
      prefix = path.substr(0, slash);
      name = path.substr(slash + 1);
      return true;
    }
  }
  return false;
}

void append_header(std::string& out, std::string_view prefix, std::string_view name, char type, unsigned mode,
                   std::uint64_t size, std::int64_t mtime) {
  char block[512] = {};
  name.copy(block, name.size());  // not memcpy: an empty view may have no data()
  put_octal(block + 100, 8, mode);
  put_octal(block + 108, 8, 0);
  put_octal(block + 116, 8, 0);
  put_octal(block + 124, 12, size);
  put_octal(block + 136, 12, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)));
  std::memset(block + 148, ' ', 8);
  block[156] = type;
  std::memcpy(block + 257, "ustar", 6);
  std::memcpy(block + 263, "00", 2);
  prefix.copy(block + 345, prefix.size());
  unsigned sum = 0;
  for (const char c : block) sum += static_cast<unsigned char>(c);
  const std::string checksum = fmt::format("{:06o}", sum);
  std::memcpy(block + 148, checksum.data(), 6);
  block[154] = '\0';
  block[155] = ' ';
  out.append(block, sizeof block);
}

}  // namespace

const std::vector<SessionRoot>& session_roots(AgentKind agent) {
  static const std::vector<SessionRoot> claude = {
      {".claude/projects", true}, {".claude/history.jsonl", false}, {".claude/todos", true}};
  static const std::vector<SessionRoot> codex = {
      {".codex/sessions", true}, {".codex/history.jsonl", false}, {".codex/session_index.jsonl", false}};
  return agent == AgentKind::claude ? claude : codex;
}

fs::path session_store_dir(const StateDirs& dirs, std::string_view name) {
  validate_bottle_name(name);
  return sessions_parent(dirs) / std::string(name);
}

std::optional<std::string> session_path_problem(AgentKind agent, std::string_view path) {
  if (path.empty()) return "empty";
  if (path.size() > max_session_path) return fmt::format("longer than {} bytes", max_session_path);
  if (path.front() == '/') return "not relative";
  if (std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return "a control character";
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return "an empty, '.' or '..' component";
    start = end + 1;
  }
  for (const auto& root : session_roots(agent)) {
    if (path == root.path)
      return root.directory ? std::optional<std::string>("a directory root as a file") : std::nullopt;
    if (root.directory && path.size() > root.path.size() + 1 && path.substr(0, root.path.size()) == root.path &&
        path[root.path.size()] == '/')
      return std::nullopt;
  }
  return "outside the agent's session paths";
}

Argv export_argv(const std::string& home, AgentKind agent, std::uint64_t max_bytes) {
  Argv argv{"sh", "-c", std::string(export_script), "bottle-sessions", home, std::to_string(max_bytes)};
  for (const auto& root : session_roots(agent)) argv.push_back(root.path);
  return argv;
}

std::vector<SessionFile> parse_session_export(AgentKind agent, std::string_view output, std::uint64_t max_bytes) {
  std::vector<SessionFile> files;
  std::set<std::string> seen;
  std::uint64_t total = 0;
  std::size_t pos = 0;
  for (;;) {
    if (pos >= output.size()) malformed("it ends early");
    const char tag = output[pos];
    if ((tag == 'E' || tag == 'O') && output.substr(pos) == std::string{tag, '\n'}) {
      if (tag == 'O')
        throw Error(ErrorKind::invalid_input,
                    fmt::format("sessions: the bottle's sessions hold more than {} MiB", max_bytes >> 20));
      return files;
    }
    if (tag != 'F' || output.substr(pos, 2) != "F ") malformed("a bad header");
    pos += 2;
    const std::uint64_t path_length = read_number(output, pos, ' ');
    const std::uint64_t size = read_number(output, pos, ' ');
    const std::uint64_t mtime = read_number(output, pos, '\n');
    if (path_length == 0 || path_length > max_session_path) malformed("a bad path length");
    total += size;
    if (size > max_bytes || total > max_bytes)
      throw Error(ErrorKind::invalid_input,
                  fmt::format("sessions: the bottle's sessions hold more than {} MiB", max_bytes >> 20));
    if (output.size() - pos < path_length + size) malformed("it ends inside a file");
    SessionFile file{.path = std::string(output.substr(pos, path_length)),
                     .content = std::string(output.substr(pos + path_length, size)),
                     .mtime_unix = static_cast<std::int64_t>(std::min<std::uint64_t>(mtime, INT64_MAX))};
    pos += path_length + size;
    if (const auto problem = session_path_problem(agent, file.path))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("sessions: refused path {}: {}", detail::printable(file.path), *problem));
    if (seen.insert(file.path).second) files.push_back(std::move(file));
  }
}

std::vector<RedactedToken> redact_tokens(std::vector<SessionFile>& files, const std::vector<SecretNeedle>& needles) {
  std::vector<RedactedToken> found;
  std::vector<SessionFile> kept;
  for (auto& file : files) {
    bool drop = false;
    for (const auto& needle : needles) {
      if (needle.value.size() < 8) continue;
      if (file.path.find(needle.value) != std::string::npos) {
        found.push_back({detail::printable(file.path, 200), needle.label});
        drop = true;
        break;
      }
      bool hit = false;
      for (std::size_t at = file.content.find(needle.value); at != std::string::npos;
           at = file.content.find(needle.value, at + session_token_mark.size())) {
        file.content.replace(at, needle.value.size(), session_token_mark);
        hit = true;
      }
      if (hit) found.push_back({file.path, needle.label});
    }
    if (!drop) kept.push_back(std::move(file));
  }
  files = std::move(kept);
  return found;
}

void write_session_store(const StateDirs& dirs, std::string_view name, AgentKind agent,
                         const std::vector<SessionFile>& files) {
  const fs::path store = session_store_dir(dirs, name);
  const fs::path fresh = fresh_dir(dirs, name);
  try {
    fill_store(fresh, agent, files);
    swap_in(fresh, store);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(fresh, ec);
    throw;
  }
}

bool session_store_exists(const StateDirs& dirs, std::string_view name) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(session_store_dir(dirs, name), ec));
}

std::optional<AgentKind> session_store_agent(const StateDirs& dirs, std::string_view name) {
  if (!session_store_exists(dirs, name)) return std::nullopt;
  std::int64_t mtime = 0;
  const std::string text = read_regular(session_store_dir(dirs, name) / "agent", 16, mtime);
  return parse_agent_kind(text, "sessions: agent");
}

std::vector<SessionFile> read_session_store(const StateDirs& dirs, std::string_view name, AgentKind agent) {
  const fs::path home = session_store_dir(dirs, name) / "home";
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(home, ec))) return {};
  std::vector<SessionFile> files;
  std::uint64_t budget = session_store_max_bytes;
  for (fs::recursive_directory_iterator it(home, fs::directory_options::none), end; it != end; ++it) {
    const fs::file_status status = it->symlink_status();
    if (fs::is_directory(status)) continue;
    const std::string relative = it->path().lexically_relative(home).string();
    if (!fs::is_regular_file(status))
      throw Error(ErrorKind::invalid_input, fmt::format("sessions: {} in the store of {} is not a regular file",
                                                        detail::printable(relative), name));
    if (const auto problem = session_path_problem(agent, relative))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("sessions: refused path {}: {}", detail::printable(relative), *problem));
    SessionFile file{.path = relative};
    file.content = read_regular(it->path(), budget, file.mtime_unix);
    budget -= file.content.size();
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(), [](const SessionFile& a, const SessionFile& b) { return a.path < b.path; });
  return files;
}

bool purge_session_store(const StateDirs& dirs, std::string_view name) {
  const fs::path store = session_store_dir(dirs, name);
  std::error_code ec;
  if (fs::symlink_status(store, ec).type() == fs::file_type::not_found) return false;
  fs::remove_all(store, ec);  // removes symlinks themselves, never what they point at
  if (ec) throw Error(ErrorKind::io, fmt::format("sessions: could not delete {}: {}", store.string(), ec.message()));
  return true;
}

void copy_session_store(const StateDirs& dirs, std::string_view from, std::string_view to, AgentKind agent) {
  if (!session_store_exists(dirs, from))
    throw Error(ErrorKind::not_found, fmt::format("--resume-from: no saved sessions of a bottle named \"{}\"", from));
  if (session_store_exists(dirs, to))
    throw Error(ErrorKind::conflict,
                fmt::format("--resume-from: bottle name \"{}\" has saved sessions of its own (list them with "
                            "`bottle-cli sessions {}`, delete them with `bottle-cli sessions --purge {}`)",
                            to, to, to));
  if (const auto stored = session_store_agent(dirs, from); stored != agent)
    throw Error(ErrorKind::invalid_input, fmt::format("--resume-from: \"{}\" saved {} sessions; this bottle runs {}",
                                                      from, stored ? to_string(*stored) : "unknown", to_string(agent)));
  write_session_store(dirs, to, agent, read_session_store(dirs, from, agent));
}

std::string sessions_tar(const std::vector<SessionFile>& files, std::vector<std::string>* skipped) {
  std::string out;
  std::set<std::string> made;
  for (const auto& file : files) {
    std::string_view prefix, name;
    if (!split_tar_name(file.path, prefix, name)) {
      if (skipped != nullptr) skipped->push_back(file.path);
      continue;
    }
    // Parents first, so every tar makes them with 0700.
    for (std::size_t slash = file.path.find('/'); slash != std::string::npos; slash = file.path.find('/', slash + 1)) {
      const std::string dir = file.path.substr(0, slash + 1);
      if (!made.insert(dir).second) continue;
      std::string_view dir_prefix, dir_name;
      if (!split_tar_name(dir, dir_prefix, dir_name)) continue;  // its file does not fit either
      append_header(out, dir_prefix, dir_name, '5', 0700, 0, file.mtime_unix);
    }
    append_header(out, prefix, name, '0', 0600, file.content.size(), file.mtime_unix);
    out += file.content;
    out.append((512 - file.content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

Argv restore_argv(const std::string& home) {
  return {"sh", "-c", std::string(restore_script), "bottle-sessions", home};
}

namespace {

ExecOptions session_exec_options(const BottleSpec& spec) {
  ExecOptions options;
  options.user = spec.user;
  options.env = {{"PATH", std::string(canary_probe_path)}, {"LC_ALL", "C"}};
  return options;
}

}  // namespace

std::vector<RedactedToken> save_sessions(Runner& runner, const Backend& backend, const BottleSpec& spec,
                                         const StateDirs& dirs, const std::vector<SecretNeedle>& needles) {
  const Argv command = export_argv(guest_user_home(spec.user), spec.agent);
  const Command run = backend.engine_command(backend.commands().exec_argv(spec, command, session_exec_options(spec)));
  const ProcessResult r = runner.run(run);
  if (!r.ok())
    throw Error(ErrorKind::backend, fmt::format("sessions: could not copy the sessions out of bottle {}: {}", spec.name,
                                                r.timed_out() ? engine_timeout_message(run.argv, *run.timeout)
                                                : r.started() ? fmt::format("status {}", r.shell_status())
                                                              : r.start_error));
  std::vector<SessionFile> files = parse_session_export(spec.agent, r.out);
  std::vector<RedactedToken> redacted = redact_tokens(files, needles);
  // An agent that never talked leaves no store (and `rm` nothing to mention).
  if (files.empty() && !session_store_exists(dirs, spec.name)) return redacted;
  write_session_store(dirs, spec.name, spec.agent, files);
  return redacted;
}

std::size_t restore_sessions(Runner& runner, const Backend& backend, const BottleSpec& spec, const StateDirs& dirs) {
  const std::vector<SessionFile> files = read_session_store(dirs, spec.name, spec.agent);
  if (files.empty()) return 0;
  std::vector<std::string> skipped;
  ExecOptions options = session_exec_options(spec);
  options.forward_stdin = true;
  Command run =
      backend.engine_command(backend.commands().exec_argv(spec, restore_argv(guest_user_home(spec.user)), options));
  run.stdin_data = sessions_tar(files, &skipped);
  const ProcessResult r = runner.run(run);
  if (!r.ok())
    throw Error(ErrorKind::backend,
                fmt::format("sessions: could not copy the saved sessions into bottle {}: {}", spec.name,
                            r.timed_out() ? engine_timeout_message(run.argv, *run.timeout)
                            : r.started() ? detail::printable(r.err, 200)
                                          : r.start_error));
  return files.size() - skipped.size();
}

}  // namespace bottle
