// bottle-cli against the fake smolvm (tests/fakes), which follows the smolvm 0.8.x
// CLI and runs "guest" commands on the host.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "cli_harness.hpp"

namespace {

std::vector<boost::json::array> logged_argvs(const IntegrationHome& home) {
  std::ifstream in(home.path() / "fake.log");
  std::vector<boost::json::array> argvs;
  std::string line;
  while (std::getline(in, line)) {
    const auto v = boost::json::parse(line);
    if (const auto* argv = v.as_object().if_contains("argv")) argvs.push_back(argv->as_array());
  }
  return argvs;
}

}  // namespace

TEST_CASE("smolmachines: create, ls --json, exec, stop, rm against the fake smolvm", "[smolmachines][integration]") {
  for (const std::string version : {"0.8.0", "1.0.2"}) {
    DYNAMIC_SECTION("smolvm " << version) {
      IntegrationHome home;
      home.use_fake_smolvm(version);
      const std::string name = unique_bottle_name("it-smol");
      const auto workspace = home.path() / "ws";
      std::filesystem::create_directories(workspace);

      // The fake runs guest commands on the host, so the agent user must exist here:
      // "nobody" exercises the runuser framing.
      auto r = home.cli({"create", "--backend", "smolmachines", "--name", name, "--user", "nobody", "--workspace",
                         workspace.string() + ":" + workspace.string(), "-e", "GREETING=hi there"});
      INFO(r.err);
      REQUIRE(r.ok());

      r = home.cli({"ls", "--json"});
      REQUIRE(r.ok());
      const auto rows = boost::json::parse(r.out).as_array();
      REQUIRE(rows.size() == 1);
      CHECK(rows[0].at("name") == name.c_str());
      CHECK(rows[0].at("backend") == "smolmachines");
      CHECK(rows[0].at("state") == "running");

      r = home.cli({"exec", name, "--", "sh", "-c", "id -un; pwd; echo \"$GREETING\"; exit 3"});
      INFO(r.err);
      CHECK(r.code == 3);
      CHECK(r.out == "nobody\n" + workspace.string() + "\nhi there\n");

      r = home.cli({"stop", name});
      REQUIRE(r.ok());
      CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"state\":\"stopped\""));
      // exec never starts a stopped machine; the engine's error comes through.
      r = home.cli({"exec", name, "--", "true"});
      CHECK(r.code == 1);
      CHECK_THAT(r.err, Catch::Contains("is not running"));

      r = home.cli({"rm", name});
      INFO(r.err);
      REQUIRE(r.ok());
      CHECK(home.cli({"ls", "--json"}).out == "[]\n");

      // What bottle asked of smolvm, in the grammar of that version.
      const auto argvs = logged_argvs(home);
      const std::string machine = "bottle-" + name;
      bool saw_create = false, saw_delete = false;
      for (const auto& argv : argvs) {
        if (argv.size() > 3 && argv[1] == "machine" && argv[2] == "create") {
          saw_create = true;
          CHECK(argv[3] == (version == "0.8.0" ? machine.c_str() : "--name"));
        }
        if (argv.size() > 3 && argv[1] == "machine" && argv[2] == "delete") {
          saw_delete = true;
          CHECK(argv[3] == (version == "0.8.0" ? machine.c_str() : "--name"));
        }
      }
      CHECK(saw_create);
      CHECK(saw_delete);
    }
  }
}
