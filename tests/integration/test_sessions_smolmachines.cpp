// Sessions that outlive the bottle on the fake smolvm: the same export and restore
// run through `smolvm machine exec`. The fake runs guest commands on this host, so
// the agent user must be a host user whose home is /home/USER; the bottle mounts a
// scratch directory over that home inside the guest's own mount namespace, and the
// user's real home is never touched.
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "cli_harness.hpp"

namespace fs = std::filesystem;

namespace {

// A host user with an existing home directory under /home (not root).
std::optional<passwd> home_user() {
  ::setpwent();
  std::optional<passwd> found;
  while (const passwd* entry = ::getpwent()) {
    const std::string dir = entry->pw_dir ? entry->pw_dir : "";
    if (entry->pw_uid != 0 && dir == "/home/" + std::string(entry->pw_name) && fs::is_directory(dir)) {
      found = *entry;
      break;
    }
  }
  ::endpwent();
  return found;
}

}  // namespace

TEST_CASE("sessions: on the fake smolvm a session file survives rm and create through machine exec",
          "[sessions][smolmachines][integration]") {
  const auto user = home_user();
  if (!user) FAIL("this test needs a host user (not root) whose home is an existing /home/USER directory");
  const std::string user_name = user->pw_name;
  const std::string guest_home = "/home/" + user_name;
  IntegrationHome home;
  home.use_fake_smolvm("1.0.2");
  const std::string name = unique_bottle_name("it-smol-sess");
  const fs::path base = fs::temp_directory_path() / ("bottle-smol-sess-" + std::to_string(::getpid()));
  struct Cleanup {
    IntegrationHome& home;
    std::string name;
    fs::path base;
    ~Cleanup() {
      home.cli({"rm", "-f", "--purge", name});
      std::error_code ec;
      fs::remove_all(base, ec);
    }
  } cleanup{home, name, base};
  const auto scratch_home = [&](const std::string& which) {
    const fs::path dir = base / which;
    fs::create_directories(dir);
    ::chmod(base.c_str(), 0755);
    REQUIRE(::chown(dir.c_str(), user->pw_uid, user->pw_gid) == 0);
    // The user's own .claude, so bottle makes no root-owned placeholder there.
    fs::create_directories(dir / ".claude");
    REQUIRE(::chown((dir / ".claude").c_str(), user->pw_uid, user->pw_gid) == 0);
    return dir;
  };
  const auto create = [&](const fs::path& dir) {
    return home.cli({"create", "--backend", "smolmachines", "--name", name, "--user", user_name, "--no-egress",
                     "--agent", "claude", "--workspace", dir.string() + ":" + guest_home,
                     // The workspace is the agent's home here, and .claude is where the sessions live.
                     "--unsafe-unprotect", ".claude"});
  };

  const fs::path first = scratch_home("first");
  auto r = create(first);
  INFO(r.err);
  REQUIRE(r.ok());
  const std::string session = ".claude/projects/-home-x/0b7d.jsonl";
  r = home.cli({"exec", "-e", "HOME_DIR=" + guest_home, name, "--", "sh", "-c",
                "cd \"$HOME_DIR\" && mkdir -p .claude/projects/-home-x && "
                "echo '{\"type\":\"user\",\"message\":{\"content\":\"tidy the logs\"}}' > " +
                    session + " && ln -sf /etc/passwd .claude/projects/-home-x/evil.jsonl"});
  INFO(r.err);
  REQUIRE(r.ok());
  // It was written in the guest's view of the home, i.e. the scratch directory.
  REQUIRE(fs::exists(first / session));

  r = home.cli({"rm", "-f", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("kept the agent sessions of " + name));
  r = home.cli({"sessions", name});
  CHECK_THAT(r.out, Catch::Contains("0b7d") && Catch::Contains("tidy the logs"));
  CHECK_FALSE(fs::exists(home.path() / "state/sessions" / name / "home/.claude/projects/-home-x/evil.jsonl"));

  // A new bottle with a fresh home gets the conversation back, through machine exec.
  const fs::path second = scratch_home("second");
  r = create(second);
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(r.out, Catch::Contains("are back in the bottle"));
  std::ifstream in(second / session);
  const std::string restored((std::istreambuf_iterator<char>(in)), {});
  CHECK(restored == "{\"type\":\"user\",\"message\":{\"content\":\"tidy the logs\"}}\n");
  CHECK_FALSE(fs::exists(second / ".claude/projects/-home-x/evil.jsonl"));
  struct stat st {};
  REQUIRE(::stat((second / session).c_str(), &st) == 0);
  CHECK(st.st_uid == user->pw_uid);
  CHECK((st.st_mode & 0777) == 0600);
}
