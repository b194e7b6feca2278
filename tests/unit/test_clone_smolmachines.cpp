// Clone mode on smolmachines: the clone is on the VM's own disk, filled and read
// through `smolvm machine exec` with the same guest scripts as on Docker.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/smolmachines_commands.hpp"
#include "bottle/ops/clone_ops.hpp"
#include "bottle/workspace/clone_repo.hpp"
#include "bottle/workspace/clone_vm.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

const std::string id_a(40, 'a');
const std::string id_b(40, 'b');

BottleSpec smol_clone_spec() {
  BottleSpec s;
  s.name = "api";
  s.backend = BackendKind::smolmachines;
  s.image = "bottle-agent:latest";
  s.repo = RepoSpec{.path = "/src/api", .branch = "bottle/api", .base = id_a};
  return s;
}

SmolmachinesOptions smol_options() {
  return {.smolvm = "smolvm", .grammar = SmolvmGrammar::flag_names, .pty_resize = "/p/pty-resize"};
}

Argv guest_exec(std::vector<std::string> rest) {
  Argv argv{"smolvm", "machine", "exec", "--name", "bottle-api"};
  argv.insert(argv.end(), rest.begin(), rest.end());
  return argv;
}

bool is_host_git(const Command& c) { return !c.argv.empty() && c.argv.front() == "git"; }

bool has_word(const Argv& argv, std::string_view word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

// Host git answered as a repository at /src/api would answer; a bundle create
// writes its file, as git does.
void answer_host_git(RecordingRunner& runner) {
  runner.respond([](const Command& c) -> std::optional<ProcessResult> {
    if (!is_host_git(c)) return std::nullopt;
    if (has_word(c.argv, "--is-bare-repository")) return exited(0, "false\n/src/api/.git\n");
    if (has_word(c.argv, "bundle") && has_word(c.argv, "create")) {
      const auto at = std::find(c.argv.begin(), c.argv.end(), "-q");
      std::ofstream(*(at + 1), std::ios::binary) << "HOST-BUNDLE";
      return exited(0);
    }
    if (has_word(c.argv, "list-heads")) return exited(0, id_b + " refs/heads/bottle/api\n");
    if (has_word(c.argv, "init")) {
      std::filesystem::create_directories(std::filesystem::path(c.argv.back()) / "objects" / "info");
      return exited(0);
    }
    if (has_word(c.argv, "rev-parse")) return exited(1);  // no --into branch yet
    return exited(0);
  });
}

std::vector<Command> guest_commands(const RecordingRunner& runner) {
  std::vector<Command> guest;
  for (const auto& c : runner.commands())
    if (!is_host_git(c)) guest.push_back(c);
  return guest;
}

}  // namespace

TEST_CASE("clone on smolmachines: the spec is accepted, a workspace over the clone is not",
          "[clone][smolmachines][spec]") {
  const BottleSpec parsed = parse_spec(R"({"name": "x", "backend": "smolmachines", "repo": {"path": "/r"}})");
  REQUIRE(parsed.repo);
  CHECK(parsed.guest_workdir() == "/workspace");
  CHECK(error_of([] {
          parse_spec(R"({"name": "x", "backend": "smolmachines", "workspaces": [{"host": "/h", "guest": "/"}],
                         "repo": {"path": "/r"}})");
        }) ==
        "spec: $.workspaces[0].guest: on smolmachines the clone is made on the VM's own disk at /workspace; a "
        "workspace mounted at / would put it in a host directory instead");
  CHECK(error_of([] {
          parse_spec(R"({"name": "x", "backend": "smolmachines", "workspaces": [{"host": "/h"}],
                         "repo": {"path": "/r"}})");
        }) == "spec: $.workspaces[0].guest: clone mode puts the clone at /workspace; mount this workspace elsewhere");
  // A workspace beside the clone is fine.
  CHECK_NOTHROW(parse_spec(R"({"name": "x", "backend": "smolmachines", "repo": {"path": "/r"},
                              "workspaces": [{"host": "/h", "guest": "/data"}]})"));
  CHECK(clone_on_host_mount("/"));
  CHECK(clone_on_host_mount("/workspace"));
  CHECK(clone_on_host_mount("/workspace/"));
  CHECK_FALSE(clone_on_host_mount("/work"));
  CHECK_FALSE(clone_on_host_mount("/workspace2"));
  CHECK_FALSE(clone_on_host_mount("/workspace/sub"));
}

TEST_CASE("clone on smolmachines: no host directory is mounted for the clone", "[clone][smolmachines][argv]") {
  const SmolmachinesCommands smol(smol_options());
  BottleSpec plain = smol_clone_spec();
  plain.repo.reset();
  const BottleSpec cloned = smol_clone_spec();
  const auto argvs = smol.create_argvs(cloned, {});
  CHECK(argvs == smol.create_argvs(plain, {}));
  CHECK(argvs == std::vector<Argv>{{"smolvm", "machine", "create", "--name", "bottle-api", "--image",
                                    "bottle-agent:latest", "--mem", "4096"}});
  // Deleting the machine deletes its disk, and the clone with it.
  CHECK(smol.remove_argvs(cloned) == std::vector<Argv>{{"smolvm", "machine", "delete", "--name", "bottle-api", "-f"}});
  const Argv agent = smol.agent_argv(cloned, {}, false).prefix;
  CHECK(Argv(agent.begin(), agent.begin() + 7) ==
        Argv{"smolvm", "machine", "exec", "--name", "bottle-api", "-w", "/workspace"});
}

TEST_CASE("clone on smolmachines: the scripts for the VM's disk", "[clone][smolmachines][argv]") {
  CHECK(guest_disk_clone_prepare_script() == "set -eu; mkdir -p /workspace; chown \"$1:$(id -g \"$1\")\" /workspace");
  CHECK(clone_prepare_script(BackendKind::smolmachines) == guest_disk_clone_prepare_script());
  CHECK(clone_prepare_script(BackendKind::docker) == guest_clone_prepare_script());
  // A pod has no root to chown with: its volume is checked, not changed.
  CHECK(clone_prepare_script(BackendKind::podman) == guest_pod_clone_prepare_script());
  CHECK(clone_prepare_script(BackendKind::kubernetes) == guest_pod_clone_prepare_script());
  CHECK(clone_bundle_streams(BackendKind::smolmachines));
  CHECK_FALSE(clone_bundle_streams(BackendKind::kubernetes));
  CHECK_FALSE(clone_bundle_streams(BackendKind::docker));
}

TEST_CASE("clone on smolmachines: the first start sends the host's bundle through exec stdin",
          "[clone][smolmachines][argv]") {
  TempDir dir;
  const StateDirs dirs{.config = dir.path() / "config", .state = dir.path() / "state"};
  RecordingRunner runner;
  answer_host_git(runner);
  Backend smol(runner, std::make_unique<SmolmachinesCommands>(smol_options()));
  const BottleSpec spec = smol_clone_spec();
  populate_clone(runner, smol, spec, dirs);

  const auto guest = guest_commands(runner);
  REQUIRE(guest.size() == 2);
  CHECK(guest[0].argv == guest_exec({"-w", "/", "--", "sh", "-c", guest_disk_clone_prepare_script(), "sh", "node"}));
  CHECK_FALSE(guest[0].stdin_data);
  CHECK(guest[1].argv == guest_exec({"-i", "-w", "/", "--", "runuser", "-u", "node", "--", "sh", "-c",
                                     guest_clone_script(), "sh", "bottle/api", id_a, "api"}));
  CHECK(guest[1].stdin_data == std::optional<std::string>("HOST-BUNDLE"));
  // A later start finds the clone made and runs nothing.
  const std::size_t before = runner.commands().size();
  populate_clone(runner, smol, spec, dirs);
  CHECK(runner.commands().size() == before);
}

TEST_CASE("clone on smolmachines: fetch reads the guest's bundle from a streamed exec", "[clone][smolmachines][argv]") {
  TempDir dir;
  const StateDirs dirs{.config = dir.path() / "config", .state = dir.path() / "state"};
  std::filesystem::create_directories(dirs.bottle_state_dir("api"));
  RecordingRunner runner;
  answer_host_git(runner);
  runner.on({"smolvm", "machine", "ls", "--json"}, exited(0, R"([{"name": "bottle-api", "state": "running"}])"));
  const std::string bundle_bytes("# v2 git bundle\n\0\xff\x01pack", 23);
  std::string verified;
  runner.respond([&](const Command& c) -> std::optional<ProcessResult> {
    if (has_word(c.argv, guest_status_script())) return exited(0, "dirty 0\nbranch bottle/api " + id_b + " 1\n");
    if (has_word(c.argv, guest_bundle_script())) return exited(0, bundle_bytes);
    if (is_host_git(c) && has_word(c.argv, "verify")) {
      std::ifstream in(c.argv.back(), std::ios::binary);
      verified.assign(std::istreambuf_iterator<char>(in), {});
      return exited(0);
    }
    return std::nullopt;
  });
  Backend smol(runner, std::make_unique<SmolmachinesCommands>(smol_options()));
  const FetchReport report = fetch_clone(runner, smol, smol_clone_spec(), dirs, {});
  REQUIRE(report.fetched.size() == 1);
  CHECK(report.fetched[0].name == "bottle/api");

  const auto guest = guest_commands(runner);
  REQUIRE(guest.size() == 3);
  CHECK(guest[0].argv == Argv{"smolvm", "machine", "ls", "--json"});
  CHECK(guest[1].argv ==
        guest_exec({"-w", "/", "--", "runuser", "-u", "node", "--", "sh", "-c", guest_status_script(), "sh", id_a}));
  // -i with empty stdin: smolvm streams every byte of the bundle instead of buffering it.
  CHECK(guest[2].argv == guest_exec({"-i", "-w", "/", "--", "runuser", "-u", "node", "--", "sh", "-c",
                                     guest_bundle_script(), "sh", "refs/heads/bottle/api", "^" + id_a}));
  CHECK(guest[2].stdin_data == std::optional<std::string>(""));
  // The host verifies the bundle it wrote: byte for byte what the guest printed.
  CHECK(verified == bundle_bytes);
}
