#pragma once
// How the dashboard launches an agent: pure argv builders over the one agent argv
// builder, EngineCommands::agent_argv, so every engine launches the same way from the
// CLI, the dashboard's foreground path and its tmux path.
//
//   attach:  agent_argv(spec, {}, tty=true).argv()
//   resume:  resume_argv(agent_argv(...), agent_continue_command(spec, {}))
//            = <prefix...> sh -c '<agent continue form> || <agent>'
//   tmux:    tmux split-window -h -P -F '#{pane_id}' -c / [-e PATH=..] -- <argv...>
//            tmux respawn-pane -k -t PANE -c / [-e PATH=..] -- <argv...>
//
// The tmux forms start the pane in "/" so nothing depends on a pane's cwd, and
// pass the argv as separate words after "--": with two or more words tmux 3.x
// execs them directly, with no shell in between. A one-word argv would be handed
// to a shell by tmux, so it is shell-quoted first.

#include <map>
#include <string>
#include <string_view>

#include "bottle/backends/engine_commands.hpp"
#include "bottle/core/subprocess.hpp"

namespace bottle {

enum class LaunchMode { attach, resume };

/// The argv that runs the agent interactively (tty) in the bottle.
Argv agent_launch_argv(const EngineCommands& engine, const BottleSpec& spec, LaunchMode mode);

struct TmuxOptions {
  std::string tmux = "tmux";               ///< the tmux program
  std::map<std::string, std::string> env;  ///< passed as -e K=V (e.g. PATH)
};

/// Open a new pane beside the current one running `command`; tmux prints the new
/// pane's id ("%N") on stdout.
Argv tmux_split_window_argv(const Argv& command, const TmuxOptions& options = {});
/// Replace what runs in `pane` ("%N") with `command`, killing what ran there.
Argv tmux_respawn_pane_argv(const std::string& pane, const Argv& command, const TmuxOptions& options = {});

/// The pane id `tmux split-window -P -F '#{pane_id}'` printed: "%N" and an optional
/// line ending, nothing else. It is later passed back as `respawn-pane -t PANE`, so
/// anything else is refused: throws Error(backend) describing the output.
std::string parse_tmux_pane_id(std::string_view output);

/// True when $TMUX (passed in) names a tmux session this process runs inside.
bool inside_tmux(const char* tmux_env);

/// The foreground handoff: run on the user's terminal, nothing captured. The
/// caller leaves curses before and restores it after.
Command foreground_command(const Argv& argv);

/// `program` as an absolute path: unchanged when it contains '/', else the first
/// executable file named so in the ':'-separated `path`; unchanged when not found.
std::string resolve_program(const std::string& program, std::string_view path);

}  // namespace bottle
