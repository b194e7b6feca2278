// Sessions that outlive the bottle (ops/sessions.hpp): the export stream and its
// parser, path validation, token redaction, the store on disk (symlinks refused,
// all-or-nothing writes, purge), the tar that goes back in, the listing, and the
// CLI's rm --purge / sessions / create --resume-from.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>

#include "bottle/core/error.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/frontend/sessions_cli.hpp"
#include "bottle/ops/bottles.hpp"
#include "bottle/ops/sessions.hpp"
#include "cli_fixture.hpp"
#include "env_guard.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

std::string entry(std::string_view path, std::string_view content, std::int64_t mtime = 1700000000) {
  return fmt::format("F {} {} {}\n{}{}", path.size(), content.size(), mtime, path, content);
}

void put(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

StateDirs dirs_in(const TempDir& tmp) { return {tmp.path() / "config", tmp.path() / "state"}; }

const std::string claude_line =
    R"({"type":"user","message":{"role":"user","content":"fix the flaky test\nthen run it"}})"
    "\n";
const std::string codex_line = R"({"type":"event_msg","payload":{"type":"user_message","message":"add a README"}})"
                               "\n";

}  // namespace

TEST_CASE("sessions: paths must be relative, clean and inside the agent's session roots", "[sessions]") {
  CHECK_FALSE(session_path_problem(AgentKind::claude, ".claude/projects/-workspace/abc.jsonl"));
  CHECK_FALSE(session_path_problem(AgentKind::claude, ".claude/history.jsonl"));
  CHECK_FALSE(session_path_problem(AgentKind::codex, ".codex/sessions/2026/12/03/rollout-x.jsonl"));
  CHECK_FALSE(session_path_problem(AgentKind::codex, ".codex/history.jsonl"));
  // The credential files next to them are never session files.
  CHECK(session_path_problem(AgentKind::claude, ".claude/.credentials.json") == "outside the agent's session paths");
  CHECK(session_path_problem(AgentKind::codex, ".codex/auth.json") == "outside the agent's session paths");
  CHECK(session_path_problem(AgentKind::claude, ".claude.json") == "outside the agent's session paths");
  // Another agent's roots are not this one's.
  CHECK(session_path_problem(AgentKind::codex, ".claude/history.jsonl") == "outside the agent's session paths");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projects/../.credentials.json") ==
        "an empty, '.' or '..' component");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projects/./x") == "an empty, '.' or '..' component");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projects//x") == "an empty, '.' or '..' component");
  CHECK(session_path_problem(AgentKind::claude, "/home/node/.claude/history.jsonl") == "not relative");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projects/a\nb") == "a control character");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projects") == "a directory root as a file");
  CHECK(session_path_problem(AgentKind::claude, ".claude/history.jsonl/x") == "outside the agent's session paths");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projectsX/a") == "outside the agent's session paths");
  CHECK(session_path_problem(AgentKind::claude, "") == "empty");
  CHECK(session_path_problem(AgentKind::claude, ".claude/projects/" + std::string(1100, 'a')) ==
        "longer than 1024 bytes");
}

TEST_CASE("sessions: the export argv passes home, limit and roots as positional words", "[sessions]") {
  const Argv claude = export_argv("/home/node", AgentKind::claude, 1000);
  REQUIRE(claude.size() == 9);
  CHECK(Argv(claude.begin(), claude.begin() + 2) == Argv{"sh", "-c"});
  CHECK(Argv(claude.begin() + 3, claude.end()) ==
        Argv{"bottle-sessions", "/home/node", "1000", ".claude/projects", ".claude/history.jsonl", ".claude/todos"});
  const Argv codex = export_argv("/root", AgentKind::codex);
  CHECK(Argv(codex.begin() + 3, codex.end()) == Argv{"bottle-sessions", "/root",
                                                     std::to_string(session_store_max_bytes), ".codex/sessions",
                                                     ".codex/history.jsonl", ".codex/session_index.jsonl"});
  CHECK(restore_argv("/home/node") ==
        Argv{"sh", "-c", R"(cd "$1" && umask 077 && tar -x -o -f -)", "bottle-sessions", "/home/node"});
}

TEST_CASE("sessions: the export stream is parsed strictly", "[sessions]") {
  const std::string good = entry(".claude/history.jsonl", "line\n", 5) + entry(".claude/projects/p/a.jsonl", "") +
                           entry(".claude/history.jsonl", "dup") + "E\n";
  const auto files = parse_session_export(AgentKind::claude, good);
  REQUIRE(files.size() == 2);  // the repeated name keeps its first copy
  CHECK(files[0] == SessionFile{".claude/history.jsonl", "line\n", 5});
  CHECK(files[1] == SessionFile{".claude/projects/p/a.jsonl", "", 1700000000});
  // Content is taken by length, so bytes that look like headers are just content.
  CHECK(parse_session_export(AgentKind::claude, entry(".claude/history.jsonl", "E\nF 1 1 1\n") + "E\n")[0].content ==
        "E\nF 1 1 1\n");
  CHECK(parse_session_export(AgentKind::claude, "E\n").empty());

  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, entry(".claude/../x", "a") + "E\n"); }),
             Catch::Contains("refused path .claude/../x"));
  CHECK_THAT(
      error_of([&] { parse_session_export(AgentKind::claude, entry(".claude/.credentials.json", "a") + "E\n"); }),
      Catch::Contains("outside the agent's session paths"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, entry("/etc/passwd", "a") + "E\n"); }),
             Catch::Contains("not relative"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, entry(".claude/history.jsonl", "abc")); }),
             Catch::Contains("ends early"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, "F 21 100 0\n.claude/history.jsonlab"); }),
             Catch::Contains("ends inside a file"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, "F x 1 0\n"); }), Catch::Contains("bad header"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, "F 1 -1 0\n"); }), Catch::Contains("bad header"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, "junk"); }), Catch::Contains("bad header"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, "E\ntrailing"); }), Catch::Contains("bad header"));
  CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, entry(".claude/history.jsonl", "a") + "O\n"); }),
             Catch::Contains("hold more than"));
  CHECK_THAT(error_of([&] {
               parse_session_export(AgentKind::claude, entry(".claude/history.jsonl", std::string(600, 'a')) + "E\n",
                                    512);
             }),
             Catch::Contains("hold more than"));
}

TEST_CASE("sessions: the export script sends regular files only and never follows a planted symlink", "[sessions]") {
  TempDir tmp;
  const fs::path home = tmp.path() / "home";
  const fs::path outside = tmp.path() / "outside";
  put(outside / "secret.txt", "outside-secret");
  put(home / ".claude/projects/-workspace/s1.jsonl", claude_line);
  put(home / ".claude/history.jsonl", "{\"display\":\"hi\"}\n");
  put(home / ".claude/.credentials.json", "{\"claudeAiOauth\":{}}");
  fs::create_symlink(outside / "secret.txt", home / ".claude/projects/-workspace/evil.jsonl");
  fs::create_symlink(outside, home / ".claude/projects/linked-dir");
  fs::create_directories(home / ".claude/todos");
  fs::create_symlink(outside / "secret.txt", home / ".claude/todos/t.json");

  SystemRunner runner;
  const ProcessResult r = runner.run(Command{.argv = export_argv(home.string(), AgentKind::claude)});
  REQUIRE(r.ok());
  const auto files = parse_session_export(AgentKind::claude, r.out);
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path);
  std::sort(paths.begin(), paths.end());
  CHECK(paths == std::vector<std::string>{".claude/history.jsonl", ".claude/projects/-workspace/s1.jsonl"});
  CHECK(r.out.find("outside-secret") == std::string::npos);
  CHECK(r.out.find("claudeAiOauth") == std::string::npos);

  SECTION("a root that is itself a symlink is skipped") {
    fs::remove_all(home / ".claude/projects");
    fs::create_symlink(outside, home / ".claude/projects");
    const ProcessResult again = runner.run(Command{.argv = export_argv(home.string(), AgentKind::claude)});
    REQUIRE(again.ok());
    CHECK(again.out.find("outside-secret") == std::string::npos);
    CHECK(parse_session_export(AgentKind::claude, again.out).size() == 1);
  }
  SECTION("past the limit the script says so and the parser refuses") {
    const ProcessResult big = runner.run(Command{.argv = export_argv(home.string(), AgentKind::claude, 10)});
    REQUIRE(big.ok());
    CHECK(big.out.size() >= 2);
    CHECK(big.out.substr(big.out.size() - 2) == "O\n");
    CHECK_THAT(error_of([&] { parse_session_export(AgentKind::claude, big.out, 10); }),
               Catch::Contains("hold more than"));
  }
  SECTION("a missing home exports nothing") {
    const ProcessResult none =
        runner.run(Command{.argv = export_argv((tmp.path() / "nope").string(), AgentKind::codex)});
    REQUIRE(none.ok());
    CHECK(none.out == "E\n");
  }
}

TEST_CASE("sessions: tokens are replaced in contents and a file named by one is dropped", "[sessions]") {
  const std::string dummy = "bottle-dummy-access-0123456789";
  const std::string real = "sk-ant-oat01-REALREALREAL";
  std::vector<SessionFile> files{
      {".claude/projects/p/a.jsonl", "{\"t\":\"" + dummy + "\",\"u\":\"" + real + "\",\"v\":\"" + dummy + "\"}\n", 1},
      {".claude/projects/p/" + real + ".jsonl", "x", 1},
      {".claude/history.jsonl", "nothing here; short", 1}};
  const auto found = redact_tokens(files, {{"a dummy", dummy}, {"host token", real}, {"short", "short"}});
  REQUIRE(files.size() == 2);
  CHECK(files[0].content ==
        "{\"t\":\"[bottle: token removed]\",\"u\":\"[bottle: token removed]\",\"v\":\"[bottle: "
        "token removed]\"}\n");
  CHECK(files[1].content == "nothing here; short");  // needles under 8 bytes are not looked for
  REQUIRE(found.size() == 3);
  CHECK(found[0] == RedactedToken{".claude/projects/p/a.jsonl", "a dummy"});
  CHECK(found[1] == RedactedToken{".claude/projects/p/a.jsonl", "host token"});
  CHECK(found[2].label == "host token");  // the dropped file
  // A token that the mark itself would contain is still replaced only once per hit.
  std::vector<SessionFile> overlapping{{".claude/history.jsonl", "tokentokentoken", 1}};
  redact_tokens(overlapping, {{"t", "tokentoken"}});
  CHECK(overlapping[0].content == "[bottle: token removed]token");
}

TEST_CASE("sessions: the store keeps files 0600 in 0700 directories with their times, and reads them back",
          "[sessions]") {
  TempDir tmp;
  const StateDirs dirs = dirs_in(tmp);
  const std::vector<SessionFile> files{{".codex/history.jsonl", "h\n", 1600000000},
                                       {".codex/sessions/2026/12/03/rollout-a.jsonl", codex_line, 1700000000}};
  CHECK_FALSE(session_store_exists(dirs, "api"));
  CHECK(read_session_store(dirs, "api", AgentKind::codex).empty());
  write_session_store(dirs, "api", AgentKind::codex, files);
  const fs::path store = session_store_dir(dirs, "api");
  CHECK(store == tmp.path() / "state/sessions/api");
  CHECK(mode_of(store) == 0700);
  CHECK(mode_of(store / "home/.codex/sessions/2026") == 0700);
  CHECK(mode_of(store / "home/.codex/history.jsonl") == 0600);
  CHECK(session_store_agent(dirs, "api") == AgentKind::codex);
  CHECK(read_session_store(dirs, "api", AgentKind::codex) == files);

  SECTION("a bad path refuses the whole write and the old store stays") {
    CHECK_THAT(error_of([&] {
                 write_session_store(dirs, "api", AgentKind::codex,
                                     {{".codex/history.jsonl", "new", 1}, {".codex/auth.json", "x", 1}});
               }),
               Catch::Contains("refused path .codex/auth.json"));
    CHECK(read_session_store(dirs, "api", AgentKind::codex) == files);
    // No half-written directory is left next to it.
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path() / "state/sessions")) ++entries;
    CHECK(entries == 1);
  }
  SECTION("a symlink planted in the store is refused, never followed") {
    put(tmp.path() / "elsewhere/secret", "do-not-read");
    fs::create_symlink(tmp.path() / "elsewhere/secret", store / "home/.codex/sessions/2026/12/03/rollout-b.jsonl");
    CHECK_THAT(error_of([&] { read_session_store(dirs, "api", AgentKind::codex); }),
               Catch::Contains("is not a regular file"));
    fs::remove(store / "home/.codex/sessions/2026/12/03/rollout-b.jsonl");
    fs::create_symlink(tmp.path() / "elsewhere", store / "home/.codex/sessions/2025");
    CHECK_THAT(error_of([&] { read_session_store(dirs, "api", AgentKind::codex); }),
               Catch::Contains("is not a regular file"));
  }
  SECTION("purge deletes the store, and only the store") {
    put(tmp.path() / "elsewhere/keep", "keep");
    fs::create_symlink(tmp.path() / "elsewhere", store / "home/.codex/sessions/2025");
    CHECK(purge_session_store(dirs, "api"));
    CHECK_FALSE(fs::exists(store));
    CHECK(slurp(tmp.path() / "elsewhere/keep") == "keep");
    CHECK_FALSE(purge_session_store(dirs, "api"));
  }
  SECTION("copying for --resume-from") {
    copy_session_store(dirs, "api", "api-2", AgentKind::codex);
    CHECK(read_session_store(dirs, "api-2", AgentKind::codex) == files);
    CHECK(error_of([&] { copy_session_store(dirs, "api", "api-2", AgentKind::codex); }, ErrorKind::conflict) ==
          "--resume-from: bottle name \"api-2\" has saved sessions of its own (list them with `bottle-cli "
          "sessions api-2`, delete them with `bottle-cli sessions --purge api-2`)");
    CHECK(error_of([&] { copy_session_store(dirs, "ghost", "new", AgentKind::codex); }, ErrorKind::not_found) ==
          "--resume-from: no saved sessions of a bottle named \"ghost\"");
    CHECK(error_of([&] { copy_session_store(dirs, "api", "other", AgentKind::claude); }) ==
          "--resume-from: \"api\" saved codex sessions; this bottle runs claude");
    CHECK_FALSE(session_store_exists(dirs, "other"));
  }
}

TEST_CASE("sessions: the tar that goes back in unpacks with tar to the same files", "[sessions]") {
  TempDir tmp;
  const std::string long_dir(120, 'd');
  const std::vector<SessionFile> files{
      {".claude/history.jsonl", "h\n", 1600000000},
      {".claude/projects/" + long_dir + "/s.jsonl", std::string(1000, 'x'), 1700000000},
      {".claude/projects/" + std::string(150, 'y') + "/" + std::string(150, 'z'), "too long", 1}};
  std::vector<std::string> skipped;
  const std::string archive = sessions_tar(files, &skipped);
  CHECK(skipped == std::vector<std::string>{files[2].path});
  CHECK(archive.size() % 512 == 0);
  const fs::path home = tmp.path() / "home";
  fs::create_directories(home);
  SystemRunner runner;
  const ProcessResult r = runner.run(Command{.argv = restore_argv(home.string()), .stdin_data = archive});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(slurp(home / ".claude/history.jsonl") == "h\n");
  CHECK(slurp(home / ".claude/projects" / long_dir / "s.jsonl") == std::string(1000, 'x'));
  CHECK(mode_of(home / ".claude/projects") == 0700);
  CHECK(mode_of(home / ".claude/history.jsonl") == 0600);
  CHECK(fs::last_write_time(home / ".claude/history.jsonl").time_since_epoch() ==
        (fs::file_time_type::clock::from_sys(std::chrono::system_clock::from_time_t(1600000000))).time_since_epoch());
  CHECK_FALSE(fs::exists(home / ".claude/projects" / std::string(150, 'y')));
}

TEST_CASE("sessions: the listing names each conversation with its first prompt, newest first", "[sessions]") {
  const std::vector<SessionFile> files{
      {".claude/history.jsonl", "{}\n", 5},
      {".claude/projects/-workspace/0b7d.jsonl", "not json\n" + claude_line, 100},
      {".codex/sessions/2026/12/03/rollout-2026-12-03T06-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl",
       "{\"type\":\"session_meta\"}\n" + codex_line, 200},
      {".claude/projects/-workspace/empty.jsonl", "", 50},
      {".claude/projects/-workspace/\x1b[31mred.jsonl",
       "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":"
       "\"text\",\"text\":\"\\u001b[2Jclear\"}]}}\n",
       10}};
  const auto sessions = list_sessions(files);
  REQUIRE(sessions.size() == 4);
  CHECK(sessions[0] ==
        SessionInfo{"0199a213-81c0-7800-8aa1-bbab2a035a53", AgentKind::codex, 200, "add a README", files[2].path});
  CHECK(sessions[1] ==
        SessionInfo{"0b7d", AgentKind::claude, 100, "fix the flaky test", ".claude/projects/-workspace/0b7d.jsonl"});
  CHECK(sessions[2].title.empty());
  // Escape bytes from the agent never reach the terminal.
  CHECK(sessions[3].id == "\\x1b[31mred");
  CHECK(sessions[3].title == "\\x1b[2Jclear");
  CHECK(sessions_to_json("api", {sessions[1]}) ==
        "{\"bottle\":\"api\",\"sessions\":[{\"id\":\"0b7d\",\"agent\":\"claude\",\"modified_unix\":100,\"title\":"
        "\"fix the flaky test\",\"path\":\".claude/projects/-workspace/0b7d.jsonl\"}]}\n");
  CHECK(sessions_to_text({sessions[1]}) ==
        "ID                                    AGENT   MODIFIED (UTC)        TITLE\n"
        "0b7d                                  claude  1970-01-01 00:01:40   fix the flaky test\n");
  CHECK(sessions_to_text({}) == "no saved sessions\n");

  // codex 0.17x: the prompt is a user response_item, after the context codex adds.
  const std::string rollout =
      R"({"type":"session_meta","payload":{"id":"x"}})"
      "\n"
      R"({"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>\n</environment_context>"}]}})"
      "\n"
      R"({"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"say hi"}]}})"
      "\n";
  const auto current =
      list_sessions({{".codex/sessions/2026/12/03/rollout-2026-12-03T07-24-04-01a23ac9-bc2e-7ce1-b844-"
                      "a8d83f36ee93.jsonl",
                      rollout, 1}});
  REQUIRE(current.size() == 1);
  CHECK(current[0].id == "01a23ac9-bc2e-7ce1-b844-a8d83f36ee93");
  CHECK(current[0].title == "say hi");
}

TEST_CASE("sessions: create --resume-from is taken out of the spec flags", "[sessions][cli]") {
  std::string from;
  CHECK(take_resume_from({"--name", "b", "--resume-from", "old", "--no-start"}, from) ==
        std::vector<std::string>{"--name", "b", "--no-start"});
  CHECK(from == "old");
  from.clear();
  CHECK(take_resume_from({"--resume-from=old"}, from).empty());
  CHECK(from == "old");
  CHECK(error_of([&] { take_resume_from({"--resume-from"}, from); }, ErrorKind::usage) ==
        "create: --resume-from needs a bottle name");
  CHECK(error_of(
            [&] {
              take_resume_from({"--resume-from=a", "--resume-from", "b"}, from);
            },
            ErrorKind::usage) == "create: --resume-from given twice");
  CHECK_THAT(error_of([&] { take_resume_from({"--resume-from", "../x"}, from); }), Catch::Contains("--resume-from"));
}

TEST_CASE("sessions: stop copies a running bottle's sessions out, tokens removed, rm keeps them, --purge deletes",
          "[sessions][cli]") {
  CliFixture f;
  // The host's real login (an API key) and a dummy forwarding gave the bottle.
  const std::string real = "sk-real-host-key-0123456789";
  const std::string dummy = "sk-bottle-dummy-9876543210";
  put(f.tmp.path() / "codex-home/auth.json", R"({"auth_mode":"apikey","OPENAI_API_KEY":")" + real + "\"}");
  TestEnv env;
  env.set("CODEX_HOME", (f.tmp.path() / "codex-home").string());
  f.ctx.host = env.host();
  REQUIRE(f.run({"create", "--name", "api", "--no-start", "--no-egress"}) == 0);
  ForwardedCredentials forwarded;
  forwarded.dummies = {dummy};
  save_forwarded_state(f.ctx.dirs, "api", forwarded);
  f.runner.on({"docker", "ps"}, exited(0, "api\trunning\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"));
  {
    // An agent that has not talked yet leaves no store behind.
    CliFixture quiet;
    quiet.ctx.dirs = f.ctx.dirs;
    quiet.runner.on({"docker", "ps"}, exited(0, "api\trunning\t2026-11-26 18:50:00 +0000 UTC\tbottle\n"));
    quiet.runner.on({"docker", "exec"}, exited(0, "E\n"));
    REQUIRE(quiet.run({"stop", "api"}) == 0);
    CHECK_FALSE(session_store_exists(f.ctx.dirs, "api"));
  }
  const Argv export_command = export_argv("/home/node", AgentKind::claude);
  Argv expected{"docker", "exec", "-e",        "LC_ALL=C", "-e", "PATH=" + std::string(canary_probe_path),
                "-u",     "node", "bottle-api"};
  expected.insert(expected.end(), export_command.begin(), export_command.end());
  f.runner.on(expected,
              exited(0, entry(".claude/projects/-workspace/s.jsonl", claude_line + real + " " + dummy + "\n") + "E\n"));

  REQUIRE(f.run({"stop", "api"}) == 0);
  const auto argvs = f.runner.argvs();
  CHECK(std::find(argvs.begin(), argvs.end(), expected) != argvs.end());
  CHECK_THAT(f.err.str(), Catch::Contains("sessions: removed OpenAI API key from saved session file "
                                          ".claude/projects/-workspace/s.jsonl") &&
                              Catch::Contains("sessions: removed a dummy credential of this bottle from saved "
                                              "session file .claude/projects/-workspace/s.jsonl"));
  CHECK(f.err.str().find(real) == std::string::npos);
  CHECK(f.err.str().find(dummy) == std::string::npos);
  const auto stored = read_session_store(f.ctx.dirs, "api", AgentKind::claude);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].content == claude_line + "[bottle: token removed] [bottle: token removed]\n");

  CHECK(f.run({"sessions", "api", "--json"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("\"id\":\"s\",\"agent\":\"claude\"") &&
                              Catch::Contains("\"title\":\"fix the flaky test\""));

  REQUIRE(f.run({"rm", "--force", "api"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("kept the agent sessions of api in ") &&
                              Catch::Contains("`bottle-cli sessions --purge api` deletes them"));
  CHECK(session_store_exists(f.ctx.dirs, "api"));
  CHECK(f.run({"sessions", "api"}) == 0);
  CHECK_THAT(f.out.str(), Catch::Contains("fix the flaky test"));

  // The engine no longer lists the bottle from here on.
  CliFixture g;
  g.ctx.dirs = f.ctx.dirs;
  SECTION("a new bottle of the same name gets them back at its first start") {
    REQUIRE(g.run({"create", "--name", "api", "--no-egress"}) == 0);
    CHECK_THAT(g.out.str(), Catch::Contains("the agent sessions saved for api are back in the bottle"));
    int restores = 0;
    for (const auto& command : g.runner.commands()) {
      if (command.argv.size() < 5 || command.argv[command.argv.size() - 2] != "bottle-sessions") continue;
      ++restores;
      CHECK(Argv(command.argv.end() - 5, command.argv.end()) == restore_argv("/home/node"));
      REQUIRE(command.stdin_data);
      CHECK(command.stdin_data->find("[bottle: token removed]") != std::string::npos);
    }
    CHECK(restores == 1);
    // Only once: a restart does not put them back over what the agent has since done.
    REQUIRE(g.run({"start", "api"}) == 0);
    restores = 0;
    for (const auto& command : g.runner.commands())
      restores += command.argv.size() >= 5 && command.argv[command.argv.size() - 2] == "bottle-sessions" ? 1 : 0;
    CHECK(restores == 1);
  }
  SECTION("create --resume-from seeds a new name; a failed create takes the seed away") {
    REQUIRE(g.run({"create", "--name", "web", "--no-egress", "--no-start", "--resume-from", "api"}) == 0);
    CHECK(read_session_store(g.ctx.dirs, "web", AgentKind::claude) == stored);
    CHECK(g.run({"create", "--name", "web", "--no-egress", "--resume-from", "api"}) == exit_code::conflict);
    CHECK(g.run({"create", "--name", "bad", "--agent", "codex", "--no-egress", "--resume-from", "api"}) ==
          exit_code::invalid_input);
    CHECK_FALSE(session_store_exists(g.ctx.dirs, "bad"));
    CHECK(g.run({"create", "--name", "x", "--no-egress", "--resume-from", "ghost"}) == exit_code::not_found);
  }
  SECTION("rm --purge and sessions --purge delete them") {
    CHECK(g.run({"sessions", "--purge", "api"}) == 0);
    CHECK(g.out.str() == "deleted the saved sessions of api\n");
    CHECK_FALSE(session_store_exists(g.ctx.dirs, "api"));
    REQUIRE(g.run({"create", "--name", "api", "--no-egress", "--no-start"}) == 0);
    write_session_store(g.ctx.dirs, "api", AgentKind::claude, stored);
    REQUIRE(g.run({"rm", "--purge", "api"}) == 0);
    CHECK(g.out.str() == "removed bottle api\ndeleted the saved agent sessions of api\n");
    CHECK_FALSE(session_store_exists(g.ctx.dirs, "api"));
  }
}
