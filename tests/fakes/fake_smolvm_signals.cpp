#include "fake_smolvm_signals.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>

namespace fake_smolvm {

namespace {

// One pipe per process: a signal handler can only reach globals.
int pipe_fds[2] = {-1, -1};

void forward_signal(int signal_number) {
  const int saved_errno = errno;
  const auto byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const ssize_t written = write(pipe_fds[1], &byte, 1);
  errno = saved_errno;
}

}  // namespace

SignalPipe::SignalPipe(std::initializer_list<int> signals) : signals_(signals) {
  if (pipe_fds[0] < 0) {
    if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) { pipe_fds[0] = pipe_fds[1] = -1; }
  }
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  for (const int signal_number : signals_) { sigaction(signal_number, &action, nullptr); }
}

SignalPipe::~SignalPipe() {
  for (const int signal_number : signals_) { std::signal(signal_number, SIG_DFL); }
}

int SignalPipe::read_fd() const { return pipe_fds[0]; }

std::vector<int> SignalPipe::drain() const {
  std::vector<int> delivered;
  unsigned char buffer[64];
  for (;;) {
    const ssize_t count = read(pipe_fds[0], buffer, sizeof buffer);
    if (count <= 0) { break; }
    for (ssize_t i = 0; i < count; ++i) { delivered.push_back(buffer[i]); }
  }
  return delivered;
}

}  // namespace fake_smolvm
