#pragma once
// The one seam through which libbottle runs programs. Everything that builds an argv
// is a pure function elsewhere; only a Runner turns an argv into a process.
//
//   bottle::SystemRunner runner;
//   auto r = runner.run({.argv = {"docker", "ps"}});
//   if (!r.started()) ...          // could not start (e.g. not on PATH)
//   else if (r.exit_code() != 0)   // ran and failed
//
//   auto child = runner.start({.argv = {"docker", "events"}});   // asynchronously
//   if (auto r = child->wait_for(std::chrono::seconds(1))) ...   // finished
//   else child->kill_group();                                    // give up on it

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bottle {

/// Which environment a child starts from.
enum class EnvPolicy {
  inherit,  ///< the caller's environment, with Command::env set on top
  clean,    ///< only Command::env, plus PATH=clean_path unless env sets PATH
};

/// The PATH a child run with EnvPolicy::clean gets when Command::env has none.
inline constexpr const char* clean_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to run. argv[0] is looked up on the caller's PATH when it has no '/'.
struct Command {
  std::vector<std::string> argv;
  /// Variables set (or overridden) on top of the starting environment (env_policy).
  std::map<std::string, std::string> env;
  /// Bytes written to the child's stdin (then closed). Without it stdin is /dev/null,
  /// unless `interactive` is set.
  std::optional<std::string> stdin_data;
  /// Interactive: the child inherits stdin/stdout/stderr (the user's terminal) and
  /// nothing is captured. Otherwise stdout and stderr are captured.
  bool interactive = false;
  /// Working directory; empty means the caller's.
  std::string cwd;
  /// A deadline for the whole run. When it passes, the child's process group gets
  /// SIGTERM, then SIGKILL after a short grace, and the result is timed_out with
  /// the output captured so far. None: wait as long as it takes. Interactive
  /// commands cannot have one (they fail to start).
  std::optional<std::chrono::milliseconds> timeout;
  EnvPolicy env_policy = EnvPolicy::inherit;
};

/// How a run ended. "could not start" is never confused with an exit status.
struct ProcessResult {
  enum class Outcome { exited, signaled, failed_to_start, timed_out };
  Outcome outcome = Outcome::exited;
  int code = 0;             ///< exit status (exited) or signal number (signaled); 0 otherwise
  std::string out;          ///< captured stdout (non-interactive runs)
  std::string err;          ///< captured stderr (non-interactive runs)
  std::string start_error;  ///< why it could not start (failed_to_start)

  bool started() const { return outcome != Outcome::failed_to_start; }
  bool ok() const { return outcome == Outcome::exited && code == 0; }
  bool timed_out() const { return outcome == Outcome::timed_out; }
  /// The status a shell would report: the exit code, 128+N for signal N, 125
  /// when the program could not be started and 124 when it timed out (as
  /// coreutils' timeout(1) reports).
  int shell_status() const;
};

/// A child started by Runner::start(). Destroying a handle whose child still runs
/// kills the child's group and reaps it: a handle never leaks a process.
/// One thread at a time may use a handle.
class RunningProcess {
 public:
  virtual ~RunningProcess() = default;
  /// The child's pid (also its process group id for non-interactive commands);
  /// 0 for a child that never ran (failed to start, or a fake).
  virtual int pid() const = 0;
  /// Wait up to `limit` for the child to exit and its output to end; nullopt if it
  /// is still running then. Output keeps being captured meanwhile.
  virtual std::optional<ProcessResult> wait_for(std::chrono::milliseconds limit) = 0;
  /// Wait until it ends (ignores Command::timeout; run() applies that).
  virtual ProcessResult wait() = 0;
  /// SIGTERM to the child's whole process group, a short grace, then SIGKILL to
  /// the group. Returns once the child has exited; wait() then reports how.
  /// Does nothing once the child has been waited for.
  virtual void kill_group() = 0;
};

/// Runs commands. SystemRunner is the real one; tests use RecordingRunner.
class Runner {
 public:
  virtual ~Runner() = default;
  /// Run to completion (or to Command::timeout).
  virtual ProcessResult run(const Command& command) = 0;
  /// Start without waiting. This default runs the command to completion first and
  /// hands back a finished child (fakes need nothing more); SystemRunner really
  /// starts it.
  virtual std::unique_ptr<RunningProcess> start(const Command& command);
  /// Kill (SIGKILL, whole group) every child this runner started that still runs,
  /// and make every later run/start fail to start. For leaving at once (the
  /// dashboard's q) while another thread waits on an engine call. Thread-safe.
  virtual void cancel() {}
};

/// A RunningProcess that has already finished with `result`.
std::unique_ptr<RunningProcess> finished_process(ProcessResult result);

/// Runs real processes (Boost.Process v2). Every non-interactive child gets its own
/// process group, so a timeout or kill_group() reaches everything it spawned, and
/// is SIGKILLed if the thread that started it exits first (it no longer gets the
/// terminal's ^C). An interactive child stays in the caller's group, the
/// terminal's foreground group, so job control and ^C keep working.
/// May be used from several threads.
class SystemRunner final : public Runner {
 public:
  SystemRunner();
  ~SystemRunner() override;
  ProcessResult run(const Command& command) override;
  /// Interactive commands run to completion here (they own the terminal).
  std::unique_ptr<RunningProcess> start(const Command& command) override;
  void cancel() override;

  struct Live;  ///< the children still running, shared with their handles

 private:
  std::shared_ptr<Live> live_;
};

/// Records each command and answers it with a canned result:
///   1. the newest responder given to respond() that answers the command (so a
///      test can override a fixture's);
///   2. otherwise the first pattern given to on() that matches the argv (patterns
///      answer any number of calls, in any order);
///   3. otherwise the next result of the call-order script (push_result);
///   4. otherwise `fallback`.
/// For unit tests of code that drives a backend. start() records the command and
/// returns an already-finished child with the same answer.
class RecordingRunner final : public Runner {
 public:
  ProcessResult run(const Command& command) override;
  void push_result(ProcessResult result) { script_.push_back(std::move(result)); }
  /// Answer every command matching `pattern` with `result`. A pattern matches an
  /// argv that starts with it, word for word, where the word "*" matches any one
  /// word: {"docker", "inspect", "*"} matches `docker inspect x` and
  /// `docker inspect x --format y`, but not `docker inspect`. An empty pattern
  /// matches everything.
  void on(std::vector<std::string> pattern, ProcessResult result) {
    patterns_.emplace_back(std::move(pattern), std::move(result));
  }
  /// Answers a command by what it contains (e.g. a guest probe deep in an exec's
  /// argv, answered from the targets it names); nullopt leaves it to the next rule.
  using Responder = std::function<std::optional<ProcessResult>(const Command&)>;
  void respond(Responder responder) { responders_.push_back(std::move(responder)); }
  static bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& argv);
  const std::vector<Command>& commands() const { return commands_; }
  /// Just the argvs, for exact-equality assertions.
  std::vector<std::vector<std::string>> argvs() const;
  ProcessResult fallback;

 private:
  std::vector<Command> commands_;
  std::vector<Responder> responders_;
  std::vector<std::pair<std::vector<std::string>, ProcessResult>> patterns_;
  std::vector<ProcessResult> script_;
  std::size_t next_ = 0;
};

/// A ProcessResult for tests and fakes: exited with `code`, printing `out`.
ProcessResult exited(int code, std::string out = {}, std::string err = {});
/// A ProcessResult for tests and fakes: killed at its deadline after printing `out`.
ProcessResult timed_out(std::string out = {}, std::string err = {});

}  // namespace bottle
