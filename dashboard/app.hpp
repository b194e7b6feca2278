#pragma once
// The interactive dashboard: curses session, background worker, key loop and the
// launch paths (foreground handoff outside tmux, split-window/respawn-pane inside).

#include <atomic>
#include <csignal>

#include "bottle/core/state.hpp"

namespace bottle::dashboard {

/// Set by the SIGINT / SIGTERM / SIGHUP handlers main() installs; the key loop
/// checks them and leaves curses cleanly.
extern volatile std::sig_atomic_t interrupted;  ///< SIGINT
extern volatile std::sig_atomic_t terminated;   ///< SIGTERM, SIGHUP

/// Run the UI until q or a signal. Always leaves the terminal as it found it
/// (endwin on every path, exceptions included). Returns the exit code.
int run_interactive(const Host& host, const StateDirs& dirs);

}  // namespace bottle::dashboard
