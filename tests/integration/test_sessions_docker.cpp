// Sessions that outlive the bottle, against the real Docker engine: files the agent
// wrote survive rm + create at the path the CLI reads, tokens are stripped on the
// way out, planted symlinks are not followed, and the real codex CLI resumes its
// conversation in the re-created bottle.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>
#include <regex>

#include "cli_harness.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* test_image = "bottle-test:latest";
constexpr const char* codex_image = "bottle-test-codex:latest";

struct DockerCleanup {
  std::string name;
  ~DockerCleanup() {
    bottle::SystemRunner r;
    r.run({.argv = {"docker", "rm", "-f", "bottle-" + name}});
    r.run({.argv = {"docker", "network", "rm", "bottle-" + name + "-net"}});
  }
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every entry of the store: regular files and directories only, and what the files hold.
struct StoreScan {
  std::vector<std::string> files;
  std::string all_content;
  int other_entries = 0;
};
StoreScan scan_store(const fs::path& store) {
  StoreScan scan;
  for (fs::recursive_directory_iterator it(store), end; it != end; ++it) {
    const auto status = it->symlink_status();
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      ++scan.other_entries;
      continue;
    }
    scan.files.push_back(it->path().lexically_relative(store).string());
    scan.all_content += slurp(it->path());
  }
  std::sort(scan.files.begin(), scan.files.end());
  return scan;
}

// `codex exec ARGS` in the bottle, pointed at a port where nothing listens so that
// each model request fails at once (not after a DNS lookup that times out: the
// bottle's network resolves no outside name), and stopped as `timeout 40` stopped
// it, only as soon as UNTIL is seen: "output:TEXT" in its output, or
// "sessions:TEXT" in a file under ~/.codex/sessions (the turn is recorded). codex
// retries the model for as long as it runs, and nothing here needs the model.
std::vector<std::string> codex_exec_until(const std::string& name, const std::string& until,
                                          const std::vector<std::string>& args) {
  static const std::string script = R"SH(until_seen="$1"; shift; out=$(mktemp)
codex exec --skip-git-repo-check -c 'openai_base_url="http://127.0.0.1:9/v1"' "$@" </dev/null >"$out" 2>&1 &
pid=$!; i=0
while [ "$i" -lt 400 ] && kill -0 "$pid" 2>/dev/null; do
  case "$until_seen" in
    output:*) grep -qF "${until_seen#output:}" "$out" && break ;;
    sessions:*) grep -rqsF "${until_seen#sessions:}" "$HOME/.codex/sessions" && break ;;
  esac
  sleep 0.1; i=$((i + 1))
done
kill "$pid" 2>/dev/null; wait "$pid"; cat "$out"
)SH";
  std::vector<std::string> argv{"exec", name, "--", "sh", "-c", script, "sh", until};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string session_id_in(const std::string& output) {
  std::smatch m;
  static const std::regex id("session id: ([0-9a-f-]{36})");
  return std::regex_search(output, m, id) ? m[1].str() : std::string();
}

}  // namespace

TEST_CASE("sessions: a Docker bottle's session files survive rm and create, without tokens or planted links",
          "[sessions][docker][integration]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  // The host's real login, which the bottle must never carry out into the store.
  const std::string real = "sk-real-host-key-" + std::to_string(::getpid()) + "-q8";
  fs::create_directories(d / "codex-home");
  std::ofstream(d / "codex-home/auth.json") << R"({"auth_mode":"apikey","OPENAI_API_KEY":")" << real << "\"}";
  home.env()["CODEX_HOME"] = (d / "codex-home").string();
  const std::string name = unique_bottle_name("it-sess");
  DockerCleanup cleanup{name};

  auto r = home.cli({"create", "--name", name, "--image", test_image, "--agent", "codex", "--no-egress"});
  INFO(r.err);
  REQUIRE(r.ok());
  // The agent writes a conversation holding the token, its history, a link to a
  // file it should not export, and a credential file next to its sessions.
  const std::string rollout =
      ".codex/sessions/2026/12/03/rollout-2026-12-03T06-00-00-0199a213-81c0-7800-8aa1-"
      "bbab2a035a53.jsonl";
  const std::string script =
      "set -e; cd /home/node; mkdir -p .codex/sessions/2026/12/03; "
      "printf '%s\\n' '{\"type\":\"event_msg\",\"payload\":{\"type\":\"user_message\",\"message\":\"port the "
      "parser\"}}' > " +
      rollout + "; printf 'key %s here\\n' \"$1\" >> " + rollout +
      "; echo '{\"text\":\"hi\"}' > .codex/history.jsonl; "
      "echo guest-only-secret > /tmp/guest-secret; ln -s /tmp/guest-secret "
      ".codex/sessions/2026/12/03/rollout-link.jsonl; "
      "ln -s /etc .codex/sessions/2026/12/04; echo '{}' > .codex/auth.json";
  r = home.cli({"exec", name, "--", "sh", "-c", script, "sh", real});
  INFO(r.err);
  REQUIRE(r.ok());

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("kept the agent sessions of " + name));
  CHECK_THAT(r.err, Catch::Contains("sessions: removed OpenAI API key from saved session file " + rollout));
  CHECK(r.err.find(real) == std::string::npos);

  const fs::path store = d / "state/sessions" / name;
  const StoreScan scan = scan_store(store);
  CHECK(scan.files == std::vector<std::string>{"agent", "home/.codex/history.jsonl", "home/" + rollout});
  CHECK(scan.other_entries == 0);
  CHECK(scan.all_content.find(real) == std::string::npos);
  CHECK(scan.all_content.find("guest-only-secret") == std::string::npos);
  CHECK(scan.all_content.find("root:x:0") == std::string::npos);
  CHECK_THAT(scan.all_content, Catch::Contains("key [bottle: token removed] here"));
  struct stat st {};
  REQUIRE(::stat(store.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  r = home.cli({"sessions", "--json", name});
  REQUIRE(r.ok());
  const auto listed = boost::json::parse(r.out).as_object().at("sessions").as_array();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("id") == "0199a213-81c0-7800-8aa1-bbab2a035a53");
  CHECK(listed[0].at("title") == "port the parser");

  // A new bottle of the same name finds the conversation where the CLI reads it.
  r = home.cli({"create", "--name", name, "--image", test_image, "--agent", "codex", "--no-egress"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("are back in the bottle"));
  r = home.cli({"exec", name, "--", "sh", "-c",
                "cd /home/node; cat " + rollout + "; ls -ln " + rollout +
                    " | cut -c1-10; ls .codex/sessions/2026/12/03 | wc -l; ls .codex"});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(r.out ==
        "{\"type\":\"event_msg\",\"payload\":{\"type\":\"user_message\",\"message\":\"port the parser\"}}\n"
        "key [bottle: token removed] here\n"
        "-rw-------\n1\nhistory.jsonl\nsessions\n");
  r = home.cli({"exec", name, "--", "stat", "-c", "%U", "/home/node/" + rollout});
  CHECK(r.out == "node\n");

  // A restart does not put them back a second time.
  REQUIRE(home.cli({"exec", name, "--", "rm", "/home/node/.codex/history.jsonl"}).ok());
  REQUIRE(home.cli({"stop", name}).ok());
  REQUIRE(home.cli({"start", name}).ok());
  CHECK_FALSE(home.cli({"exec", name, "--", "test", "-e", "/home/node/.codex/history.jsonl"}).ok());

  r = home.cli({"rm", "--force", "--purge", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("deleted the saved agent sessions of " + name));
  CHECK_FALSE(fs::exists(store));
}

TEST_CASE("sessions: the real codex CLI resumes its conversation in a re-created Docker bottle",
          "[sessions][docker][codex][integration]") {
  IntegrationHome home;
  const std::string name = unique_bottle_name("it-sessx");
  DockerCleanup cleanup{name};
  // No network at all: codex records the session before it tries the model, and
  // `codex exec resume --last` prints the id of the session it loaded (no model
  // answer is needed, so each run stops once what it checks is there).
  const std::vector<std::string> create{"create",    "--name",  name,    "--image",
                                        codex_image, "--agent", "codex", "--no-egress"};
  const std::vector<std::string> login{"exec",
                                       name,
                                       "--",
                                       "sh",
                                       "-c",
                                       "mkdir -p /home/node/.codex && printf '%s' "
                                       "'{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-offline\"}' > "
                                       "/home/node/.codex/auth.json"};
  auto r = home.cli(create);
  INFO(r.err);
  REQUIRE(r.ok());
  REQUIRE(home.cli(login).ok());
  r = home.cli(codex_exec_until(name, "sessions:say hi", {"say hi"}));
  const std::string first = session_id_in(r.out + r.err);
  INFO(r.out + r.err);
  REQUIRE_FALSE(first.empty());

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  r = home.cli({"sessions", name});
  CHECK_THAT(r.out, Catch::Contains(first) && Catch::Contains("say hi"));

  r = home.cli(create);
  INFO(r.err);
  REQUIRE(r.ok());
  REQUIRE(home.cli(login).ok());
  r = home.cli(codex_exec_until(name, "output:session id: ", {"resume", "--last", "and again"}));
  INFO(r.out + r.err);
  CHECK(session_id_in(r.out + r.err) == first);

  SECTION("without the saved sessions there is nothing to resume") {
    REQUIRE(home.cli({"rm", "--force", "--purge", name}).ok());
    REQUIRE(home.cli(create).ok());
    REQUIRE(home.cli(login).ok());
    r = home.cli(codex_exec_until(name, "output:session id: ", {"resume", "--last", "and again"}));
    CHECK(session_id_in(r.out + r.err) != first);
  }
}
