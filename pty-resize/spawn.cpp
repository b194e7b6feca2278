#include "spawn.hpp"

#include <csignal>

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

extern char** environ;

namespace pty_resize {

namespace {

bool g_reset_sigpipe_in_children = false;

std::vector<char*> to_exec_argv(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  pointers.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    // posix_spawn takes char* const[] for historical reasons; it never writes through it.
    pointers.push_back(const_cast<char*>(arg.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

// Owns the two posix_spawn attribute objects for one spawn.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&m_actions);
    ::posix_spawnattr_init(&m_attributes);
    if (g_reset_sigpipe_in_children) {
      sigset_t defaults;
      sigemptyset(&defaults);
      sigaddset(&defaults, SIGPIPE);
      ::posix_spawnattr_setsigdefault(&m_attributes, &defaults);
      m_flags = static_cast<short>(m_flags | POSIX_SPAWN_SETSIGDEF);
    }
  }
  ~SpawnSetup() {
    ::posix_spawnattr_destroy(&m_attributes);
    ::posix_spawn_file_actions_destroy(&m_actions);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  void redirect(int fd, const char* path, int flags) {
    ::posix_spawn_file_actions_addopen(&m_actions, fd, path, flags, 0);
  }
  void duplicate(int from_fd, int to_fd) { ::posix_spawn_file_actions_adddup2(&m_actions, from_fd, to_fd); }
  void new_process_group() {
    ::posix_spawnattr_setpgroup(&m_attributes, 0);
    m_flags = static_cast<short>(m_flags | POSIX_SPAWN_SETPGROUP);
  }

  SpawnOutcome spawn(const std::vector<std::string>& argv) {
    ::posix_spawnattr_setflags(&m_attributes, m_flags);
    std::vector<char*> exec_argv = to_exec_argv(argv);
    pid_t pid = -1;
    // glibc's posix_spawnp reports exec failures (ENOENT, EACCES) as its return value.
    const int error = ::posix_spawnp(&pid, exec_argv[0], &m_actions, &m_attributes, exec_argv.data(), environ);
    if (error != 0) { return SpawnOutcome{-1, error}; }
    return SpawnOutcome{pid, 0};
  }

 private:
  posix_spawn_file_actions_t m_actions{};
  posix_spawnattr_t m_attributes{};
  short m_flags = 0;
};

}  // namespace

void reset_sigpipe_in_children(bool reset) { g_reset_sigpipe_in_children = reset; }

SpawnOutcome spawn_on_terminal(const std::vector<std::string>& argv) {
  SpawnSetup setup;
  return setup.spawn(argv);
}

SpawnOutcome spawn_detached(const std::vector<std::string>& argv, int stderr_fd) {
  SpawnSetup setup;
  setup.redirect(STDIN_FILENO, "/dev/null", O_RDONLY);
  setup.redirect(STDOUT_FILENO, "/dev/null", O_WRONLY);
  setup.duplicate(stderr_fd, STDERR_FILENO);
  setup.new_process_group();
  return setup.spawn(argv);
}

}  // namespace pty_resize
