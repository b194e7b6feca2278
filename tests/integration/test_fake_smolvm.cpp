// Self-test of the fake `smolvm` (reference/smolvm-cli.md §10): exact strings, streams and
// exit codes, the PTY emulation, the strict /dev/pts side-channel guard and the guest mount
// namespace that gives volumes VM semantics. Other tests trust the fake, so its fidelity
// is checked here against the spec, not against bottle.
#include "test_paths.hpp"

#include "bottle/core/subprocess.hpp"

#include <catch2/catch.hpp>

#include <linux/capability.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

// Child side of every spawn: overlay env, then exec the fake as "smolvm".
[[noreturn]] void exec_fake(const std::vector<std::string>& args, const Env& env) {
  for (const auto& [key, value] : env) { setenv(key.c_str(), value.c_str(), 1); }
  std::vector<std::string> words = {"smolvm"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) { argv.push_back(word.data()); }
  argv.push_back(nullptr);
  execv(test_paths::fake_smolvm, argv.data());
  _exit(127);
}

// `without_sys_admin` runs the fake as root minus CAP_SYS_ADMIN (dropped from the bounding
// set by setpriv, so exec cannot grant it back): what a non-root run looks like to mount(2).
Result run_fake(const std::vector<std::string>& args, const Env& env, const std::string& input = "",
                bool without_sys_admin = false) {
  bottle::Command command{.argv = {test_paths::fake_smolvm}, .env = env, .stdin_data = input};
  if (without_sys_admin) { command.argv.insert(command.argv.begin(), {"setpriv", "--bounding-set", "-sys_admin"}); }
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  bottle::SystemRunner runner;
  bottle::ProcessResult r = runner.run(command);
  REQUIRE(r.started());
  return Result{r.shell_status(), std::move(r.out), std::move(r.err)};
}

std::string usage_error(const std::string& first_line, const std::string& usage) {
  return "error: " + first_line + "\n\nUsage: " + usage + "\n\nFor more information, try '--help'.\n";
}

// A fresh state dir per test; machines still running at the end are stopped so no
// stand-in VMM outlives the test.
struct FakeState {
  FakeState() {
    std::string pattern = (fs::temp_directory_path() / "fake-smolvm-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~FakeState() {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir / "machines", error)) {
      if (entry.path().extension() == ".json") {
        run_fake({"machine", "stop", "--name", entry.path().stem().string()}, env());
      }
    }
    fs::remove_all(dir, error);
  }
  FakeState(const FakeState&) = delete;
  FakeState& operator=(const FakeState&) = delete;

  [[nodiscard]] Env env(const std::string& version = "0.8.0") const {
    return {{"FAKE_SMOLVM_STATE", dir.string()},
            {"FAKE_SMOLVM_VERSION", version},
            {"FAKE_SMOLVM_LOG", (dir / "log.jsonl").string()}};
  }
  Result run(const std::vector<std::string>& args, const std::string& version = "0.8.0") const {
    return run_fake(args, env(version));
  }
  void create_and_start(const std::string& name, const std::vector<std::string>& extra = {},
                        const std::string& version = "0.8.0") const {
    std::vector<std::string> args = {"machine", "create", name};
    args.insert(args.end(), extra.begin(), extra.end());
    REQUIRE(run(args, version).status == 0);
    REQUIRE(run({"machine", "start", "--name", name}, version).status == 0);
  }

  fs::path dir;
};

std::string created_block(const std::string& name) {
  return "Created machine: " + name + "\n  CPUs: 4, Memory: 8192 MiB\n\nUse 'smolvm machine start --name " + name +
         "' to start the machine\nThen use 'smolvm machine exec --name " + name + " -- <command>' to run commands\n";
}

// A reparented stand-in may linger as a zombie until its reaper runs: that counts as dead.
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) { return false; }
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

long pid_in(const std::string& text) {
  const auto at = text.find("(PID: ");
  return at == std::string::npos ? -1 : std::stol(text.substr(at + 6));
}

// ---- PTY helpers -------------------------------------------------------------------

struct PtyChild {
  pid_t pid = -1;
  int master = -1;
  std::string slave_name;
};

PtyChild spawn_in_pty(const std::vector<std::string>& args, const Env& env, unsigned short cols, unsigned short rows) {
  winsize size{};
  size.ws_col = cols;
  size.ws_row = rows;
  int master = -1;
  int slave = -1;
  REQUIRE(openpty(&master, &slave, nullptr, nullptr, &size) == 0);
  PtyChild child;
  child.master = master;
  child.slave_name = ttyname(slave);
  child.pid = fork();
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, STDIN_FILENO);
    dup2(slave, STDOUT_FILENO);
    dup2(slave, STDERR_FILENO);
    close(slave);
    close(master);
    exec_fake(args, env);
  }
  close(slave);
  return child;
}

// Reads the PTY until `needle` shows up or the timeout passes; returns all output.
std::string read_until(int master, std::string& seen, const std::string& needle, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (seen.find(needle) == std::string::npos && Clock::now() < deadline) {
    pollfd fd = {master, POLLIN, 0};
    if (poll(&fd, 1, 50) <= 0) { continue; }
    char buffer[4096];
    const ssize_t count = read(master, buffer, sizeof buffer);
    if (count <= 0) {
      break;  // EIO: the fake exited
    }
    seen.append(buffer, static_cast<std::size_t>(count));
  }
  return seen;
}

// Waits for a child with a deadline; kills it if it overstays so the suite never hangs.
int wait_with_timeout(pid_t pid, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(20000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

std::string pts_in(const std::string& output) {
  const auto at = output.find("/dev/pts/");
  if (at == std::string::npos) { return ""; }
  const auto end = output.find_first_of("\r\n", at);
  return output.substr(at, end - at);
}

// ---- guest mount helpers -----------------------------------------------------------

std::string read_file(const fs::path& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// The test process never joins a guest namespace, so this is the host's mount table.
std::string host_mountinfo() { return read_file("/proc/self/mountinfo"); }

// A workspace with a .git/hooks tree, owned by "nobody" like an agent's own checkout, so
// only a mount can stop the agent from writing it. Outside the 0700 state dir so that
// "nobody" can reach it.
struct AgentWorkspace {
  AgentWorkspace() {
    std::string pattern = (fs::temp_directory_path() / "fake-smolvm-ws-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    git = dir / ".git";
    hooks = git / "hooks";
    fs::create_directories(hooks);
    const passwd* nobody = getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    for (const auto& path : {dir, git, hooks}) { REQUIRE(chown(path.c_str(), nobody->pw_uid, nobody->pw_gid) == 0); }
  }
  ~AgentWorkspace() {
    std::error_code error;
    fs::remove_all(dir, error);
  }
  AgentWorkspace(const AgentWorkspace&) = delete;
  AgentWorkspace& operator=(const AgentWorkspace&) = delete;

  fs::path dir;
  fs::path git;
  fs::path hooks;
};

// `machine exec` as the agent: non-root through runuser, C locale for stable messages.
std::vector<std::string> as_agent(const std::string& machine, const std::string& script, bool tty = false) {
  std::vector<std::string> args = {"machine", "exec", "--name", machine, "-e", "LC_ALL=C"};
  if (tty) { args.push_back("-t"); }
  args.insert(args.end(), {"--", "runuser", "-u", "nobody", "--", "sh", "-c", script});
  return args;
}

std::vector<std::string> as_root(const std::string& machine, const std::string& script) {
  return {"machine", "exec", "--name", machine, "-e", "LC_ALL=C", "--", "sh", "-c", script};
}

}  // namespace

TEST_CASE("fake smolvm: version and top-level usage", "[fake_smolvm]") {
  FakeState state;
  CHECK(state.run({"--version"}).out == "smolvm 0.8.0\n");
  CHECK(state.run({"--version"}, "1.9.2").out == "smolvm 1.9.2\n");
  const Result unknown = state.run({"machine", "start", "--bogus"});
  CHECK(unknown.status == 2);
  CHECK(unknown.err == usage_error("unexpected argument '--bogus' found", "smolvm machine start [OPTIONS]"));
  CHECK(state.run({"machine", "run", "-I", "alpine"}).err == "fake-smolvm: unsupported\n");
}

TEST_CASE("fake smolvm: create in both grammars", "[fake_smolvm]") {
  FakeState state;
  const Result positional = state.run({"machine", "create", "m1"});
  CHECK(positional.status == 0);
  CHECK(positional.out == created_block("m1"));
  CHECK(positional.err.empty());

  const Result old_flag = state.run({"machine", "create", "--name", "m2"});
  CHECK(old_flag.status == 2);
  CHECK(old_flag.err == usage_error("unexpected argument '--name' found", "smolvm machine create [OPTIONS] [NAME]"));

  const Result flagged = state.run({"machine", "create", "--name", "m2", "-v", "/tmp:/w", "-p", "8080:80"}, "1.0.2");
  CHECK(flagged.status == 0);
  CHECK(flagged.out ==
        "Created machine: m2\n  CPUs: 4, Memory: 8192 MiB\n  Mounts: 1\n  Ports: 1\n\n"
        "Use 'smolvm machine start --name m2' to start the machine\n"
        "Then use 'smolvm machine exec --name m2 -- <command>' to run commands\n");
  CHECK(state.run({"machine", "create", "m3"}, "1.0.2").status == 2);

  const Result duplicate = state.run({"machine", "create", "m1"});
  CHECK(duplicate.status == 1);
  CHECK(duplicate.out.empty());
  CHECK(duplicate.err == "Error: config operation failed: create machine: machine 'm1' already exists\n");
  CHECK(state.run({"machine", "create", "--name", "m1"}, "1.0.2").err ==
        "Error: config operation failed: create machine: machine 'm1' already exists or is being created\n");
  CHECK(state.run({"machine", "create", "bad--name"}).status == 1);
}

TEST_CASE("fake smolvm: start, status and ls", "[fake_smolvm]") {
  FakeState state;
  const Result empty_text = state.run({"machine", "ls"});
  CHECK(empty_text.out == "No machines found\n");
  CHECK(state.run({"machine", "ls", "--json"}).out == "[]\n");

  REQUIRE(state.run({"machine", "create", "m1"}).status == 0);
  CHECK(state.run({"machine", "status", "--name", "m1"}).out == "Machine 'm1': not running\n");
  CHECK(state.run({"machine", "status", "--name", "m1"}, "1.0.0").out == "Machine 'm1': created\n");

  const Result started = state.run({"machine", "start", "--name", "m1"});
  CHECK(started.status == 0);
  CHECK(started.err == "Starting machine 'm1'...\n");
  const long pid = pid_in(started.out);
  REQUIRE(pid > 0);
  CHECK(started.out == "Machine 'm1' running (PID: " + std::to_string(pid) + ")\n");
  CHECK(kill(static_cast<pid_t>(pid), 0) == 0);

  const Result again = state.run({"machine", "start", "--name", "m1"});
  CHECK(again.status == 0);
  CHECK(again.out == "Machine 'm1' already running (PID: " + std::to_string(pid) + ")\n");

  CHECK(state.run({"machine", "status", "--name", "m1"}).out ==
        "Machine 'm1': running (PID: " + std::to_string(pid) + ")\n");
  const std::string json = state.run({"machine", "status", "--name", "m1", "--json"}).out;
  CHECK(json.starts_with("{\n  \"cmd\": [],\n  \"cpus\": 4,\n"));
  CHECK(json.find("\n  \"memory_mib\": 8192,\n") != std::string::npos);
  CHECK(json.find("\n  \"name\": \"m1\",\n") != std::string::npos);
  CHECK(json.find("\n  \"pid\": " + std::to_string(pid) + ",\n") != std::string::npos);
  CHECK(json.find("\n  \"state\": \"running\",\n") != std::string::npos);
  CHECK(json.ends_with("\n}\n"));

  const std::string table = state.run({"machine", "ls"}).out;
  CHECK(table.starts_with("NAME                 STATE         CPUS     MEMORY  MOUNTS   PORTS  STORAGE  OVERLAY\n" +
                          std::string(88, '-') + "\n"));
  CHECK(table.find("\nm1                   running          4   8192 MiB       0       0   20 GiB   10 GiB\n") !=
        std::string::npos);
  const std::string list_json = state.run({"machine", "ls", "--json"}).out;
  CHECK(list_json.starts_with("[\n  {\n    \"cmd\": [],\n"));
  CHECK(list_json.ends_with("\n  }\n]\n"));

  const Result missing = state.run({"machine", "start", "--name", "ghost"});
  CHECK(missing.status == 1);
  CHECK(missing.err == "Error: vm not found: ghost\n");
  CHECK(state.run({"machine", "status", "--name", "ghost", "--json"}).err ==
        "Error: config operation failed: machine status: machine 'ghost' not found\n");

  const Result stopped = state.run({"machine", "stop", "--name", "m1"});
  CHECK(stopped.status == 0);
  CHECK(stopped.out == "Stopping machine 'm1'...\nStopped machine: m1\n");
  CHECK_FALSE(process_alive(static_cast<pid_t>(pid)));
  CHECK(state.run({"machine", "stop", "--name", "m1"}).out == "Machine 'm1' is not running (state: stopped)\n");
  CHECK(state.run({"machine", "status", "--name", "m1", "--json"}).out.find("\"pid\": null") != std::string::npos);
}

TEST_CASE("fake smolvm: stop and delete of missing machines differ by version", "[fake_smolvm]") {
  FakeState state;
  const Result old_stop = state.run({"machine", "stop", "--name", "ghost"});
  CHECK(old_stop.status == 0);
  CHECK(old_stop.out == "Machine 'ghost' not found or not running\n");
  const Result new_stop = state.run({"machine", "stop", "--name", "ghost"}, "0.8.1");
  CHECK(new_stop.status == 1);
  CHECK(new_stop.err == "Error: vm not found: ghost\n");
  const Result delete_missing = state.run({"machine", "delete", "ghost", "-f"});
  CHECK(delete_missing.status == 1);
  CHECK(delete_missing.err == "Error: vm not found: ghost\n");
}

TEST_CASE("fake smolvm: delete -f stops a running machine", "[fake_smolvm]") {
  FakeState state;
  state.create_and_start("m1");
  const Result deleted = state.run({"machine", "delete", "m1", "-f"});
  CHECK(deleted.status == 0);
  CHECK(deleted.out == "Stopping machine 'm1'...\nCleaning up data directory for vm: m1\nDeleted machine: m1\n");
  CHECK(state.run({"machine", "ls"}).out == "No machines found\n");

  REQUIRE(state.run({"machine", "create", "--name", "m2"}, "1.0.2").status == 0);
  CHECK(state.run({"machine", "delete", "m2", "-f"}, "1.0.2").status == 2);
  CHECK(state.run({"machine", "delete", "--name", "m2", "-f"}, "1.0.2").out == "Deleted machine: m2\n");
}

TEST_CASE("fake smolvm: exec without a TTY", "[fake_smolvm]") {
  FakeState state;
  REQUIRE(state.run({"machine", "create", "m1", "-e", "FROM_RECORD=r", "-e", "BOTH=record"}).status == 0);

  const Result stopped = state.run({"machine", "exec", "--name", "m1", "--", "true"});
  CHECK(stopped.status == 1);
  CHECK(stopped.err ==
        "Error: agent operation failed: connect: machine 'm1' is not running. "
        "Use 'smolvm machine start --name m1' first.\n");
  CHECK(state.run({"machine", "exec", "--name", "ghost", "--", "true"}).err == "Error: vm not found: ghost\n");

  REQUIRE(state.run({"machine", "start", "--name", "m1"}).status == 0);
  const Result buffered =
      state.run({"machine", "exec", "--name", "m1", "--", "sh", "-c", "echo o1; echo e1 >&2; echo o2; exit 7"});
  CHECK(buffered.status == 7);
  CHECK(buffered.out == "o1\no2\n");
  CHECK(buffered.err == "e1\n");

  const Result env = state.run({"machine", "exec", "--name", "m1", "-e", "BOTH=cli", "--", "sh", "-c",
                                "echo $FROM_RECORD $BOTH; test -t 0 || echo no-tty"});
  CHECK(env.out == "r cli\nno-tty\n");

  const Result no_short_name = state.run({"machine", "exec", "-n", "m1", "--", "true"});
  CHECK(no_short_name.status == 2);
  CHECK(no_short_name.err ==
        usage_error("unexpected argument '-n' found", "smolvm machine exec [OPTIONS] <COMMAND>..."));
  CHECK(state.run({"machine", "exec", "--name", "m1", "--frobnicate", "--", "true"}).status == 2);
  CHECK(state.run({"machine", "exec", "--name", "m1"}).status == 2);
  CHECK(state.run({"machine", "exec", "--name", "m1", "-d", "--", "true"}).status == 2);

  const auto before = Clock::now();
  CHECK(state.run({"machine", "exec", "--name", "m1", "--timeout", "1s", "--", "sleep", "5"}).status == 124);
  CHECK(Clock::now() - before < std::chrono::seconds(4));
  const Result bare = state.run({"machine", "exec", "--name", "m1", "--timeout", "30", "--", "true"});
  CHECK(bare.status == 2);
  CHECK(bare.err.starts_with("error: invalid value '30' for '--timeout <TIMEOUT>': time unit needed"));

  const Result workdir = state.run({"machine", "exec", "--name", "m1", "-w", "/no/such/guest/dir", "--", "pwd"});
  CHECK(workdir.out == (state.dir / "fs" / "m1" / "no/such/guest/dir").string() + "\n");

  const Result interactive = run_fake({"machine", "exec", "--name", "m1", "-i", "--", "cat"}, state.env(), "piped\n");
  CHECK(interactive.out == "piped\n");
}

TEST_CASE("fake smolvm: strict pts guard", "[fake_smolvm]") {
  FakeState state;
  state.create_and_start("m1");
  const Result refused =
      state.run({"machine", "exec", "--name", "m1", "--", "stty", "-F", "/dev/pts/0", "cols", "10", "rows", "5"});
  CHECK(refused.status == 1);
  CHECK(refused.err == "stty: /dev/pts/0: No such file or directory\n");
  // With no session, the resize loop touches nothing (and never a host terminal).
  const Result loop = state.run({"machine", "exec", "--name", "m1", "--", "sh", "-c",
                                 "for f in /dev/pts/*; do stty -F $f cols 101 rows 33; done"});
  CHECK(loop.status == 0);
  CHECK(state.run({"machine", "exec", "--name", "m1", "--", "sh", "-c", "ls /dev/pts/*"}).status == 1);
}

TEST_CASE("fake smolvm: exec -t initial size per profile", "[fake_smolvm]") {
  FakeState state;
  state.create_and_start("bare");
  state.create_and_start("img", {"--image", "alpine"});
  const std::vector<std::string> stty_size = {"--", "sh", "-c", "stty size"};
  auto exec_t = [&](const std::string& name) {
    std::vector<std::string> args = {"machine", "exec", "-t", "--name", name};
    args.insert(args.end(), stty_size.begin(), stty_size.end());
    return args;
  };

  SECTION("stdin not a terminal: fixed is 80x24, v080-image is 0x0") {
    Env fixed = state.env();
    fixed["FAKE_SMOLVM_TTY_PROFILE"] = "fixed";
    const Result fixed_run = run_fake(exec_t("bare"), fixed);
    CHECK(fixed_run.status == 0);
    CHECK(fixed_run.out == "24 80\r\n");
    const Result image_run = run_fake(exec_t("img"), state.env());
    CHECK(image_run.out == "0 0\r\n");
  }
  SECTION("under a terminal: fd 0's size is forwarded except on v080-image") {
    for (const auto& [name, version, expected] :
         {std::tuple{"bare", "0.8.0", "40 120"}, std::tuple{"bare", "0.8.1", "40 120"},
          std::tuple{"img", "0.8.1", "40 120"}, std::tuple{"img", "0.8.0", "0 0"}}) {
      PtyChild child = spawn_in_pty(exec_t(name), state.env(version), 120, 40);
      std::string seen;
      read_until(child.master, seen, "\n", 5000);
      CHECK(wait_with_timeout(child.pid, 5000) == 0);
      CHECK(seen.find(std::string(expected) + "\r\n") != std::string::npos);
      close(child.master);
    }
  }
}

TEST_CASE("fake smolvm: side-channel resize reaches the session", "[fake_smolvm]") {
  FakeState state;
  state.create_and_start("m1");
  const Env env = state.env("0.8.1");
  PtyChild session = spawn_in_pty({"machine", "exec", "-t", "--name", "m1", "--", "sh", "-c",
                                   "trap \"stty size\" WINCH; tty; while :; do sleep 0.05; done"},
                                  env, 90, 30);
  std::string seen;
  read_until(session.master, seen, "/dev/pts/", 5000);
  read_until(session.master, seen, "\n", 2000);
  const std::string pts = pts_in(seen);
  REQUIRE(!pts.empty());
  CHECK(fs::exists(state.dir / "sessions" / "m1" / (std::to_string(session.pid) + ".json")));

  const Result side = run_fake({"machine", "exec", "--name", "m1", "--", "sh", "-c",
                                "for f in /dev/pts/*; do stty -F $f cols 101 rows 33; done"},
                               env);
  CHECK(side.status == 0);
  read_until(session.master, seen, "33 101", 5000);
  CHECK(seen.find("33 101") != std::string::npos);

  const Result query = run_fake({"machine", "exec", "--name", "m1", "--", "stty", "-F", pts, "size"}, env);
  CHECK(query.out == "33 101\n");
  // The test's own terminal is a real host pts, but not one of this machine's sessions.
  const Result foreign =
      run_fake({"machine", "exec", "--name", "m1", "--", "stty", "-F", session.slave_name, "size"}, env);
  CHECK(foreign.status == 1);
  CHECK(foreign.err == "stty: " + session.slave_name + ": No such file or directory\n");

  std::ifstream log(state.dir / "log.jsonl");
  const std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(log_text.find("\"event\":\"session-start\"") != std::string::npos);
  CHECK(log_text.find("\"stty\",\"-F\",\"" + pts + "\",\"cols\",\"101\",\"rows\",\"33\"") != std::string::npos);

  // Stopping the machine hangs up the session, like halting the VM.
  CHECK(state.run({"machine", "stop", "--name", "m1"}).status == 0);
  CHECK(wait_with_timeout(session.pid, 5000) != -1);
  close(session.master);
  CHECK_FALSE(fs::exists(state.dir / "sessions" / "m1" / (std::to_string(session.pid) + ".json")));
}

TEST_CASE("fake smolvm: volumes are bind mounts seen only by the guest", "[fake_smolvm][guest_mounts]") {
  FakeState state;
  const fs::path share = state.dir / "share";
  fs::create_directories(share);
  std::ofstream(share / "file") << "from host\n";
  // A guest path that is a host directory is mounted over in place; any other guest
  // path lives under the machine's guest fs, where -w finds it.
  const fs::path point = state.dir / "point";
  fs::create_directories(point);
  const std::string unmapped = "/fake-smolvm-test-volume";
  REQUIRE_FALSE(fs::exists(unmapped));
  const fs::path mapped = state.dir / "fs" / "m1" / unmapped.substr(1);
  state.create_and_start("m1", {"-v", share.string() + ":" + point.string(), "-v", share.string() + ":" + unmapped});

  const Result in_place = state.run(as_root("m1", "cat " + point.string() + "/file"));
  CHECK(in_place.status == 0);
  CHECK(in_place.out == "from host\n");
  const Result by_workdir =
      state.run({"machine", "exec", "--name", "m1", "-w", unmapped, "--", "sh", "-c", "pwd; cat file"});
  CHECK(by_workdir.status == 0);
  CHECK(by_workdir.out == mapped.string() + "\nfrom host\n");

  // Writes go through to the host directory; the mount points stay empty on the host.
  CHECK(state.run(as_root("m1", "echo guest > " + point.string() + "/new")).status == 0);
  CHECK(read_file(share / "new") == "guest\n");
  const fs::path copied = state.dir / "copied";
  std::ofstream(copied) << "copied in\n";
  CHECK(state.run({"machine", "cp", copied.string(), "m1:" + unmapped + "/copied"}).status == 0);
  CHECK(read_file(share / "copied") == "copied in\n");
  CHECK(fs::is_empty(point));
  CHECK(fs::is_empty(mapped));
  CHECK(host_mountinfo().find(state.dir.string()) == std::string::npos);
}

TEST_CASE("fake smolvm: a :ro volume is read-only in the guest, writable on the host", "[fake_smolvm][guest_mounts]") {
  FakeState state;
  const fs::path share = state.dir / "share";
  const fs::path point = state.dir / "point";
  fs::create_directories(share);
  fs::create_directories(point);
  std::ofstream(share / "file") << "original\n";
  state.create_and_start("m1", {"-v", share.string() + ":" + point.string() + ":ro"});

  const Result write = state.run(as_root("m1", "echo guest > " + point.string() + "/file"));
  CHECK(write.status != 0);
  CHECK_THAT(write.err, Catch::Contains("Read-only file system"));
  const fs::path source = state.dir / "source";
  std::ofstream(source) << "x\n";
  const Result copy = state.run({"machine", "cp", source.string(), "m1:" + point.string() + "/x"});
  CHECK(copy.status == 1);
  CHECK_THAT(copy.err, Catch::Contains("Read-only file system"));

  std::ofstream(share / "file") << "host wrote\n";
  CHECK(read_file(share / "file") == "host wrote\n");
  CHECK(state.run(as_root("m1", "cat " + point.string() + "/file")).out == "host wrote\n");
}

TEST_CASE("fake smolvm: guest mounts persist across execs, stay off the host, end with stop",
          "[fake_smolvm][guest_mounts]") {
  FakeState state;
  const AgentWorkspace ws;
  const std::string git = ws.git.string();
  const std::string hooks = ws.hooks.string();
  state.create_and_start("m1", {"-v", ws.dir.string() + ":" + ws.dir.string()});

  // What bottle runs as guest root during provisioning.
  const Result protect = state.run(as_root("m1", "mount --bind " + git + " " + git + " && mount --bind " + hooks + " " +
                                                     hooks + " && mount -o remount,bind,ro " + hooks));
  INFO(protect.err);
  REQUIRE(protect.status == 0);

  // Later execs (piped and PTY) join the same namespace: the agent meets the mounts.
  const Result hook = state.run(as_agent("m1", "echo evil > " + hooks + "/pre-commit"));
  CHECK(hook.status != 0);
  CHECK_THAT(hook.err, Catch::Contains("Read-only file system"));
  const Result hook_tty = state.run(as_agent("m1", "echo evil > " + hooks + "/post-checkout", true));
  CHECK(hook_tty.status != 0);
  CHECK_THAT(hook_tty.out, Catch::Contains("Read-only file system"));
  const Result move_hooks = state.run(as_agent("m1", "mv " + hooks + " " + git + "/hooks.moved"));
  CHECK(move_hooks.status != 0);
  CHECK_THAT(move_hooks.err, Catch::Contains("Device or resource busy"));
  const Result move_git = state.run(as_agent("m1", "mv " + git + " " + ws.dir.string() + "/git.moved"));
  CHECK(move_git.status != 0);
  CHECK_THAT(move_git.err, Catch::Contains("Device or resource busy"));
  CHECK(state.run(as_agent("m1", "echo fine > " + ws.dir.string() + "/work.txt")).status == 0);
  CHECK(state.run(as_root("m1", "cat /proc/self/mountinfo")).out.find(" " + hooks + " ") != std::string::npos);

  // The host never sees those mounts and keeps full access.
  CHECK(host_mountinfo().find(ws.dir.string()) == std::string::npos);
  std::ofstream(ws.hooks / "host-hook") << "host\n";
  CHECK(read_file(ws.hooks / "host-hook") == "host\n");
  CHECK_FALSE(fs::exists(ws.hooks / "pre-commit"));
  CHECK(read_file(ws.dir / "work.txt") == "fine\n");

  // A stopped VM loses every mount its guest made; the next start has only the volumes.
  REQUIRE(state.run({"machine", "stop", "--name", "m1"}).status == 0);
  REQUIRE(state.run({"machine", "start", "--name", "m1"}).status == 0);
  const std::string mounts = state.run(as_root("m1", "cat /proc/self/mountinfo")).out;
  CHECK(mounts.find(" " + ws.dir.string() + " ") != std::string::npos);
  CHECK(mounts.find(hooks) == std::string::npos);
  CHECK(state.run(as_agent("m1", "mv " + hooks + " " + git + "/h && mv " + git + "/h " + hooks)).status == 0);
}

TEST_CASE("fake smolvm: a dead VM takes its mount namespace with it", "[fake_smolvm][guest_mounts]") {
  FakeState state;
  REQUIRE(state.run({"machine", "create", "m1"}).status == 0);
  const Result started = state.run({"machine", "start", "--name", "m1"});
  const long pid = pid_in(started.out);
  REQUIRE(pid > 0);
  REQUIRE(kill(static_cast<pid_t>(pid), SIGKILL) == 0);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (process_alive(static_cast<pid_t>(pid)) && Clock::now() < deadline) { usleep(20000); }
  const Result exec = state.run({"machine", "exec", "--name", "m1", "--", "true"});
  CHECK(exec.status == 1);
  CHECK(exec.err ==
        "Error: agent operation failed: connect: machine 'm1' is not running. "
        "Use 'smolvm machine start --name m1' first.\n");
  CHECK(state.run({"machine", "start", "--name", "m1"}).status == 0);
  CHECK(state.run({"machine", "exec", "--name", "m1", "--", "true"}).status == 0);
}

TEST_CASE("fake smolvm: start refuses volumes a VM cannot mount, and needs root", "[fake_smolvm][guest_mounts]") {
  FakeState state;
  const fs::path file = state.dir / "a-file";
  std::ofstream(file) << "x\n";
  REQUIRE(state.run({"machine", "create", "file-vol", "-v", file.string() + ":/x"}).status == 0);
  const Result file_start = state.run({"machine", "start", "--name", "file-vol"});
  CHECK(file_start.status == 1);
  CHECK(file_start.err ==
        "Starting machine 'file-vol' with 1 mount(s)...\nError: mount operation failed: validate "
        "host path: source path on host must be a directory (virtiofs limitation): " +
            file.string() + "\n");
  CHECK(state.run({"machine", "status", "--name", "file-vol"}).out == "Machine 'file-vol': not running\n");

  const std::string missing = (state.dir / "missing").string();
  REQUIRE(state.run({"machine", "create", "gone-vol", "-v", missing + ":/x"}).status == 0);
  const Result missing_start = state.run({"machine", "start", "--name", "gone-vol"});
  CHECK(missing_start.status == 1);
  CHECK_THAT(missing_start.err, Catch::EndsWith("Error: mount source not found: " + missing + "\n"));

  REQUIRE(state.run({"machine", "create", "m1"}).status == 0);
  const Result unprivileged = run_fake({"machine", "start", "--name", "m1"}, state.env(), "", true);
  CHECK(unprivileged.status == 1);
  CHECK_THAT(unprivileged.err, Catch::Contains("Error: agent operation failed: start machine: the fake smolvm needs "
                                               "root (CAP_SYS_ADMIN) for guest mounts"));
  CHECK(state.run({"machine", "status", "--name", "m1"}).out == "Machine 'm1': not running\n");
}
