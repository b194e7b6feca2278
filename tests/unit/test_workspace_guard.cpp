// Workspace protection: the scan of a real directory, the pure plan, the guest
// script, the spec fields, and the manifest that detects what mounts cannot stop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "bottle/core/error.hpp"
#include "bottle/spec/spec.hpp"
#include "bottle/workspace/workspace_guard.hpp"
#include "bottle/workspace/workspace_manifest.hpp"
#include "bottle/workspace/workspace_sentinel.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace Catch {
template <>
struct StringMaker<bottle::WorkspaceChange> {
  static std::string convert(const bottle::WorkspaceChange& c) { return c.path + ": " + c.change; }
};
}  // namespace Catch

using namespace bottle;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

// A repository as a user has it: hooks, a submodule, a nested repository, agent
// and editor settings, and ordinary files that stay writable.
void make_repo(const fs::path& root) {
  write(root / ".git/HEAD", "ref: refs/heads/main\n");
  write(root / ".git/config", "[core]\n");
  fs::create_directories(root / ".git/objects");
  fs::create_directories(root / ".git/refs");
  write(root / ".git/hooks/pre-commit.sample", "#!/bin/sh\n");
  write(root / ".git/info/exclude", "\n");
  write(root / ".git/modules/sm/HEAD", "ref: refs/heads/main\n");
  write(root / ".git/modules/sm/config", "[core]\n");
  write(root / "sm/.git", "gitdir: ../.git/modules/sm\n");
  write(root / "sub/nested/.git/HEAD", "ref: refs/heads/main\n");
  write(root / "sub/nested/.git/config", "[core]\n");
  fs::create_directories(root / "sub/nested/.git/objects");
  fs::create_directories(root / "sub/nested/.git/refs");
  write(root / "sub/nested/.vscode/tasks.json", "{}\n");
  write(root / ".claude/settings.json", "{}\n");
  write(root / ".envrc", "export A=1\n");
  write(root / "src/main.c", "int main(void) { return 0; }\n");
}

std::vector<std::string> relatives(const std::vector<GuardPath>& plan, bool read_only) {
  std::vector<std::string> out;
  for (const auto& p : plan)
    if (p.read_only == read_only) out.push_back(p.relative);
  return out;
}

}  // namespace

TEST_CASE("scan finds work trees, git directories and submodule git directories", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  const WorkspaceScan scan = scan_workspace(dir.path(), {});
  CHECK(scan.work_trees == std::vector<std::string>{"", "sm", "sub/nested"});
  CHECK(scan.git_dirs == std::vector<std::string>{".git", ".git/modules/sm", "sub/nested/.git"});
  CHECK(scan.entries.at(".claude") == EntryKind::directory);
  CHECK(scan.entries.at(".envrc") == EntryKind::file);
  CHECK(scan.entries.at("sm/.git") == EntryKind::file);
  CHECK(scan.entries.at(".mcp.json") == EntryKind::missing);
}

TEST_CASE("the plan: protected names read-only, git dirs and every parent immovable", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  const auto plan = plan_protection(scan_workspace(dir.path(), {}), {});
  CHECK(relatives(plan, true) == std::vector<std::string>{".claude", ".envrc", ".git/config", ".git/hooks", ".git/info",
                                                          "sm/.git", "sub/nested/.vscode", ".git/modules/sm/config",
                                                          "sub/nested/.git/config"});
  CHECK(relatives(plan, false) == std::vector<std::string>{".git", "sm", "sub", ".git/modules", "sub/nested",
                                                           ".git/modules/sm", "sub/nested/.git"});
  // Shallowest first: a mount never hides one made before it.
  for (std::size_t i = 1; i < plan.size(); ++i) {
    const auto depth = [](const std::string& p) { return std::count(p.begin(), p.end(), '/'); };
    CHECK(depth(plan[i - 1].relative) <= depth(plan[i].relative));
  }
}

TEST_CASE("the plan follows the spec: extra paths, explicitly unprotected names", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  write(dir.path() / "tools/release.sh", "#!/bin/sh\n");
  const ProtectionPolicy policy{.extra = {"tools/release.sh"}, .unprotected = {".envrc", ".git/hooks"}};
  const auto plan = plan_protection(scan_workspace(dir.path(), policy), policy);
  const auto ro = relatives(plan, true);
  CHECK(std::find(ro.begin(), ro.end(), "tools/release.sh") != ro.end());
  CHECK(std::find(ro.begin(), ro.end(), ".envrc") == ro.end());
  CHECK(std::find(ro.begin(), ro.end(), ".git/hooks") == ro.end());
  const auto at = relatives(plan, false);
  CHECK(std::find(at.begin(), at.end(), "tools") != at.end());
}

TEST_CASE("a writable mount is never placed below a read-only one", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  const ProtectionPolicy policy{.extra = {"sub"}};
  const auto plan = plan_protection(scan_workspace(dir.path(), policy), policy);
  for (const auto& p : plan) CHECK(p.relative.rfind("sub/", 0) != 0);
  CHECK(std::find(plan.begin(), plan.end(), GuardPath{"sub", true}) != plan.end());
}

TEST_CASE("a protected path that cannot be protected fails closed, naming it", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  fs::create_directory_symlink("/etc", dir.path() / ".vscode");
  CHECK_THAT(error_of([&] { plan_protection(scan_workspace(dir.path(), {}), {}); }, ErrorKind::isolation),
             Catch::Contains(".vscode is a symlink"));
  BottleSpec spec;
  spec.name = "api";
  spec.workspaces = {{dir.path().string(), "/workspace", false}};
  CHECK_THAT(error_of([&] { guard_mounts(spec); }, ErrorKind::isolation), Catch::Contains(".vscode"));
  // Read-only workspaces need no protection: nothing in them can change.
  spec.workspaces[0].read_only = true;
  CHECK(guard_mounts(spec).empty());
}

TEST_CASE("guard mounts sit at the workspace's host and guest paths", "[workspace]") {
  TempDir dir;
  write(dir.path() / ".git/HEAD", "ref: refs/heads/main\n");
  write(dir.path() / ".git/config", "[core]\n");
  fs::create_directories(dir.path() / ".git/objects");
  fs::create_directories(dir.path() / ".git/refs");
  BottleSpec spec;
  spec.name = "api";
  spec.workspaces = {{dir.path().string(), "/workspace", false}};
  const std::string host = dir.path().string();
  CHECK(guard_mounts(spec) == std::vector<GuardMount>{{host + "/.git", "/workspace/.git", false},
                                                      {host + "/.git/config", "/workspace/.git/config", true}});
}

TEST_CASE("a bare repository in the workspace is a git directory too", "[workspace]") {
  TempDir dir;
  write(dir.path() / "x.git/HEAD", "ref: refs/heads/main\n");
  write(dir.path() / "x.git/config", "[core]\n");
  fs::create_directories(dir.path() / "x.git/objects");
  fs::create_directories(dir.path() / "x.git/refs");
  const auto plan = plan_protection(scan_workspace(dir.path(), {}), {});
  CHECK(plan == std::vector<GuardPath>{{"x.git", false}, {"x.git/config", true}});
}

TEST_CASE("the guest script binds each path over itself, read-only ones remounted", "[workspace]") {
  CHECK(guest_protection_script({{"/h/.git", "/workspace/.git", false},
                                 {"/h/.git/config", "/workspace/.git/config", true},
                                 {"/h/it's", "/workspace/it's", true}}) ==
        "set -eu\n"
        "at() { if [ -L \"$1\" ] || [ ! -e \"$1\" ]; then echo \"bottle: cannot protect $1\" >&2; exit 6; fi\n"
        "  mount --bind \"$1\" \"$1\"; }\n"
        "ro() { at \"$1\"; mount -o remount,bind,ro \"$1\"; }\n"
        "at /workspace/.git\n"
        "ro /workspace/.git/config\n"
        "ro '/workspace/it'\\''s'\n");
}

TEST_CASE("spec: protected paths are relative, narrowing needs the unsafe field", "[workspace][spec]") {
  const auto spec_with = [](const std::string& fields) {
    return parse_spec(R"({"name": "api", "workspaces": ["/src"], )" + fields + "}");
  };
  CHECK(spec_with(R"("protected_paths": ["tools/x.sh"])").protected_paths == std::vector<std::string>{"tools/x.sh"});
  CHECK(spec_with(R"("unsafe_unprotected_paths": [".vscode", ".git/hooks"])").unsafe_unprotected_paths ==
        std::vector<std::string>{".vscode", ".git/hooks"});
  CHECK_THAT(error_of([&] { spec_with(R"("protected_paths": ["!.vscode"])"); }),
             Catch::Contains("$.protected_paths[0]") && Catch::Contains("unsafe_unprotected_paths"));
  for (const char* bad : {"/abs", "a/../b", "a//b", "./a", "a/", "", "a:b"})
    CHECK_THAT(error_of([&] { spec_with(std::string(R"("protected_paths": [")") + bad + "\"]"); }),
               Catch::Contains("$.protected_paths[0]"));
  CHECK_THAT(error_of([&] { spec_with(R"("unsafe_unprotected_paths": ["src"])"); }),
             Catch::Contains("$.unsafe_unprotected_paths[0]: must be a name from the default protected list"));
  const BottleSpec round = spec_with(R"("protected_paths": ["a"], "unsafe_unprotected_paths": [".idea"])");
  CHECK(parse_spec(spec_to_json(round)) == round);
}

TEST_CASE("the manifest reports what was created, modified, replaced or removed", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  BottleSpec spec;
  spec.name = "api";
  spec.workspaces = {{dir.path().string(), "/workspace", false}};
  const WorkspaceManifest before = take_manifest(spec);
  CHECK(compare_manifests(before, take_manifest(spec)).empty());
  CHECK(manifest_from_json(manifest_to_json(before)) == before);

  write(dir.path() / ".git/commondir", "../evil\n");             // redirects git's config
  write(dir.path() / "newdir/.git/config", "[core]\n");          // a new nested repository
  write(dir.path() / ".claude/settings.json", "{\"hooks\":1}");  // changed while detached
  fs::remove(dir.path() / ".envrc");
  fs::create_directory(dir.path() / ".envrc");
  write(dir.path() / "src/main.c", "changed\n");  // ordinary work: not reported
  CHECK(compare_manifests(before, take_manifest(spec)) ==
        std::vector<WorkspaceChange>{{".claude/settings.json", "modified"},
                                     {".envrc", "replaced"},
                                     {".git/commondir", "created"},
                                     {"newdir/.git", "created"},
                                     {"newdir/.git/config", "created"}});
  CHECK(format_change({".git/commondir", "created"}) == "workspace: .git/commondir: created");
  CHECK(format_change({"a\nb", "created"}) == "workspace: a\\x0ab: created");
}

TEST_CASE("mount points are read from mountinfo, escapes decoded", "[workspace]") {
  const std::string mountinfo =
      "36 35 98:0 / /workspace rw,relatime - ext4 /dev/vda rw\n"
      "37 36 98:0 /src/.git/config /workspace/.git/config ro,relatime - ext4 /dev/vda rw\n"
      "38 36 98:0 /src/my\\040dir /workspace/my\\040dir rw - ext4 /dev/vda rw\n";
  CHECK(mount_points(mountinfo) == std::set<std::string>{"/workspace", "/workspace/.git/config", "/workspace/my dir"});
}

TEST_CASE("the sentinel quarantines a repository the moment it appears, and leaves the rest", "[workspace]") {
  TempDir dir;
  make_repo(dir.path());
  std::vector<SentinelEvent> events;
  std::mutex lock;
  const std::string root = dir.path().string();
  WorkspaceSentinel sentinel({dir.path()}, {root + "/.git", root + "/sm/.git", root + "/sub/nested/.git"},
                             [&](const SentinelEvent& e) {
                               std::lock_guard guard(lock);
                               events.push_back(e);
                             });
  write(dir.path() / "early/.git", "gitdir: ../elsewhere\n");  // there before arm(): found by the walk
  CHECK(sentinel.arm() == 0);
  std::atomic<bool> stop{false};
  std::thread loop([&] {
    sentinel.run(
        stop, [] { return true; }, 20);
  });
  const auto wait_for = [&](std::size_t count) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard guard(lock);
        if (events.size() >= count) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  CHECK(wait_for(1));
  // git init in a new subdirectory; a bare-layout directory moved in; a .git file.
  write(dir.path() / "new/deeper/.git/HEAD", "ref: refs/heads/main\n");
  // The bare layout is made outside the workspace: made inside, the sentinel may
  // quarantine it before the rename, and the rename would throw.
  TempDir staging;
  fs::create_directories(staging.path() / "t/objects");
  fs::create_directories(staging.path() / "t/refs");
  write(staging.path() / "t/HEAD", "ref: refs/heads/main\n");
  fs::rename(staging.path() / "t", dir.path() / "bare");
  write(dir.path() / "src/.git", "gitdir: ../evil\n");
  write(dir.path() / "src/ordinary.c", "int x;\n");
  CHECK(wait_for(4));
  stop = true;
  loop.join();
  std::vector<std::string> paths;
  for (const auto& e : events) {
    paths.push_back(e.path);
    CHECK(e.quarantined.rfind(e.path + ".quarantined-by-bottle-", 0) == 0);
    CHECK_FALSE(fs::exists(dir.path() / e.path));
  }
  std::sort(paths.begin(), paths.end());
  CHECK(paths == std::vector<std::string>{"bare", "early/.git", "new/deeper/.git", "src/.git"});
  // What existed at start, and ordinary files, are untouched.
  CHECK(fs::exists(dir.path() / ".git/config"));
  CHECK(fs::exists(dir.path() / "sub/nested/.git/config"));
  CHECK(fs::exists(dir.path() / "src/ordinary.c"));
  // The events file round-trips.
  const fs::path file = dir.path() / "events.jsonl";
  for (const auto& e : events) append_sentinel_event(file, e);
  CHECK(read_sentinel_events(file) == events);
}
