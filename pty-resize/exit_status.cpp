#include "exit_status.hpp"

#include <sys/wait.h>

namespace pty_resize {

int exit_code_from_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) { return WEXITSTATUS(wait_status); }
  if (WIFSIGNALED(wait_status)) { return 128 + WTERMSIG(wait_status); }
  return 1;
}

}  // namespace pty_resize
