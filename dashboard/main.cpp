// bottle-dashboard: every live agent at a glance. The interactive UI lives in
// app.cpp/view.cpp over libbottle's dashboard model, worker and launch builders;
// this file parses the command line, installs signal handlers and catches
// everything so the terminal is never left in curses mode.
#include <csignal>
#include <ctime>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app.hpp"
#include "bottle/core/error.hpp"
#include "bottle/core/locate.hpp"
#include "bottle/frontend/rows_format.hpp"
#include "bottle/ops/bottles.hpp"

namespace {

constexpr const char* usage_text =
    "usage: bottle-dashboard [--once [--json]] [--help] [--version]\n"
    "\n"
    "Lists every bottle (name, backend, agent, state, workspace, age, egress),\n"
    "refreshed every 2 s, and launches, attaches and resumes agents: in the\n"
    "foreground outside tmux, in a new tmux pane inside tmux.\n"
    "\n"
    "  --once         print the table once and exit (no terminal UI)\n"
    "  --json         with --once: print JSON, as `bottle-cli ls --json`\n"
    "  --help         this text\n"
    "  --version      print the version\n"
    "\n"
    "keys: Up/Down or k/j move, Enter attach, r resume, s stop, d remove,\n"
    "      f fetch (clone mode), l egress log, / filter, ? help, q quit\n"
    "\n"
    "BOTTLE_HOME (or XDG_CONFIG_HOME / XDG_STATE_HOME) selects the state directory.\n"
    "BOTTLE_ENGINE_TIMEOUT=SECONDS limits every engine call (default 30 s for queries,\n"
    "300 s for changes).\n";

extern "C" void on_signal(int signal_number) {
  if (signal_number == SIGINT) bottle::dashboard::interrupted = 1;
  else bottle::dashboard::terminated = 1;
}

// Installed before curses starts, so ncurses keeps them instead of its own.
void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &action, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool once = false;
    bool json = false;
    for (const std::string& arg : std::vector<std::string>(argv + 1, argv + argc)) {
      if (arg == "--help" || arg == "-h") {
        std::cout << usage_text;
        return bottle::exit_code::ok;
      }
      if (arg == "--version") {
        std::cout << "bottle-dashboard " << bottle::bottle_version() << "\n";
        return bottle::exit_code::ok;
      }
      if (arg == "--once") once = true;
      else if (arg == "--json") json = true;
      else throw bottle::Error(bottle::ErrorKind::usage, "unknown argument '" + arg + "' (see --help)");
    }
    if (json && !once) throw bottle::Error(bottle::ErrorKind::usage, "--json needs --once");

    const bottle::Host host = bottle::Host::from_process();
    const auto dirs = bottle::StateDirs::from_environment(host);
    if (once) {
      bottle::SystemRunner runner;
      bottle::Bottles bottles(host, runner, dirs);
      const auto rows = bottles.list();
      std::cout << (json ? bottle::rows_to_json(rows)
                         : bottle::rows_to_table(rows, static_cast<std::int64_t>(std::time(nullptr))));
      return bottle::exit_code::ok;
    }
    install_signal_handlers();
    return bottle::dashboard::run_interactive(host, dirs);
  } catch (const bottle::Error& e) {
    std::cerr << "bottle-dashboard: error: " << e.what() << "\n";
    return bottle::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "bottle-dashboard: internal error: " << e.what() << "\n";
    return bottle::exit_code::failure;
  }
}
