#include "bottle/core/host_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <string>

#include "bottle/core/error.hpp"

namespace bottle {

namespace {

sockaddr_in ipv4_address(std::string_view ipv4, std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  const std::string host(ipv4);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
    throw Error(ErrorKind::invalid_input, fmt::format("'{}' is not an IPv4 address", host));
  return address;
}

// Bind ipv4:port (port 0: any) and return the bound port, or 0 when it is taken.
std::uint16_t bind_port(std::string_view ipv4, std::uint16_t port) {
  sockaddr_in address = ipv4_address(ipv4, port);
  const std::string host(ipv4);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(ErrorKind::io, fmt::format("cannot open a TCP socket: {}", std::strerror(errno)));
  // SO_REUSEADDR, as the servers themselves set it: connections of an earlier run in
  // TIME_WAIT do not make the port taken, while a listener still does (Linux).
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  std::uint16_t bound = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) bound = ntohs(address.sin_port);
  } else if (errno != EADDRINUSE && errno != EACCES) {
    const int saved = errno;
    ::close(fd);
    throw Error(ErrorKind::io, fmt::format("cannot bind {}:{}: {}", host, port, std::strerror(saved)));
  }
  ::close(fd);
  return bound;
}

}  // namespace

std::uint16_t pick_free_port(std::string_view ipv4) {
  const std::uint16_t port = bind_port(ipv4, 0);
  if (port == 0) throw Error(ErrorKind::io, fmt::format("no free TCP port on {}", ipv4));
  return port;
}

bool port_free(std::string_view ipv4, std::uint16_t port) { return port != 0 && bind_port(ipv4, port) == port; }

bool port_accepts(std::string_view ipv4, std::uint16_t port, std::chrono::milliseconds timeout) {
  const sockaddr_in address = ipv4_address(ipv4, port);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  bool accepted = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  if (!accepted && errno == EINPROGRESS) {
    pollfd waiting{.fd = fd, .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t length = sizeof error;
    accepted = ::poll(&waiting, 1, static_cast<int>(timeout.count())) == 1 &&
               ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  return accepted;
}

}  // namespace bottle
