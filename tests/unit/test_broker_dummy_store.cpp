// BrokerDummyStore: the broker's minted dummies, kept across restarts in the same
// file and format as the Python addon's DummyStore.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "bottle/egress/broker_dummy_store.hpp"
#include "temp_dir.hpp"

namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("broker dummy store: added dummies are written atomically 0600 and read back after a restart",
          "[native-egress]") {
  TempDir dir;
  const auto file = dir.path() / std::string(bottle::broker_state_file_name);
  {
    bottle::BrokerDummyStore store(file);
    CHECK(store.get("codex").empty());
    store.add("codex", "dummy-access-0002");
    store.add("codex", "dummy-id-token-0002", true);
  }
  CHECK(read_all(file) == R"({"version":1,"routes":{"codex":["dummy-access-0002"]},)"
                          R"("guarded":{"codex":["dummy-id-token-0002"]}})");
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  const bottle::BrokerDummyStore again(file);
  CHECK(again.get("codex") == std::vector<std::string>{"dummy-access-0002"});
  CHECK(again.get("codex", true) == std::vector<std::string>{"dummy-id-token-0002"});
  CHECK(again.get("claude").empty());
}

TEST_CASE("broker dummy store: the addon's file is read, a malformed one as empty, 64 kept per route",
          "[native-egress]") {
  TempDir dir;
  const auto file = dir.path() / "state.json";
  {
    std::ofstream out(file);
    out << R"({"version": 1, "routes": {"codex": ["a-dummy-0001", 7]}, "guarded": {}})";
  }
  CHECK(bottle::BrokerDummyStore(file).get("codex") == std::vector<std::string>{"a-dummy-0001"});
  {
    std::ofstream out(file);
    out << "{not json";
  }
  CHECK(bottle::BrokerDummyStore(file).get("codex").empty());
  CHECK(bottle::BrokerDummyStore(dir.path() / "missing.json").get("codex").empty());

  bottle::BrokerDummyStore memory(std::nullopt);
  for (int i = 0; i < 70; ++i) memory.add("codex", "dummy-" + std::to_string(i));
  const auto kept = memory.get("codex");
  REQUIRE(kept.size() == bottle::BrokerDummyStore::max_per_route);
  CHECK(kept.front() == "dummy-6");
  CHECK(kept.back() == "dummy-69");
}
