// Self-test of the fake smolvm's root disk: a VM has a root filesystem of its own, so a
// top-level directory guest root makes is on the machine's disk, kept across restarts,
// gone with `delete`, and never in the host's root. (Clone mode on smolmachines keeps
// its clone there, at /workspace.)
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "test_paths.hpp"

namespace {

namespace fs = std::filesystem;

class FakeDiskState {
 public:
  FakeDiskState() {
    std::string pattern = (fs::temp_directory_path() / "fake-smolvm-disk-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
  }
  ~FakeDiskState() {
    run({"machine", "delete", "m1", "-f"});
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  FakeDiskState(const FakeDiskState&) = delete;
  FakeDiskState& operator=(const FakeDiskState&) = delete;

  bottle::ProcessResult run(const std::vector<std::string>& args) {
    bottle::Command command{.argv = {test_paths::fake_smolvm},
                            .env = {{"FAKE_SMOLVM_STATE", dir_.string()}, {"FAKE_SMOLVM_VERSION", "0.8.0"}}};
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    return runner_.run(command);
  }
  bottle::ProcessResult guest(const std::string& script) {
    return run({"machine", "exec", "--name", "m1", "--", "sh", "-c", script});
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  bottle::SystemRunner runner_;
};

}  // namespace

TEST_CASE("fake smolvm: a top-level directory made in the guest is on the machine's disk", "[fake_smolvm]") {
  FakeDiskState state;
  const std::string top = "/fake-smolvm-disk-probe-" + std::to_string(::getpid());
  REQUIRE(state.run({"machine", "create", "m1", "--image", "alpine"}).ok());
  REQUIRE(state.run({"machine", "start", "--name", "m1"}).ok());

  auto r = state.guest("mkdir " + top + " && echo kept > " + top + "/f && cat " + top + "/f");
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(r.out == "kept\n");
  CHECK_FALSE(fs::exists(top));
  // The guest still sees the host's tree (its tools, /tmp).
  CHECK(state.guest("test -d " + state.dir().string() + " && command -v sh >/dev/null").ok());

  // A restart keeps the disk; delete takes it.
  REQUIRE(state.run({"machine", "stop", "--name", "m1"}).ok());
  REQUIRE(state.run({"machine", "start", "--name", "m1"}).ok());
  r = state.guest("cat " + top + "/f");
  CHECK(r.out == "kept\n");
  CHECK_FALSE(fs::exists(top));
  REQUIRE(state.run({"machine", "delete", "m1", "-f"}).ok());
  CHECK_FALSE(fs::exists(state.dir() / "fs" / "m1"));
  REQUIRE(state.run({"machine", "create", "m1", "--image", "alpine"}).ok());
  REQUIRE(state.run({"machine", "start", "--name", "m1"}).ok());
  CHECK_FALSE(state.guest("test -e " + top).ok());
}
