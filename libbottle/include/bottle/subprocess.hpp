#pragma once
// The one seam through which libbottle runs programs. Everything that builds an argv
// is a pure function elsewhere; only a Runner turns an argv into a process.
//
//   bottle::SystemRunner runner;
//   auto r = runner.run({.argv = {"docker", "ps"}});
//   if (!r.started()) ...          // could not start (e.g. not on PATH)
//   else if (r.exit_code() != 0)   // ran and failed

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bottle {

/// What to run. argv[0] is looked up on PATH when it has no '/'.
struct Command {
  std::vector<std::string> argv;
  /// Variables set (or overridden) on top of the caller's environment.
  std::map<std::string, std::string> env;
  /// Bytes written to the child's stdin (then closed). Without it stdin is /dev/null,
  /// unless `interactive` is set.
  std::optional<std::string> stdin_data;
  /// Interactive: the child inherits stdin/stdout/stderr (the user's terminal) and
  /// nothing is captured. Otherwise stdout and stderr are captured.
  bool interactive = false;
  /// Working directory; empty means the caller's.
  std::string cwd;
};

/// How a run ended. "could not start" is never confused with an exit status.
struct ProcessResult {
  enum class Outcome { exited, signaled, failed_to_start };
  Outcome outcome = Outcome::exited;
  int code = 0;             ///< exit status (exited) or signal number (signaled)
  std::string out;          ///< captured stdout (non-interactive runs)
  std::string err;          ///< captured stderr (non-interactive runs)
  std::string start_error;  ///< why it could not start (failed_to_start)

  bool started() const { return outcome != Outcome::failed_to_start; }
  bool ok() const { return outcome == Outcome::exited && code == 0; }
  /// The status a shell would report: the exit code, 128+N for signal N, and 125
  /// when the program could not be started.
  int shell_status() const;
};

/// Runs commands. SystemRunner is the real one; tests use RecordingRunner.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual ProcessResult run(const Command& command) = 0;
};

/// Runs real processes (Boost.Process v2).
class SystemRunner final : public Runner {
 public:
  ProcessResult run(const Command& command) override;
};

/// Records each command and answers from a script of canned results, in order;
/// after the script runs out it answers `fallback`. For unit tests of code that
/// drives a backend.
class RecordingRunner final : public Runner {
 public:
  ProcessResult run(const Command& command) override;
  void push_result(ProcessResult result) { script_.push_back(std::move(result)); }
  const std::vector<Command>& commands() const { return commands_; }
  /// Just the argvs, for exact-equality assertions.
  std::vector<std::vector<std::string>> argvs() const;
  ProcessResult fallback;

 private:
  std::vector<Command> commands_;
  std::vector<ProcessResult> script_;
  std::size_t next_ = 0;
};

/// A ProcessResult for tests and fakes: exited with `code`, printing `out`.
ProcessResult exited(int code, std::string out = {}, std::string err = {});

}  // namespace bottle
