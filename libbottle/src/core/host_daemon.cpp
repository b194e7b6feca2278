#include "bottle/core/host_daemon.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>

namespace bottle {

namespace {

std::vector<std::string> selector(const HostDaemon& daemon) {
  return {"--pidfile", daemon.pid_file.string(), "--name", daemon.process_name};
}

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::vector<std::string> daemon_start_argv(const HostDaemon& daemon) {
  std::vector<std::string> argv = {"start-stop-daemon", "--start", "--oknodo", "--background"};
  if (daemon.notifies_ready)
    argv.insert(argv.end(), {"--notify-await", "--notify-timeout", std::to_string(daemon.ready_timeout_seconds)});
  argv.insert(argv.end(), {"--make-pidfile", "--output", daemon.log_file.string()});
  const auto match = selector(daemon);
  argv.insert(argv.end(), match.begin(), match.end());
  argv.insert(argv.end(), {"--startas", daemon.program, "--"});
  argv.insert(argv.end(), daemon.args.begin(), daemon.args.end());
  return argv;
}

std::vector<std::string> daemon_status_argv(const HostDaemon& daemon) {
  std::vector<std::string> argv = {"start-stop-daemon", "--status"};
  const auto match = selector(daemon);
  argv.insert(argv.end(), match.begin(), match.end());
  return argv;
}

std::vector<std::string> daemon_stop_argv(const HostDaemon& daemon) {
  std::vector<std::string> argv = {"start-stop-daemon", "--stop",        "--oknodo",
                                   "--retry",           "TERM/5/KILL/2", "--remove-pidfile"};
  const auto match = selector(daemon);
  argv.insert(argv.end(), match.begin(), match.end());
  return argv;
}

void notify_ready(const Host& host) {
  const std::string socket_name = host.env_or(Var::notify_socket, "");
  const char* socket_path = socket_name.c_str();
  if (socket_name.empty() || socket_name.size() >= sizeof(sockaddr_un::sun_path)) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path, std::strlen(socket_path));
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  constexpr std::string_view ready = "READY=1";
  ::sendto(fd, ready.data(), ready.size(), 0, reinterpret_cast<const sockaddr*>(&address),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(socket_path)));
  ::close(fd);
}

bool daemon_running(const HostDaemon& daemon) {
  const std::string text = first_line(daemon.pid_file);
  long pid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc{} || end != text.data() + text.size() || pid <= 0) return false;
  // comm is what start-stop-daemon --name compares too (at most 15 characters).
  return first_line("/proc/" + std::to_string(pid) + "/comm") == daemon.process_name.substr(0, 15);
}

}  // namespace bottle
