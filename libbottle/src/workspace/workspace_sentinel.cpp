#include "bottle/workspace/workspace_sentinel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t watch_mask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

bool is_plain_directory(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() == fs::file_type::directory;
}

}  // namespace

void append_sentinel_event(const fs::path& file, const SentinelEvent& event) {
  const std::string line =
      boost::json::serialize(boost::json::object{{"path", event.path}, {"quarantined", event.quarantined}}) + "\n";
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(ErrorKind::io, fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) throw Error(ErrorKind::io, fmt::format("{}: cannot write", file.string()));
}

std::vector<SentinelEvent> read_sentinel_events(const fs::path& file) {
  std::vector<SentinelEvent> events;
  std::error_code ec;
  if (!fs::exists(file, ec)) return events;
  std::istringstream lines(read_file(file));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    try {
      const auto object = boost::json::parse(line).as_object();
      events.push_back({std::string(object.at("path").as_string()), std::string(object.at("quarantined").as_string())});
    } catch (const std::exception&) {
      throw Error(ErrorKind::io, fmt::format("{}: line {} is not a sentinel event", file.string(), events.size() + 1));
    }
  }
  return events;
}

bool is_repository_entry(const fs::path& path) {
  std::error_code ec;
  if (path.filename() == ".git") return fs::symlink_status(path, ec).type() != fs::file_type::not_found;
  if (!is_plain_directory(path)) return false;
  return fs::symlink_status(path / "HEAD", ec).type() == fs::file_type::regular &&
         is_plain_directory(path / "objects") && is_plain_directory(path / "refs");
}

WorkspaceSentinel::WorkspaceSentinel(std::vector<fs::path> roots, std::set<std::string> allowed,
                                     std::function<void(const SentinelEvent&)> on_event)
    : roots_(std::move(roots)), allowed_(std::move(allowed)), on_event_(std::move(on_event)) {}

WorkspaceSentinel::~WorkspaceSentinel() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t WorkspaceSentinel::arm() {
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0) throw Error(ErrorKind::isolation, fmt::format("workspace sentinel: inotify: {}", std::strerror(errno)));
  for (const auto& root : roots_) watch_tree(root);
  return unwatched_;
}

std::string WorkspaceSentinel::relative(const fs::path& path) const {
  for (const auto& root : roots_) {
    const std::string text = path.lexically_relative(root).generic_string();
    if (!text.empty() && text.rfind("..", 0) != 0) return roots_.size() > 1 ? (root / text).string() : text;
  }
  return path.string();
}

// Watch `dir` and everything below it, and look at what is already there: entries
// made between a directory's creation and its watch are seen this way.
void WorkspaceSentinel::watch_tree(const fs::path& dir) {
  if (!is_plain_directory(dir)) return;
  const int wd = ::inotify_add_watch(fd_, dir.c_str(), watch_mask);
  if (wd < 0) {
    ++unwatched_;
    return;
  }
  watches_[wd] = dir;
  std::error_code ec;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec))
    examine(it->path());
}

void WorkspaceSentinel::examine(const fs::path& path) {
  // Already made harmless (and unreadable): its renaming is what brought it here.
  if (path.filename().string().find(quarantine_marker) != std::string::npos) return;
  if (is_repository_entry(path)) {
    // Repositories that were there at start are protected by mounts; their
    // insides (objects, refs) change all the time and are not watched.
    if (allowed_.count(path.string()) == 0) quarantine(path);
    return;
  }
  watch_tree(path);
}

void WorkspaceSentinel::quarantine(const fs::path& path) {
  SentinelEvent event{.path = relative(path)};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const fs::path target =
        path.parent_path() / fmt::format("{}{}{}", path.filename().string(), quarantine_marker, ++counter_);
    std::error_code ec;
    if (fs::symlink_status(target, ec).type() != fs::file_type::not_found) continue;
    if (::rename(path.c_str(), target.c_str()) != 0) break;
    // Unreadable to its owner too, so host git cannot use it where it now is.
    ::fchmodat(AT_FDCWD, target.c_str(), 0, AT_SYMLINK_NOFOLLOW);
    event.quarantined = relative(target);
    break;
  }
  on_event_(event);
}

void WorkspaceSentinel::run(const std::atomic<bool>& stop, const std::function<bool()>& keep_going, int tick_ms) {
  alignas(inotify_event) char buffer[64 * 1024];
  while (!stop.load() && keep_going()) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, tick_ms) <= 0) continue;
    const ssize_t length = ::read(fd_, buffer, sizeof buffer);
    if (length <= 0) continue;
    for (ssize_t offset = 0; offset < length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_IGNORED) {
        watches_.erase(event->wd);
        continue;
      }
      if (event->mask & IN_Q_OVERFLOW) {
        // Events were lost: look at everything again.
        for (const auto& root : roots_) watch_tree(root);
        continue;
      }
      const auto dir = watches_.find(event->wd);
      if (dir == watches_.end() || event->len == 0) continue;
      const fs::path parent = dir->second;
      examine(parent / event->name);
      // A directory filled in place (`git init --bare x`: HEAD, objects, refs
      // arrive one by one) becomes a repository only with its last entry.
      const bool is_root = std::find(roots_.begin(), roots_.end(), parent) != roots_.end();
      if (!is_root && allowed_.count(parent.string()) == 0 && is_repository_entry(parent)) quarantine(parent);
    }
  }
}

}  // namespace bottle
