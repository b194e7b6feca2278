#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <fstream>

#include "bottle/core/error.hpp"
#include "bottle/core/state.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("atomic writes create private directories and files", "[state]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "a" / "b" / "spec.json";
  write_file_atomic(file, "hello", 0600);
  CHECK(read_file(file) == "hello");
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(tmp.path() / "a") == 0700);
  CHECK(mode_of(tmp.path() / "a" / "b") == 0700);
  write_file_atomic(file, "again", 0644);
  CHECK(read_file(file) == "again");
  CHECK(mode_of(file) == 0644);
  // No temporary files are left behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(file.parent_path())) entries += e.path().filename() != "" ? 1 : 0;
  CHECK(entries == 1);
}

TEST_CASE("read_file reads up to its limit and refuses more", "[state]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "f";
  write_file_atomic(file, std::string(100000, 'x'));
  CHECK(read_file(file, 100000).size() == 100000);
  try {
    read_file(file, 99999);
    FAIL("read past the limit");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    CHECK(std::string(e.what()) ==
          file.string() + ": is larger than 99999 bytes, more than bottle reads from such a file");
  }
  // A device that never ends is cut off, not read until memory runs out.
  CHECK_THROWS_WITH(read_file("/dev/zero"),
                    "/dev/zero: is larger than 16 MiB, more than bottle reads from such a file");
}

TEST_CASE("a failed atomic write leaves the old file intact", "[state]") {
  TempDir tmp;
  const fs::path file = tmp.path() / "state.json";
  write_file_atomic(file, "old");
  // A directory where the file should go makes rename fail after the temp file was written.
  const fs::path blocked = tmp.path() / "dir-target";
  fs::create_directories(blocked / "child");
  CHECK_THROWS_AS(write_file_atomic(blocked, "new"), Error);
  CHECK(read_file(file) == "old");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++entries;
  CHECK(entries == 2);  // state.json and dir-target: no temp file left
}

TEST_CASE("state directories come from BOTTLE_HOME or XDG variables", "[state]") {
  StateDirs d = StateDirs::from_environment(Host({{"BOTTLE_HOME", "/tmp/bh-test"}, {"HOME", "/home/u"}}));
  CHECK(d.config == "/tmp/bh-test/config");
  CHECK(d.state == "/tmp/bh-test/state");
  CHECK(d.spec_path("x") == "/tmp/bh-test/config/bottles/x.json");
  CHECK_THROWS_WITH(d.spec_path("../x"), Catch::Contains("may contain only"));
  CHECK_THROWS_WITH(StateDirs::from_environment(Host(Host::Environment{{"BOTTLE_HOME", "relative"}})),
                    "environment variable BOTTLE_HOME: must be an absolute path");
  d = StateDirs::from_environment(Host({{"XDG_CONFIG_HOME", "/c"}, {"XDG_STATE_HOME", "/s"}}));
  CHECK(d.config == "/c/bottle");
  CHECK(d.state == "/s/bottle");
  d = StateDirs::from_environment(Host(Host::Environment{{"HOME", "/home/u"}}));
  CHECK(d.config == "/home/u/.config/bottle");
  CHECK(d.state == "/home/u/.local/state/bottle");
}

TEST_CASE("a corrupt stored spec is reported, not replaced", "[state]") {
  TempDir tmp;
  SpecStore store({tmp.path() / "config", tmp.path() / "state"});
  BottleSpec s;
  s.name = "api";
  store.save(s);
  CHECK(store.load("api") == s);
  CHECK(mode_of(tmp.path() / "config" / "bottles" / "api.json") == 0600);
  { std::ofstream(tmp.path() / "config" / "bottles" / "api.json") << "{\"name\": \"api\", \"oops\": 1}"; }
  CHECK_THROWS_WITH(store.load("api"), Catch::Contains("is corrupt") && Catch::Contains("$.oops: unknown key"));
  CHECK_THROWS_WITH(store.load_all(), Catch::Contains("is corrupt"));
  CHECK_THROWS_WITH(store.load("other"), "no bottle named \"other\"");
}
