#include "bottle/frontend/dashboard_launch.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "bottle/core/error.hpp"
#include "bottle/ops/resume.hpp"
#include "bottle/spec/agent.hpp"
#include "core/ascii_text.hpp"
#include "core/json_reader.hpp"

namespace bottle {

Argv agent_launch_argv(const EngineCommands& engine, const BottleSpec& spec, LaunchMode mode) {
  const AgentArgv plain = engine.agent_argv(spec, {}, /*tty=*/true);
  if (mode == LaunchMode::attach) return plain.argv();
  return resume_argv(plain, agent_continue_command(spec, {}));
}

namespace {

// Shared tail of both tmux forms: start directory, environment, then the command
// as separate words (see the header for the one-word case).
void append_pane_command(Argv& argv, const Argv& command, const TmuxOptions& options) {
  argv.insert(argv.end(), {"-c", "/"});
  for (const auto& [key, value] : options.env) argv.insert(argv.end(), {"-e", key + "=" + value});
  argv.emplace_back("--");
  if (command.size() == 1) argv.push_back(shell_quote(command.front()));
  else argv.insert(argv.end(), command.begin(), command.end());
}

}  // namespace

Argv tmux_split_window_argv(const Argv& command, const TmuxOptions& options) {
  Argv argv = {options.tmux, "split-window", "-h", "-P", "-F", "#{pane_id}"};
  append_pane_command(argv, command, options);
  return argv;
}

Argv tmux_respawn_pane_argv(const std::string& pane, const Argv& command, const TmuxOptions& options) {
  Argv argv = {options.tmux, "respawn-pane", "-k", "-t", pane};
  append_pane_command(argv, command, options);
  return argv;
}

std::string parse_tmux_pane_id(std::string_view output) {
  std::string_view id = output;
  if (id.ends_with('\n')) id.remove_suffix(1);
  if (id.ends_with('\r')) id.remove_suffix(1);
  const bool ok = id.size() >= 2 && id.size() <= 10 && id.front() == '%' &&
                  std::all_of(id.begin() + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok)
    throw Error(ErrorKind::backend, fmt::format("tmux split-window: expected a pane id such as %3, got '{}'",
                                                detail::printable(output, 32)));
  return std::string(id);
}

bool inside_tmux(const char* tmux_env) { return tmux_env != nullptr && *tmux_env != '\0'; }

Command foreground_command(const Argv& argv) {
  Command command;
  command.argv = argv;
  command.interactive = true;
  return command;
}

std::string resolve_program(const std::string& program, std::string_view path) {
  if (program.empty() || program.find('/') != std::string::npos) return program;
  for (const std::string_view dir : split_list(path, ':')) {
    // An empty PATH entry means the cwd, which is exactly what must not be relied on.
    if (!dir.empty() && dir.front() == '/') {
      std::string candidate = std::string(dir) + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return program;
}

}  // namespace bottle
