// State on disk is fail-closed and crash-safe:
// - a corrupt spec, credential state or egress CA makes the commands that read it
//   fail with the file's path, and is left byte for byte as it was;
// - bottle-cli killed (SIGKILL) at any moment of `create` leaves the spec absent or
//   whole, never partial, and what a killed writer leaves behind is ignored;
// - a writer killed in the middle of write_file_atomic leaves the old or the new
//   file, and its temporary file is removed by a later write once stale.
// smolmachines runs against the fake smolvm (tests/fakes), so no VM engine is needed.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "bottle/spec/spec.hpp"
#include "cli_harness.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void spit(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Everything about a file that "left as it was" covers.
struct Snapshot {
  bool is_dir = false;
  std::string bytes;
  unsigned mode = 0;
  std::int64_t mtime_ns = 0;
  ino_t inode = 0;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  Snapshot s;
  s.is_dir = S_ISDIR(st.st_mode);
  if (!s.is_dir) s.bytes = slurp(path);
  s.mode = st.st_mode & 07777;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.inode = st.st_ino;
  return s;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

int count_temps(const fs::path& dir, const std::string& file) {
  int n = 0;
  for (const auto& name : entries(dir)) n += name.rfind("." + file + ".tmp-", 0) == 0 ? 1 : 0;
  return n;
}

// Run bottle-cli ARGS in a process group of its own and SIGKILL it (only it) as soon
// as `kill_now()` says so (polled every 100 µs). Returns true if the kill landed (it
// had not exited yet). Returns once no process of its group (the engine CLIs it
// started) is left, so the next step sees the engine's state settled.
bool run_cli_and_kill(IntegrationHome& home, const std::vector<std::string>& args,
                      const std::function<bool()>& kill_now) {
  std::vector<std::string> words = {test_paths::bottle_cli};
  words.insert(words.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    for (const auto& [key, value] : home.env()) ::setenv(key.c_str(), value.c_str(), 1);
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we signal it
  int status = 0;
  bool exited_already = false;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited_already = true;
      break;
    }
    if (kill_now()) {
      ::kill(pid, SIGKILL);
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      break;
    }
    std::this_thread::sleep_for(100us);
  }
  const auto deadline = Clock::now() + 20s;
  while (::kill(-pid, 0) == 0 && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  REQUIRE(::kill(-pid, 0) != 0);
  return !exited_already && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

bool run_cli_and_kill(IntegrationHome& home, const std::vector<std::string>& args, Clock::duration delay) {
  const auto at = Clock::now() + delay;
  return run_cli_and_kill(home, args, [at] { return Clock::now() >= at; });
}

}  // namespace

TEST_CASE("durability: a corrupt stored spec fails every command with its path and is left byte-identical",
          "[durability][integration]") {
  IntegrationHome home;
  home.use_fake_smolvm();
  const std::string name = unique_bottle_name("it-corrupt");
  const fs::path spec_file = home.path() / "config" / "bottles" / (name + ".json");
  const std::vector<std::string> create = {"create", "--backend", "smolmachines", "--name", name, "--user", "nobody"};
  auto r = home.cli(create);
  INFO(r.err);
  REQUIRE(r.ok());
  REQUIRE(home.cli({"stop", name}).ok());
  const std::string valid = slurp(spec_file);
  REQUIRE_FALSE(valid.empty());

  // The other spec field values stay valid JSON of the wrong shape, etc.
  std::string other_name = valid;
  other_name.replace(other_name.find(name), name.size(), "someone-else");
  const std::vector<std::pair<std::string, std::string>> corruptions = {
      {"truncated", valid.substr(0, valid.size() / 2)},
      {"empty", ""},
      {"binary garbage", std::string("\x7f"
                                     "ELF\x02\x01\x01\0\0\xff\xfe",
                                     11)},
      {"another bottle's name", other_name},
      {"an unknown key", "{\"name\": \"" + name + "\", \"backend\": \"smolmachines\", \"surprise\": 1}"},
      {"a directory", ""},
  };
  const std::vector<std::vector<std::string>> commands = {
      {"ls"},
      {"ls", "--json"},
      {"start", name},
      {"stop", name},
      {"rm", name},
      {"rm", "--force", name},
      {"config", "show", name},
      {"exec", name, "--", "true"},
      {"render", "env", name},
      create,
      {"up", "--backend", "smolmachines", "--name", name, "--user", "nobody"},
  };
  for (const auto& [what, content] : corruptions) {
    DYNAMIC_SECTION("spec file: " << what) {
      fs::remove(spec_file);
      if (what == "a directory") {
        fs::create_directory(spec_file);
        spit(spec_file / "inside", "x");
      } else {
        spit(spec_file, content);
        fs::permissions(spec_file, fs::perms::owner_read | fs::perms::owner_write);
      }
      const Snapshot before = snapshot(spec_file);
      for (const auto& args : commands) {
        std::string line;
        for (const auto& a : args) line += a + " ";
        INFO("bottle-cli " << line);
        r = home.cli(args);
        INFO("stderr: " << r.err);
        CHECK((r.code == 3 || (what == "a directory" && r.code == 1)));
        CHECK_THAT(r.err, Catch::Contains(spec_file.string()));
        CHECK(r.out.empty());
        CHECK(snapshot(spec_file) == before);
        if (what == "a directory") CHECK(entries(spec_file) == std::vector<std::string>{"inside"});
      }
      // Nothing else in the store was touched, and the engine still has the machine.
      CHECK(entries(spec_file.parent_path()) == std::vector<std::string>{name + ".json"});
      bottle::SystemRunner runner;
      bottle::Command ls{.argv = {(home.path() / "bin" / "smolvm").string(), "machine", "ls", "--json"}};
      ls.env = home.env();
      CHECK_THAT(runner.run(ls).out, Catch::Contains("bottle-" + name));
    }
  }
  // Put the valid spec back so the bottle can be removed.
  fs::remove_all(spec_file);
  spit(spec_file, valid);
  CHECK(home.cli({"rm", "--force", name}).ok());
}

TEST_CASE("durability: corrupt credential state and a corrupt egress CA are reported, not replaced",
          "[durability][integration]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-corrupt-st");
  const bottle::StateDirs dirs{home.path() / "config", home.path() / "state"};

  SECTION("credential state") {
    bottle::BottleSpec spec;
    spec.name = name;
    spec.agent = bottle::AgentKind::codex;
    spec.forward_host_credentials = true;
    bottle::SpecStore(dirs).save(spec);
    const fs::path state_file = dirs.bottle_state_dir(name) / "credentials.json";
    for (const std::string& content : {std::string("{\"version\": 1, \"files\": [{\"path\": \"/x\""), std::string(),
                                       std::string("{\"version\": 7}"), std::string("[1, 2]")}) {
      bottle::write_file_atomic(state_file, content, 0600);
      const Snapshot before = snapshot(state_file);
      const auto r = home.cli({"render", "egress", name});
      INFO(r.err);
      CHECK(r.code == 3);
      CHECK_THAT(r.err, Catch::Contains(state_file.string()) && Catch::Contains("corrupt"));
      CHECK(snapshot(state_file) == before);
    }
  }

  SECTION("egress CA") {
    const fs::path ca_file = dirs.state / "ca" / "mitmproxy-ca.pem";
    bottle::write_file_atomic(ca_file, "-----BEGIN PRIVATE KEY-----\ntruncat", 0600);
    const Snapshot before = snapshot(ca_file);
    const auto r = home.cli({"create", "--backend", "docker", "--name", name, "--image", "bottle-test:latest"});
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Catch::Contains(ca_file.string()));
    CHECK(snapshot(ca_file) == before);
    CHECK(entries(ca_file.parent_path()) == std::vector<std::string>{"mitmproxy-ca.pem"});
    // Refused before anything existed: no spec, no container, no network.
    CHECK_FALSE(fs::exists(dirs.spec_path(name)));
    bottle::SystemRunner runner;
    const auto ps = runner.run({.argv = {"docker", "ps", "-a", "--format", "{{.Names}}"}});
    REQUIRE(ps.ok());
    CHECK_THAT(ps.out, !Catch::Contains("bottle-" + name));
    const auto nets = runner.run({.argv = {"docker", "network", "ls", "--format", "{{.Name}}"}});
    CHECK_THAT(nets.out, !Catch::Contains("bottle-" + name));
  }
}

TEST_CASE("durability: bottle-cli create killed at any moment leaves the spec absent or whole",
          "[durability][integration]") {
  IntegrationHome home;
  home.use_fake_smolvm();
  const std::string name = unique_bottle_name("it-kill");
  const fs::path bottles_dir = home.path() / "config" / "bottles";
  const fs::path spec_file = bottles_dir / (name + ".json");
  // A large spec (a long allowlist, some MB of JSON), so that writing it takes long
  // enough for kills to land inside the write.
  {
    std::string allow;
    for (int i = 0; i < 100000; ++i) allow += (i ? ",\"h" : "\"h") + std::to_string(i) + ".example.com\"";
    spit(home.path() / "big.json", "{\"name\": \"" + name +
                                       "\", \"backend\": \"smolmachines\", \"user\": \"nobody\", "
                                       "\"env\": {\"GREETING\": \"hello\"}, \"allowlist\": [" +
                                       allow + "]}");
  }
  const std::vector<std::string> create = {"create", "--spec", (home.path() / "big.json").string()};
  bottle::SystemRunner runner;
  auto remove_machine = [&] {
    bottle::Command del{
        .argv = {(home.path() / "bin" / "smolvm").string(), "machine", "delete", "-f", "bottle-" + name}};
    del.env = home.env();
    runner.run(del);
  };

  // A complete run: what the spec must be, how long a create takes.
  const auto t0 = Clock::now();
  auto r = home.cli(create);
  const auto full = Clock::now() - t0;
  INFO(r.err);
  REQUIRE(r.ok());
  const std::string expected = slurp(spec_file);
  REQUIRE(bottle::parse_spec(expected).name == name);
  REQUIRE(expected.size() > (1 << 20));
  CHECK(mode_of(spec_file) == 0600);
  CHECK(mode_of(bottles_dir) == 0700);
  CHECK(mode_of(home.path() / "config") == 0700);
  REQUIRE(home.cli({"rm", "--force", name}).ok());
  REQUIRE_FALSE(fs::exists(spec_file));

  // Kill points over the whole run first. Then the kills bracket the moment the spec
  // is written, wherever in the run it falls (a sanitizer build moves it): the latest
  // kill that left no spec and the latest that left it whole bound it, each kill lands
  // between them, and once they are close, around them, so kills keep landing inside
  // the write. Runs differ, so a bound that crosses the other pushes it aside, further
  // each time it happens again in a row.
  // Last, rounds that kill the moment the spec's temporary file appears: a timed
  // kill lands inside the write only by luck where runs jitter more than the write
  // lasts (a sanitizer build).
  constexpr int rounds = 80, spread_rounds = 20, at_write_rounds = 10;
  constexpr Clock::duration window = 3ms;
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  const auto fraction_of = [&](Clock::duration span) {
    return std::chrono::duration_cast<Clock::duration>(span * (static_cast<double>(random()) / random.max()));
  };
  // The spread reaches twice the measured run: a busy machine (the sanitizer build
  // compiles beside this test in CI) makes later runs slower than the one measured,
  // and the spread must still land kills after the write.
  const Clock::duration spread = full * 2;
  Clock::duration before_write = Clock::duration::zero();
  Clock::duration after_write = spread;
  Clock::duration reach = window;
  bool spec_there = false;
  int kills = 0, absent = 0, whole = 0, mid_write = 0, temps = 0;
  // A kill at `delay` found the spec written or not: move the bracket.
  const auto learn = [&](int i, Clock::duration delay, bool written) {
    // Over the spread the earliest "whole" and the latest "absent" count; after it,
    // the latest of each, so the bracket follows how long this machine takes now.
    if (written) after_write = i < spread_rounds ? std::min(after_write, delay) : delay;
    else before_write = i < spread_rounds ? std::max(before_write, delay) : delay;
    if (after_write > before_write) {
      reach = window;
      return;
    }
    if (written) before_write = std::max(Clock::duration::zero(), after_write - reach);
    else after_write = before_write + reach;
    reach *= 2;  // crossed again: the write is further off than the last push assumed
  };
  for (int i = 0; i < rounds + at_write_rounds; ++i) {
    if (i < rounds) {
      Clock::duration delay;
      if (i < spread_rounds) {
        delay = spread * i / spread_rounds + std::chrono::microseconds(random() % 5000);
      } else {
        const Clock::duration gap = after_write - before_write;
        delay = gap > window ? before_write + fraction_of(gap)
                             : std::max(Clock::duration::zero(), before_write - window) + fraction_of(gap + 2 * window);
      }
      kills += run_cli_and_kill(home, create, delay) ? 1 : 0;
      spec_there = fs::exists(spec_file);
      learn(i, delay, spec_there);
    } else {
      const int temps_before = count_temps(bottles_dir, name + ".json");
      const auto temp_appeared = [&] { return count_temps(bottles_dir, name + ".json") > temps_before; };
      kills += run_cli_and_kill(home, create, temp_appeared) ? 1 : 0;
      spec_there = fs::exists(spec_file);
    }
    INFO("round " << i);
    // The store holds the whole spec or none, plus temporary files of killed writes.
    for (const auto& entry : entries(bottles_dir))
      CHECK((entry == name + ".json" || entry.rfind("." + name + ".json.tmp-", 0) == 0));
    const int temps_now = count_temps(bottles_dir, name + ".json");
    mid_write += temps_now > temps ? 1 : 0;
    temps = temps_now;
    if (spec_there) {
      ++whole;
      const bool as_written = slurp(spec_file) == expected;  // whole: never truncated, never mixed
      CHECK(as_written);
      CHECK(mode_of(spec_file) == 0600);
      r = home.cli({"ls", "--json"});
      CHECK(r.ok());
      CHECK_THAT(r.out, Catch::Contains("\"name\":\"" + name + "\""));
      r = home.cli({"rm", "--force", name});
      INFO(r.err);
      REQUIRE(r.ok());
    } else {
      ++absent;
      r = home.cli({"ls", "--json"});  // leftovers of the killed run are not bottles
      INFO(r.err);
      CHECK(r.ok());
      CHECK_THAT(r.out, !Catch::Contains("\"managed\":true"));
      remove_machine();
      fs::remove_all(home.path() / "state" / "bottles" / name);
    }
  }
  WARN("create runs: " << rounds + at_write_rounds << ", SIGKILLed: " << kills << ", spec absent after: " << absent
                       << ", spec whole after: " << whole
                       << ", killed while writing the spec (temp left): " << mid_write
                       << ", full run: " << std::chrono::duration_cast<std::chrono::milliseconds>(full).count()
                       << " ms, the write bracketed at "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(before_write).count() << "-"
                       << std::chrono::duration_cast<std::chrono::milliseconds>(after_write).count() << " ms");
  // The kill points covered both sides of the spec write, and its inside.
  CHECK(kills >= rounds / 4);
  CHECK(absent >= 10);
  CHECK(whole >= 10);
  CHECK(mid_write >= 1);
}

TEST_CASE("durability: a writer killed inside write_file_atomic leaves the old or the new file",
          "[durability][integration]") {
  IntegrationHome home;  // a private directory
  const fs::path dir = home.path() / "store";
  const fs::path file = dir / "state.json";
  // Large enough that a kill often lands between the first write and the rename.
  const std::string contents[2] = {std::string(6 << 20, 'a') + "\"old\"\n", std::string(5 << 20, 'b') + "\"new\"\n"};
  bottle::write_file_atomic(file, contents[0], 0600);

  // How long a whole forked writer takes here, fork to exit, when nothing kills it:
  // kills then land before, inside and after its write.
  Clock::duration one_write{};
  for (const std::string* text : {&contents[1], &contents[0]}) {
    const auto t0 = Clock::now();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        bottle::write_file_atomic(file, *text, 0600);
      } catch (...) { ::_exit(1); }
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    one_write = std::max(one_write, Clock::now() - t0);
  }

  constexpr int rounds = 40;
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  int kills = 0, mid_write = 0, replaced = 0;
  int current = 0;
  for (int i = 0; i < rounds; ++i) {
    const int next = 1 - current;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        bottle::write_file_atomic(file, contents[next], 0600);
      } catch (...) { ::_exit(1); }
      ::_exit(0);
    }
    std::this_thread::sleep_for(one_write * (random() % 1400) / 1000);
    kills += ::kill(pid, SIGKILL) == 0 ? 1 : 0;
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
    INFO("round " << i);
    const std::string now = slurp(file);
    const bool is_old = now == contents[current], is_new = now == contents[next];
    CHECK((is_old || is_new));  // never a mix, never truncated
    CHECK(mode_of(file) == 0600);
    mid_write += count_temps(dir, "state.json") > 0 && is_old ? 1 : 0;
    if (is_new) {
      ++replaced;
      current = next;
    }
    // Anything else in the directory is a temporary file of a killed writer.
    for (const auto& e : entries(dir)) CHECK((e == "state.json" || e.rfind(".state.json.tmp-", 0) == 0));
  }
  const int leftovers = count_temps(dir, "state.json");
  WARN("writes: " << rounds << ", SIGKILLs sent: " << kills << ", killed mid-write (temp left): " << mid_write
                  << ", completed: " << replaced << ", temporary files left: " << leftovers << ", one write: "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(one_write).count() << " ms");
  CHECK(mid_write > 0);  // some kills did land between mkstemp and rename
  CHECK(replaced > 0);

  // Leftovers are not read; once stale, the next write of the file removes them, but
  // not a fresh temporary file (which may belong to a live writer).
  for (const auto& e : entries(dir)) {
    if (e == "state.json") continue;
    const fs::path p = dir / e;
    fs::last_write_time(p, fs::last_write_time(p) - bottle::stale_temp_age - 1min);
  }
  const fs::path fresh = dir / ".state.json.tmp-FRESH1";
  spit(fresh, "partial");
  bottle::write_file_atomic(file, "{}\n", 0600);
  CHECK(entries(dir) == std::vector<std::string>{".state.json.tmp-FRESH1", "state.json"});
  CHECK(slurp(file) == "{}\n");
}
