// FAKE_SMOLVM_STRICT_PTS (§10.5): the fake runs "guest" commands on the HOST, where
// /dev/pts holds the developer's real terminals. In a real VM the guest's /dev/pts is
// its own devpts instance and only contains the PTYs of that machine's sessions. The fake
// models that instance as "the pts of live `exec -t` sessions of this machine" (the
// sessions/NAME/*.json files) and enforces it here:
//   * `stty -F X` and any literal /dev/pts/N in the command must name such a pts;
//     otherwise the command is refused as the guest would ("No such file or directory").
//   * the side channel bottle really sends,
//       sh -c 'for f in /dev/pts/*; do stty -F $f cols X rows Y; done'
//     would resize EVERY terminal on the host if run literally, so that exact shape is
//     recognised and replaced by `stty -F <pts> cols X rows Y` for each session pts of
//     the machine (each logged as an invocation). Any other /dev/pts glob is refused.
#include "fake_smolvm_exec.hpp"
#include "fake_smolvm_guest_ns.hpp"
#include "fake_smolvm_log.hpp"
#include "fake_smolvm_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <iostream>
#include <regex>

namespace fake_smolvm {

namespace {

struct ResizeLoop {
  std::string cols;
  std::string rows;
};

std::string basename_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_shell(const std::string& program) {
  const std::string name = basename_of(program);
  return name == "sh" || name == "bash" || name == "dash" || name == "ash";
}

std::optional<ResizeLoop> match_resize_loop(const std::string& script) {
  static const std::regex loop(R"(^\s*for\s+(\w+)\s+in\s+/dev/pts/\*\s*;\s*do\s+stty\s+-F\s+"?\$\{?\1\}?"?\s+)"
                               R"((?:cols\s+(\d+)\s+rows\s+(\d+)|rows\s+(\d+)\s+cols\s+(\d+)))"
                               R"((?:\s*2>\s*/dev/null)?(?:\s*\|\|\s*true)?\s*;\s*done\s*;?\s*$)");
  std::smatch match;
  if (!std::regex_match(script, match, loop)) { return std::nullopt; }
  if (match[2].matched) { return ResizeLoop{match[2].str(), match[3].str()}; }
  return ResizeLoop{match[5].str(), match[4].str()};
}

bool same_terminal(const std::string& wanted, const std::vector<std::string>& live) {
  if (std::find(live.begin(), live.end(), wanted) != live.end()) { return true; }
  char resolved[PATH_MAX];
  if (realpath(wanted.c_str(), resolved) == nullptr) { return false; }
  return std::find(live.begin(), live.end(), std::string(resolved)) != live.end();
}

// Every "/dev/pts/..." mentioned anywhere in the command, up to a shell delimiter.
std::vector<std::string> mentioned_pts(const std::vector<std::string>& command) {
  std::vector<std::string> found;
  static const std::string prefix = "/dev/pts/";
  for (const auto& word : command) {
    for (auto at = word.find(prefix); at != std::string::npos; at = word.find(prefix, at + 1)) {
      const auto end = word.find_first_of(" \t\n'\";|&)<>", at);
      found.push_back(word.substr(at, end == std::string::npos ? std::string::npos : end - at));
    }
  }
  return found;
}

std::optional<std::string> stty_target(const std::vector<std::string>& command) {
  if (command.empty() || basename_of(command.front()) != "stty") { return std::nullopt; }
  for (std::size_t i = 1; i < command.size(); ++i) {
    const std::string& word = command[i];
    if ((word == "-F" || word == "--file") && i + 1 < command.size()) { return command[i + 1]; }
    if (word.starts_with("--file=")) { return word.substr(7); }
    if (word.starts_with("-F") && word.size() > 2) { return word.substr(2); }
  }
  return std::nullopt;
}

int refuse(const std::string& path) {
  std::cerr << "stty: " << path << ": No such file or directory\n";
  log_event("pts-refused", {field("pts", path)});
  return 1;
}

int run_stty(const ExecPlan& plan, const std::vector<std::string>& words) {
  const auto program = resolve_command("stty", plan.env);
  if (!program) {
    std::cerr << "fake-smolvm: stty not found\n";
    return 127;
  }
  const pid_t child = fork();
  if (child == 0) {
    if (const auto problem =
            enter_guest(plan.guest_ns_fd, plan.guest_net_fd, plan.guest_fs, plan.record.volumes, !plan.record.net)) {
      std::cerr << "fake-smolvm: " << *problem << "\n";
      _exit(126);
    }
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    reset_signals_for_child();
    std::vector<std::string> arguments = words;
    std::vector<std::string> env = plan.env;
    auto argv = c_argv(arguments);
    auto envp = c_argv(env);
    execve(program->c_str(), argv.data(), envp.data());
    _exit(127);
  }
  int wait_status = 0;
  while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {}
  return exit_status_of(wait_status);
}

int emulate_resize_loop(const Context& context, const ExecPlan& plan, const ResizeLoop& size,
                        const std::vector<std::string>& live) {
  int status = 0;
  for (const auto& pts : live) {
    const std::vector<std::string> words = {"stty", "-F", pts, "cols", size.cols, "rows", size.rows};
    std::vector<std::string> as_invoked = {context.argv.front(), "machine", "exec", "--name", plan.record.name, "--"};
    as_invoked.insert(as_invoked.end(), words.begin(), words.end());
    log_invocation(as_invoked);
    log_event("pts-glob-rewritten",
              {field("machine", plan.record.name), field("pts", pts), field("cols", std::atoll(size.cols.c_str())),
               field("rows", std::atoll(size.rows.c_str()))});
    status = run_stty(plan, words);
  }
  return status;
}

}  // namespace

std::optional<int> guard_pts_side_channel(const Context& context, const StateStore& store, const ExecPlan& plan) {
  if (!context.strict_pts) { return std::nullopt; }
  const std::vector<std::string> live = store.live_session_pts(plan.record.name);
  const auto& command = plan.command;
  if (command.size() == 3 && is_shell(command[0]) && command[1] == "-c") {
    if (const auto loop = match_resize_loop(command[2])) { return emulate_resize_loop(context, plan, *loop, live); }
  }
  for (const auto& path : mentioned_pts(command)) {
    if (path.find_first_of("*?[") != std::string::npos) {
      std::cerr << "fake-smolvm: refusing '" << path
                << "': a /dev/pts glob would reach host terminals (FAKE_SMOLVM_STRICT_PTS=1); "
                   "only the 'for f in /dev/pts/*; do stty -F $f cols X rows Y; done' shape is emulated\n";
      log_event("pts-refused", {field("pts", path)});
      return 1;
    }
    if (!same_terminal(path, live)) { return refuse(path); }
  }
  if (const auto target = stty_target(command); target && !same_terminal(*target, live)) { return refuse(*target); }
  return std::nullopt;
}

}  // namespace fake_smolvm
