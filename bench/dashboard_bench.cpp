// dashboard_bench: frame time and key-to-screen latency of bottle-dashboard's view
// with 200 bottles, while the background worker keeps refreshing against a slow
// fake engine (each `smolvm machine ls` takes 300 ms). Prints figures only.
//
//   build/bin/dashboard_bench        (needs a TERM with a terminfo entry; defaults to xterm)
#include <curses.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/frontend/dashboard_model.hpp"
#include "bottle/frontend/dashboard_worker.hpp"
#include "view.hpp"

using namespace bottle;
using BenchClock = std::chrono::steady_clock;

namespace {

constexpr int bottle_count = 200;
constexpr auto engine_delay = std::chrono::milliseconds(300);

// A smolvm that answers `machine ls --json` with every bottle, slowly.
class SlowEngine final : public Runner {
 public:
  ProcessResult run(const Command& command) override {
    std::this_thread::sleep_for(engine_delay);
    if (command.argv.size() >= 3 && command.argv[1] == "machine" && command.argv[2] == "ls") {
      std::string out = "[";
      for (int i = 0; i < bottle_count; ++i)
        out += (i ? "," : "") + std::string("{\"name\":\"bottle-b") + std::to_string(i) +
               "\",\"state\":\"running\",\"created_at\":" + std::to_string(std::time(nullptr) - i * 97) + "}";
      return exited(0, out + "]");
    }
    return exited(0);
  }
};

double ms(BenchClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void report(const char* what, std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double s : samples) sum += s;
  std::printf("%-34s n=%zu  mean %.3f ms  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", what, samples.size(),
              sum / static_cast<double>(samples.size()), samples[samples.size() / 2],
              samples[samples.size() * 99 / 100], samples.back());
}

}  // namespace

int main() {
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / "bottle-dash-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path home = pattern;
  const StateDirs dirs{home / "config", home / "state"};
  SpecStore store(dirs);
  for (int i = 0; i < bottle_count; ++i) {
    BottleSpec spec;
    spec.name = "b" + std::to_string(i);
    spec.backend = BackendKind::smolmachines;
    spec.workspaces = {{"/src/project-" + std::to_string(i), "/workspace", false}};
    store.save(spec);
  }
  const BackendFactory factory = [](BackendKind, Runner& runner) -> std::unique_ptr<Backend> {
    return std::make_unique<Backend>(
        runner, std::make_unique<SmolmachinesCommands>(SmolmachinesOptions{.pty_resize = "/x/pty-resize"}));
  };

  // Draw into a 200x50 terminal whose output goes nowhere: the cost measured is the
  // model walk, the layout and curses' diffing, as on a real terminal.
  if (std::getenv("TERM") == nullptr) ::setenv("TERM", "xterm", 1);
  ::setenv("LINES", "50", 1);
  ::setenv("COLUMNS", "200", 1);
  FILE* sink = std::fopen("/dev/null", "w");
  SCREEN* screen = newterm(nullptr, sink, stdin);
  if (screen == nullptr) {
    std::fprintf(stderr, "dashboard_bench: cannot start curses (TERM?)\n");
    return 1;
  }
  set_term(screen);
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);

  DashboardWorker worker(Host{}, std::make_unique<SlowEngine>(), dirs, factory, std::chrono::milliseconds(0));
  worker.start();
  DashboardModel model;
  const auto first = BenchClock::now();
  std::optional<DashboardWorker::Snapshot> snap;
  while (!(snap = worker.take_snapshot())) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double first_list_ms = ms(BenchClock::now() - first);
  model.set_rows(std::move(snap->rows));

  std::vector<double> frames;
  for (int i = 0; i < 500; ++i) {
    if (i % 2 == 0) clearok(curscr, TRUE);  // half the frames are full repaints
    const auto t0 = BenchClock::now();
    dashboard::draw(model, std::time(nullptr), false);
    frames.push_back(ms(BenchClock::now() - t0));
  }

  // Key to screen, the app loop's path: getch, model, pick up any snapshot, draw.
  // The worker refreshes back to back the whole time (each refresh blocks 300 ms).
  std::vector<double> keys;
  const auto refreshes_before = worker.refreshes();
  const auto run_start = BenchClock::now();
  for (int i = 0; i < 400; ++i) {
    const auto t0 = BenchClock::now();
    ungetch((i / 100) % 2 == 0 ? KEY_DOWN : KEY_UP);
    const int ch = getch();
    model.on_key(dashboard::translate_key(ch));
    if (auto s = worker.take_snapshot()) model.set_rows(std::move(s->rows));
    dashboard::draw(model, std::time(nullptr), false);
    keys.push_back(ms(BenchClock::now() - t0));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a fast typist
  }
  const double run_ms = ms(BenchClock::now() - run_start);
  const auto refreshes = worker.refreshes() - refreshes_before;
  endwin();
  delscreen(screen);
  std::fclose(sink);
  worker.stop();

  std::printf("bottles: %d, terminal 200x50, engine list call: %lld ms\n", bottle_count,
              static_cast<long long>(engine_delay.count()));
  std::printf("first list (worker thread): %.1f ms\n", first_list_ms);
  report("redraw per frame", frames);
  report("key-to-screen latency", keys);
  std::printf("background refreshes completed during the %.0f ms key run: %llu\n", run_ms,
              static_cast<unsigned long long>(refreshes));
  fs::remove_all(home);
  return 0;
}
