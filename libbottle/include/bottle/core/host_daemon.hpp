#pragma once
// Long-running helper processes on the host (the egress proxy of a smolmachines
// bottle), supervised with Debian's start-stop-daemon:
//   - start forks the program into the background and writes its pid file; for a
//     program that reports readiness (sd_notify READY=1 on NOTIFY_SOCKET) it waits
//     for that, and a program that fails or exits before it makes start fail;
//     otherwise the caller polls a health check;
//   - status and stop match on the pid file AND the process name, so a stale pid
//     file whose pid was reused never touches an unrelated process.
// The builders are pure; callers run the argvs through a Runner.

#include <filesystem>
#include <string>
#include <vector>

#include "bottle/core/host.hpp"

namespace bottle {

struct HostDaemon {
  std::string program;            ///< absolute path
  std::vector<std::string> args;  ///< without argv[0]
  std::filesystem::path pid_file;
  std::filesystem::path log_file;  ///< stdout and stderr
  std::string process_name;        ///< the kernel's comm of the running program
  /// Whether the program sends sd_notify READY=1 (see above).
  bool notifies_ready = true;
  int ready_timeout_seconds = 30;
};

/// Start it unless it already runs (then exit 0, nothing done).
std::vector<std::string> daemon_start_argv(const HostDaemon& daemon);
/// Exits 0 when it runs.
std::vector<std::string> daemon_status_argv(const HostDaemon& daemon);
/// TERM, then KILL after 5 s; exits 0 when it was not running.
std::vector<std::string> daemon_stop_argv(const HostDaemon& daemon);

/// In-process status check (no subprocess): the pid file names a live process
/// whose comm is the daemon's process name.
bool daemon_running(const HostDaemon& daemon);

/// For a daemon of ours: tell start-stop-daemon --notify-await that it is ready
/// (sd_notify READY=1 on the host's $NOTIFY_SOCKET). Nothing happens without that
/// variable.
void notify_ready(const Host& host);

}  // namespace bottle
