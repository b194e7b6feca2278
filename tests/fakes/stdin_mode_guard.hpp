// Changes the terminal mode of stdin for a scope and restores it on every way out.
// Header-only: fake_agent links nothing else.
#pragma once

#include <termios.h>
#include <unistd.h>

namespace fake_tty {

class StdinModeGuard {
 public:
  // Applies `adjust` (e.g. cfmakeraw) to the current mode when stdin is a terminal; otherwise does nothing.
  explicit StdinModeGuard(void (*adjust)(termios*)) {
    if (isatty(STDIN_FILENO) != 0 && tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios mode = saved_;
      adjust(&mode);
      active_ = tcsetattr(STDIN_FILENO, TCSANOW, &mode) == 0;
    }
  }
  ~StdinModeGuard() {
    if (active_) { tcsetattr(STDIN_FILENO, TCSANOW, &saved_); }
  }
  StdinModeGuard(const StdinModeGuard&) = delete;
  StdinModeGuard& operator=(const StdinModeGuard&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace fake_tty
