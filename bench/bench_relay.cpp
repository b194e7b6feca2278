// bench_relay: what one proxy hop costs on this machine with nothing else done. A plain
// TCP relay on 127.0.0.1: no TLS termination, no parsing; each accepted connection gets
// a thread that polls both sockets and copies what arrives, up to 64 KiB at a time. The
// egress benchmark runs its clients through it to show how much of egress's gap to a
// direct connection the extra hop alone accounts for.
//
//   bench_relay UPSTREAM_PORT     prints its own port on stdout, then relays until killed
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

sockaddr_in loopback(unsigned short port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

void no_delay(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// Copies one readable chunk from `from` to `to`; false once `from` has ended.
bool copy_chunk(int from, int to, std::array<char, 65536>& buffer) {
  const ssize_t n = ::read(from, buffer.data(), buffer.size());
  if (n <= 0) return false;
  for (ssize_t sent = 0; sent < n;) {
    const ssize_t w = ::write(to, buffer.data() + sent, static_cast<std::size_t>(n - sent));
    if (w <= 0) return false;
    sent += w;
  }
  return true;
}

void relay(int client, unsigned short upstream_port) {
  const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in addr = loopback(upstream_port);
  if (upstream < 0 || ::connect(upstream, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(client);
    if (upstream >= 0) ::close(upstream);
    return;
  }
  no_delay(client);
  no_delay(upstream);
  std::array<char, 65536> buffer{};
  std::array<pollfd, 2> fds{pollfd{client, POLLIN, 0}, pollfd{upstream, POLLIN, 0}};
  int open_directions = 2;
  while (open_directions > 0 && ::poll(fds.data(), fds.size(), -1) > 0) {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const int peer = i == 0 ? upstream : client;
      if (!copy_chunk(fds[i].fd, peer, buffer)) {
        ::shutdown(peer, SHUT_WR);
        fds[i].fd = -1;
        --open_directions;
      }
    }
  }
  ::close(client);
  ::close(upstream);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_relay UPSTREAM_PORT\n");
    return 2;
  }
  const auto upstream_port = static_cast<unsigned short>(std::strtoul(argv[1], nullptr, 10));
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  socklen_t length = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 128) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    std::perror("bench_relay: listen");
    return 1;
  }
  std::printf("%u\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int client = ::accept(listener, nullptr, nullptr);
    if (client >= 0) std::thread(relay, client, upstream_port).detach();
  }
}
