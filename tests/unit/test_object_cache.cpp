#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/ops/object_cache.hpp"
#include "bottle/workspace/object_cache.hpp"
#include "error_of.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

namespace fs = std::filesystem;

BottleSpec clone_spec() {
  BottleSpec s = minimal_docker_spec();
  s.repo = RepoSpec{.path = "/src/api", .branch = "bottle/api", .base = std::string(40, 'a')};
  return s;
}

const std::string id_a(40, 'a');
const std::string id_b(40, 'b');
const std::string id_c(40, 'c');
const std::string volume = "bottle-objects-7994907367ce8cdd";

// The fake host repository and engine of one fill: the probe finds /src/api/.git,
// the host's tips are `tips`, and every bundle create writes a small file.
struct FillFixture {
  TempDir dir;
  StateDirs dirs{.config = dir.path() / "config", .state = dir.path() / "state"};
  RecordingRunner runner;
  Backend backend{runner, std::make_unique<DockerCommands>()};
  fs::path tips_file = dirs.state / "objects" / "7994907367ce8cdd.tips";

  explicit FillFixture(const std::string& tips, bool volume_exists = true) {
    runner.fallback = exited(0);
    runner.on({"docker", "volume", "inspect"},
              volume_exists ? exited(0, volume + "\n") : exited(1, "", "Error: No such volume"));
    runner.on(host_repo_probe_argv("/src/api"), exited(0, "false\n/src/api/.git\n"));
    runner.on(host_tips_argv(), exited(0, tips));
    runner.respond([](const Command& c) -> std::optional<ProcessResult> {
      const auto at = std::find(c.argv.begin(), c.argv.end(), "bundle");
      if (at == c.argv.end() || at + 3 >= c.argv.end() || *(at + 1) != "create") return std::nullopt;
      std::ofstream(*(at + 3)) << "bundle bytes";
      return exited(0);
    });
  }
  // The argvs of bundle creates and fill containers, in order.
  std::vector<Argv> fills() const {
    std::vector<Argv> found;
    for (const auto& argv : runner.argvs())
      if (std::find(argv.begin(), argv.end(), "bundle") != argv.end() || (argv.size() > 1 && argv[1] == "run"))
        found.push_back(argv);
    return found;
  }
};

// `host_bundle_since_argv` with the bundle path of a fill replaced by "FILE".
Argv without_path(Argv argv) {
  const auto at = std::find(argv.begin(), argv.end(), "-q");
  if (at != argv.end() && at + 1 != argv.end()) *(at + 1) = "FILE";
  return argv;
}

}  // namespace

TEST_CASE("object cache: one volume per repository path, named by its hash", "[clone][objects]") {
  CHECK(object_cache_id("/src/api") == "7994907367ce8cdd");
  CHECK(object_cache_id("/src/api/") == "7994907367ce8cdd");
  CHECK(object_cache_id("/src/./api") == "7994907367ce8cdd");
  CHECK(object_cache_id("/src/web") != "7994907367ce8cdd");
  CHECK(object_cache_volume_name("/src/api") == volume);
  CHECK(uses_object_cache(clone_spec()));
  CHECK_FALSE(uses_object_cache(minimal_docker_spec()));
  BottleSpec smol = clone_spec();
  smol.backend = BackendKind::smolmachines;
  CHECK_FALSE(uses_object_cache(smol));
}

TEST_CASE("object cache: host argvs list the tips and bundle only what is new", "[clone][objects][argv]") {
  const Argv git = host_git_argv({});
  auto with = [&](std::vector<std::string> tail) {
    Argv argv = git;
    argv.insert(argv.end(), tail.begin(), tail.end());
    return argv;
  };
  CHECK(host_tips_argv() == with({"rev-parse", "--branches", "--tags", "HEAD"}));
  CHECK(host_bundle_since_argv("/s/b", {}) == host_bundle_create_argv("/s/b"));
  CHECK(host_bundle_since_argv("/s/b", {id_a, id_b}) ==
        with({"bundle", "create", "-q", "/s/b", "--branches", "--tags", "HEAD", "--not", id_a, id_b}));
}

TEST_CASE("object cache: tips are parsed strictly, sorted and unique", "[clone][objects][parse]") {
  CHECK(parse_tips(id_b + "\n" + id_a + "\n" + id_b + "\n") == std::vector<std::string>{id_a, id_b});
  CHECK(parse_tips("").empty());
  CHECK(error_of([] { parse_tips("refs/heads/main\n"); }, ErrorKind::backend) ==
        "object cache tips: 'refs/heads/main' is not an object id");
  CHECK(tips_known({id_a}, {id_a, id_b}));
  CHECK(tips_known({}, {id_a}));
  CHECK_FALSE(tips_known({id_a, id_c}, {id_a, id_b}));
}

TEST_CASE("object cache: docker argvs of the volume and the fill container", "[clone][objects][docker][argv]") {
  const DockerCommands docker;
  CHECK(docker.object_cache_inspect_argv(volume) ==
        Argv{"docker", "volume", "inspect", "--format", "{{.Name}}", volume});
  CHECK(docker.object_cache_create_argv(volume, "/src/api") ==
        Argv{"docker", "volume", "create", "--label", "io.bottle.managed=1", "--label", "io.bottle.role=objects",
             "--label", "io.bottle.repo=/src/api", volume});
  CHECK(docker.object_cache_fill_argv(clone_spec(), volume) ==
        Argv{"docker",
             "run",
             "--rm",
             "-i",
             "--network",
             "none",
             "--cap-drop",
             "ALL",
             "--security-opt",
             "no-new-privileges",
             "--pids-limit",
             "256",
             "--user",
             "0:0",
             "--mount",
             "type=volume,source=" + volume + ",target=/bottle-objects",
             "--entrypoint",
             "/bin/sh",
             "bottle-agent:latest",
             "-c",
             object_cache_fill_script(),
             "sh",
             id_a});
  // The bottle mounts the cache read-only, beside its own clone volume.
  const Argv create = docker.create_argvs(clone_spec(), {}).back();
  const auto at =
      std::find(create.begin(), create.end(), "type=volume,source=" + volume + ",target=/bottle-objects,readonly");
  REQUIRE(at != create.end());
  CHECK(*(at - 1) == "--mount");
  CHECK(std::count_if(create.begin(), create.end(),
                      [](const std::string& w) { return w.find("bottle-objects-") != std::string::npos; }) == 1);
}

TEST_CASE("object cache: the scripts never gc, and the clone borrows through alternates", "[clone][objects][script]") {
  const std::string fill = object_cache_fill_script();
  CHECK(fill.find("gc.auto=0") != std::string::npos);
  CHECK(fill.find("core.hooksPath=/dev/null") != std::string::npos);
  CHECK(fill.find(" gc ") == std::string::npos);
  CHECK(fill.find("prune") == std::string::npos);
  // The first fill is renamed into place only once whole.
  CHECK(fill.find("mv \"$t\" \"$r\"") != std::string::npos);
  const std::string clone = guest_clone_shared_script();
  CHECK(clone.find("git clone -q --template= --no-checkout --shared -o host /bottle-objects/repo.git /workspace") !=
        std::string::npos);
  CHECK(clone.find("git checkout -q -b \"$1\" \"$2\"") != std::string::npos);
}

TEST_CASE("object cache: the first fill sends everything and records the tips", "[clone][objects][ops]") {
  FillFixture f(id_b + "\n" + id_a + "\n", /*volume_exists=*/false);
  // A tips file of a volume that is gone says nothing.
  write_file_atomic(f.tips_file, id_a + "\n" + id_b + "\n");
  fill_object_cache(f.runner, f.backend, clone_spec(), f.dirs);
  const auto argvs = f.runner.argvs();
  CHECK(std::find(argvs.begin(), argvs.end(), DockerCommands().object_cache_create_argv(volume, "/src/api")) !=
        argvs.end());
  const auto fills = f.fills();
  REQUIRE(fills.size() == 2);
  CHECK(without_path(fills[0]) == host_bundle_since_argv("FILE", {}));
  CHECK(fills[1] == DockerCommands().object_cache_fill_argv(clone_spec(), volume));
  CHECK(f.runner.commands().back().stdin_data == std::optional<std::string>("bundle bytes"));
  CHECK(read_file(f.tips_file) == id_a + "\n" + id_b + "\n");
  struct stat st {};
  REQUIRE(::stat(f.tips_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // No bundle file is left behind.
  for (const auto& e : fs::directory_iterator(f.dirs.state / "objects")) CHECK(e.path().extension() != ".bundle");
}

TEST_CASE("object cache: later fills send what is new, or nothing", "[clone][objects][ops]") {
  SECTION("nothing new: no bundle, no container") {
    FillFixture f(id_a + "\n");
    write_file_atomic(f.tips_file, id_a + "\n" + id_b + "\n");
    fill_object_cache(f.runner, f.backend, clone_spec(), f.dirs);
    CHECK(f.fills().empty());
  }
  SECTION("a new tip: a bundle minus the known tips") {
    FillFixture f(id_a + "\n" + id_c + "\n");
    write_file_atomic(f.tips_file, id_a + "\n" + id_b + "\n");
    fill_object_cache(f.runner, f.backend, clone_spec(), f.dirs);
    const auto fills = f.fills();
    REQUIRE(fills.size() == 2);
    CHECK(without_path(fills[0]) == host_bundle_since_argv("FILE", {id_a, id_b}));
    CHECK(read_file(f.tips_file) == id_a + "\n" + id_c + "\n");
  }
  SECTION("the incremental fill fails: everything, once more") {
    FillFixture f(id_c + "\n");
    write_file_atomic(f.tips_file, id_a + "\n");
    // The first container run fails, the second succeeds.
    int runs = 0;
    f.runner.respond([&runs](const Command& c) -> std::optional<ProcessResult> {
      if (c.argv.size() < 2 || c.argv[1] != "run") return std::nullopt;
      return ++runs == 1 ? exited(1, "", "error: Repository lacks these prerequisite commits") : exited(0);
    });
    fill_object_cache(f.runner, f.backend, clone_spec(), f.dirs);
    const auto fills = f.fills();
    REQUIRE(fills.size() == 4);
    CHECK(without_path(fills[0]) == host_bundle_since_argv("FILE", {id_a}));
    CHECK(without_path(fills[2]) == host_bundle_since_argv("FILE", {}));
    CHECK(read_file(f.tips_file) == id_c + "\n");
  }
}

TEST_CASE("object cache: a fill that fails is a clear error and records nothing", "[clone][objects][ops]") {
  FillFixture f(id_c + "\n");
  write_file_atomic(f.tips_file, id_a + "\n");
  f.runner.respond([](const Command& c) -> std::optional<ProcessResult> {
    if (c.argv.size() < 2 || c.argv[1] != "run") return std::nullopt;
    return exited(1, "", "sh: git: not found");
  });
  const std::string message =
      error_of([&] { fill_object_cache(f.runner, f.backend, clone_spec(), f.dirs); }, ErrorKind::backend);
  CHECK(message == "clone: could not fill the object cache " + volume +
                       " of /src/api, so the bottle was not created: the fill container failed (does the image have "
                       "git?): sh: git: not found");
  CHECK(f.fills().size() == 4);  // the incremental try, then the full one
  CHECK(read_file(f.tips_file) == id_a + "\n");
}

TEST_CASE("object cache: bottles without clone mode never touch it", "[clone][objects][ops]") {
  FillFixture f(id_a + "\n");
  fill_object_cache(f.runner, f.backend, minimal_docker_spec(), f.dirs);
  CHECK(f.runner.argvs().empty());
  CHECK_FALSE(fs::exists(f.dirs.state / "objects"));
}
