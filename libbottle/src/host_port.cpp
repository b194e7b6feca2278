#include "bottle/host_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "bottle/error.hpp"

namespace bottle {

namespace {

// Bind 127.0.0.1:port (0: any) and return the bound port, or 0 when it is taken.
std::uint16_t bind_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(ErrorKind::io, fmt::format("cannot open a TCP socket: {}", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::uint16_t bound = 0;
  // No SO_REUSEADDR: a port some process listens on must read as taken.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) bound = ntohs(address.sin_port);
  } else if (errno != EADDRINUSE && errno != EACCES) {
    const int saved = errno;
    ::close(fd);
    throw Error(ErrorKind::io, fmt::format("cannot bind 127.0.0.1:{}: {}", port, std::strerror(saved)));
  }
  ::close(fd);
  return bound;
}

}  // namespace

std::uint16_t pick_free_loopback_port() {
  const std::uint16_t port = bind_loopback(0);
  if (port == 0) throw Error(ErrorKind::io, "no free TCP port on 127.0.0.1");
  return port;
}

bool loopback_port_free(std::uint16_t port) { return port != 0 && bind_loopback(port) == port; }

}  // namespace bottle
