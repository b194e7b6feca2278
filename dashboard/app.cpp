#include "app.hpp"

#include <curses.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "bottle/core/error.hpp"
#include "bottle/frontend/dashboard_launch.hpp"
#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/dashboard_worker.hpp"
#include "view.hpp"

namespace bottle::dashboard {

volatile std::sig_atomic_t interrupted = 0;
volatile std::sig_atomic_t terminated = 0;

namespace {

// endwin() in a destructor: every way out of run_interactive (return, exception)
// restores the terminal.
class CursesSession {
 public:
  CursesSession() {
    screen_ = newterm(nullptr, stdout, stdin);
    if (screen_ == nullptr) throw Error(ErrorKind::invalid_input, "cannot start the terminal UI (is TERM set?)");
    set_term(screen_);
    cbreak();  // not raw(): ^C still raises SIGINT, which our handler turns into a clean exit
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    timeout(100);  // the key loop wakes at least this often for refreshes and signals
  }
  ~CursesSession() {
    if (!isendwin()) endwin();
    delscreen(screen_);
  }
  CursesSession(const CursesSession&) = delete;
  CursesSession& operator=(const CursesSession&) = delete;

 private:
  SCREEN* screen_ = nullptr;
};

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

class App {
 public:
  App(const Host& host, const StateDirs& dirs)
      : host_(host),
        dirs_(dirs),
        bottles_(host, runner_, dirs),
        worker_(host, std::make_unique<SystemRunner>(), dirs),
        in_tmux_(inside_tmux(host.env(Var::tmux) ? host.env(Var::tmux)->c_str() : nullptr)) {}

  int run() {
    CursesSession session;
    worker_.start();
    model_.set_status("loading...");
    bool dirty = true;
    auto last_draw = std::chrono::steady_clock::now();
    while (!interrupted && !terminated) {
      if (auto snap = worker_.take_snapshot()) {
        model_.set_rows(std::move(snap->rows));
        if (!snap->error.empty()) model_.set_status("refresh failed: " + snap->error, true);
        else if (model_.status() == "loading..." || model_.status().starts_with("refresh failed"))
          model_.set_status("");
        dirty = true;
      }
      if (auto log = worker_.take_egress_log()) {
        model_.set_egress_log(log->bottle, std::move(log->records));
        dirty = true;
      }
      for (auto& m : worker_.take_messages()) {
        model_.set_status(std::move(m.text), m.error);
        dirty = true;
      }
      // Ages tick: redraw at least once a second even when nothing else changed.
      if (dirty || std::chrono::steady_clock::now() - last_draw > std::chrono::seconds(1)) {
        draw(model_, unix_now(), in_tmux_);
        last_draw = std::chrono::steady_clock::now();
        dirty = false;
      }
      const int ch = getch();
      if (ch == ERR) continue;
      if (ch == KEY_RESIZE) clearok(curscr, TRUE);  // repaint everything at the new size
      const int key = translate_key(ch);
      if (key < 0) continue;
      const DashAction action = model_.on_key(key);
      if (action.kind == DashAction::Kind::quit) break;
      perform(action);
      // The worker reads the open egress log (a file read stays off this thread).
      if (model_.egress_log_bottle() != watched_) {
        watched_ = model_.egress_log_bottle();
        worker_.watch_egress(watched_);
      }
      dirty = true;
    }
    // Restore the terminal first, then stop the worker: stopping kills an engine
    // call in flight, so q quits at once even when the engine hangs.
    endwin();
    worker_.stop();
    return terminated ? 128 + SIGTERM : interrupted ? 128 + SIGINT : 0;
  }

 private:
  void perform(const DashAction& action) {
    using K = DashAction::Kind;
    switch (action.kind) {
      case K::attach: launch(action.bottle, LaunchMode::attach); break;
      case K::resume: launch(action.bottle, LaunchMode::resume); break;
      case K::stop:
        model_.set_status("stopping " + action.bottle + "...");
        worker_.submit(DashboardWorker::Job::stop, action.bottle);
        break;
      case K::remove:
        model_.set_status("removing " + action.bottle + "...");
        worker_.submit(DashboardWorker::Job::remove, action.bottle);
        break;
      case K::fetch:
        model_.set_status("fetching " + action.bottle + "...");
        worker_.submit(DashboardWorker::Job::fetch, action.bottle);
        break;
      default: break;
    }
  }

  void launch(const std::string& name, LaunchMode mode) {
    const char* what = mode == LaunchMode::attach ? "attach" : "resume";
    try {
      const BottleSpec spec = bottles_.spec(name);
      Argv argv = agent_launch_argv(bottles_.backend(spec.backend).commands(), spec, mode);
      // The pane or child may start anywhere: make the program an absolute path.
      argv.front() = resolve_program(argv.front(), host_.env_or(Var::path, ""));
      if (in_tmux_) {
        launch_in_tmux(name, argv);
        model_.set_status(std::string(what) + " " + name + ": opened in a tmux pane");
      } else {
        const int status = launch_foreground(argv);
        model_.set_status(std::string(what) + " " + name + ": agent exited with status " + std::to_string(status),
                          status != 0);
      }
    } catch (const std::exception& e) { model_.set_status(std::string(what) + " " + name + ": " + e.what(), true); }
    worker_.request_refresh();
  }

  // Leave curses, hand the terminal to the agent, come back with the model intact.
  int launch_foreground(const Argv& argv) {
    def_prog_mode();
    endwin();
    const ProcessResult r = runner_.run(foreground_command(argv));
    reset_prog_mode();
    clearok(curscr, TRUE);
    refresh();
    interrupted = 0;  // a ^C meant for the agent is not a request to quit the dashboard
    if (!r.started()) throw Error(ErrorKind::backend, "could not start " + argv.front() + ": " + r.start_error);
    return r.shell_status();
  }

  // One pane per bottle: relaunching respawns the bottle's pane if it still exists,
  // otherwise a new pane is split off the dashboard's.
  void launch_in_tmux(const std::string& name, const Argv& argv) {
    TmuxOptions options;
    options.env["PATH"] = host_.env_or(Var::path, "");
    const std::string self = host_.env_or(Var::tmux_pane, "");
    const auto known = panes_.find(name);
    if (known != panes_.end() && pane_alive(known->second)) {
      // The pane may close between the check and the respawn (its agent just exited);
      // then the agent gets a new pane like the first time.
      if (runner_.run(Command{.argv = tmux_respawn_pane_argv(known->second, argv, options)}).ok()) return;
    }
    Argv split = tmux_split_window_argv(argv, options);
    if (!self.empty()) split.insert(split.begin() + 2, {"-t", self});
    // The id goes back into tmux argvs later: only a well-formed "%N" is kept.
    panes_[name] = parse_tmux_pane_id(run_tmux(split).out);
  }

  bool pane_alive(const std::string& pane) {
    Command query;
    query.argv = {"tmux", "display-message", "-p", "-t", pane, "#{pane_id}"};
    const ProcessResult r = runner_.run(query);
    if (!r.ok()) return false;
    try {
      return parse_tmux_pane_id(r.out) == pane;  // exactly: "%1" is not "%12"
    } catch (const Error&) { return false; }
  }

  ProcessResult run_tmux(const Argv& argv) {
    Command command;
    command.argv = argv;
    ProcessResult r = runner_.run(command);
    if (!r.ok())
      throw Error(ErrorKind::backend, "tmux " + argv.at(1) + " failed: " + (r.started() ? r.err : r.start_error));
    return r;
  }

  Host host_;
  StateDirs dirs_;
  SystemRunner runner_;
  Bottles bottles_;  // UI thread: specs and pure argv builders only
  DashboardWorker worker_;
  DashboardModel model_;
  bool in_tmux_;
  std::map<std::string, std::string> panes_;
  std::string watched_;  // the bottle whose egress log the worker reads; "" none
};

}  // namespace

int run_interactive(const Host& host, const StateDirs& dirs) {
  App app(host, dirs);
  return app.run();
}

}  // namespace bottle::dashboard
