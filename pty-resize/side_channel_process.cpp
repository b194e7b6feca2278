#include "side_channel_process.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "side_channel_command.hpp"
#include "spawn.hpp"

namespace pty_resize {

namespace {

// Enough for smolvm's one-line `Error: ...` plus context; the rest is not worth keeping.
constexpr std::size_t k_stderr_keep_bytes = 4096;

std::string first_line(const std::string& text) {
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) { return {}; }
  const std::size_t end = text.find_first_of("\r\n", start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

SideChannelProcess::SideChannelProcess(std::string smolvm, std::string machine, std::chrono::milliseconds timeout)
    : m_smolvm(std::move(smolvm)), m_machine(std::move(machine)), m_timeout(timeout) {}

SideChannelProcess::~SideChannelProcess() {
  if (running()) { terminate_and_reap(std::chrono::milliseconds(200)); }
  close_stderr();
}

std::optional<std::string> SideChannelProcess::start(WindowSize size) {
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) { return std::string("cannot create a pipe: ") + std::strerror(errno); }
  // Only our end is non-blocking; the child's stderr stays an ordinary blocking pipe.
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);

  const SpawnOutcome outcome = spawn_detached(side_channel_argv(m_smolvm, m_machine, size), pipe_fds[1]);
  ::close(pipe_fds[1]);
  if (outcome.pid < 0) {
    ::close(pipe_fds[0]);
    return "cannot run '" + m_smolvm + "': " + std::strerror(outcome.error);
  }
  m_pid = outcome.pid;
  m_stderr_fd = pipe_fds[0];
  m_stderr_text.clear();
  m_deadline = Clock::now() + m_timeout;
  m_timed_out = false;
  return std::nullopt;
}

void SideChannelProcess::collect_stderr() {
  std::array<char, 1024> buffer{};
  while (m_stderr_fd >= 0) {
    const ssize_t got = ::read(m_stderr_fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) { continue; }
    if (got == 0) {
      close_stderr();  // EOF: stop polling it.
      return;
    }
    if (got < 0) {
      return;  // EAGAIN: nothing more for now.
    }
    const std::size_t room = k_stderr_keep_bytes - std::min(k_stderr_keep_bytes, m_stderr_text.size());
    m_stderr_text.append(buffer.data(), std::min(room, static_cast<std::size_t>(got)));
  }
}

int SideChannelProcess::enforce_deadline(Clock::time_point now) {
  if (!running() || m_timed_out) { return -1; }
  if (now >= m_deadline) {
    ::kill(-m_pid, SIGKILL);
    m_timed_out = true;
    return -1;
  }
  const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(m_deadline - now);
  return static_cast<int>(remaining.count());
}

std::optional<std::string> SideChannelProcess::finish(int wait_status) {
  // The process is gone, but a descendant may still hold stderr open; take what is
  // there now rather than waiting for EOF.
  collect_stderr();
  close_stderr();
  m_pid = -1;

  std::string failure;
  if (m_timed_out) {
    failure = "timed out after " + std::to_string(m_timeout.count()) + " ms";
  } else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    return std::nullopt;
  } else if (WIFEXITED(wait_status)) {
    failure = "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  } else if (WIFSIGNALED(wait_status)) {
    failure = "killed by signal " + std::to_string(WTERMSIG(wait_status));
  } else {
    failure = "ended with wait status " + std::to_string(wait_status);
  }
  const std::string detail = first_line(m_stderr_text);
  return detail.empty() ? failure : failure + ": " + detail;
}

void SideChannelProcess::terminate_and_reap(std::chrono::milliseconds grace) {
  if (!running()) { return; }
  ::kill(-m_pid, SIGTERM);
  const auto give_up = Clock::now() + grace;
  int status = 0;
  while (::waitpid(m_pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= give_up) {
      ::kill(-m_pid, SIGKILL);
      while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {}
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m_pid = -1;
  close_stderr();
}

void SideChannelProcess::close_stderr() {
  if (m_stderr_fd >= 0) {
    ::close(m_stderr_fd);
    m_stderr_fd = -1;
  }
}

}  // namespace pty_resize
