#include "signal_pipe.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace pty_resize {

namespace {

// The handler can only reach the pipe through a global; it is written once, before any
// handler is installed.
int g_signal_pipe_write_fd = -1;

constexpr std::uint8_t k_from_terminal = 1;

void on_signal(int signo, siginfo_t* info, void* /*context*/) {
  const int saved_errno = errno;
  const std::array<std::uint8_t, 2> record{
      static_cast<std::uint8_t>(signo),
      static_cast<std::uint8_t>(info != nullptr && info->si_code == SI_KERNEL ? k_from_terminal : 0)};
  // A 2-byte write is atomic (< PIPE_BUF). If the pipe is full the record is dropped,
  // which is harmless: the loop is already awake and re-checks everything.
  [[maybe_unused]] const ssize_t written = ::write(g_signal_pipe_write_fd, record.data(), record.size());
  errno = saved_errno;
}

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

int install_signal_pipe(std::span<const int> signals) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) { throw_errno("pipe2"); }
  g_signal_pipe_write_fd = fds[1];

  struct sigaction action {};
  action.sa_sigaction = on_signal;
  // SA_RESTART keeps stray syscalls outside poll() from failing with EINTR.
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int signo : signals) {
    if (::sigaction(signo, &action, nullptr) != 0) { throw_errno("sigaction"); }
  }
  return fds[0];
}

std::vector<CaughtSignal> drain_signal_pipe(int read_fd) {
  std::vector<CaughtSignal> caught;
  std::array<std::uint8_t, 512> buffer{};
  for (;;) {
    const ssize_t got = ::read(read_fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) { continue; }
    if (got <= 0) {
      break;  // EAGAIN: drained.
    }
    // Records are 2 bytes and written atomically, and the buffer size is even, so a
    // read never splits one.
    for (ssize_t i = 0; i + 1 < got; i += 2) {
      caught.push_back(CaughtSignal{buffer[static_cast<std::size_t>(i)],
                                    buffer[static_cast<std::size_t>(i + 1)] == k_from_terminal});
    }
  }
  return caught;
}

}  // namespace pty_resize
