// How long protecting a large workspace takes: builds a tree of 1,000 directories of
// 100 files each (a node_modules of 100,000 files) with one nested repository, then
// times scan_workspace() and guard_mounts(), which start runs, over it. Figures only.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "bottle/spec/spec.hpp"
#include "bottle/workspace/workspace_guard.hpp"

namespace fs = std::filesystem;

namespace {

void make_tree(const fs::path& root) {
  for (const char* dir : {".git/objects", ".git/refs", "vendor/lib/.git/objects", "vendor/lib/.git/refs"})
    fs::create_directories(root / dir);
  std::ofstream(root / ".git/HEAD") << "ref: refs/heads/main\n";
  std::ofstream(root / "vendor/lib/.git/HEAD") << "ref: refs/heads/main\n";
  for (int d = 0; d < 1000; ++d) {
    const fs::path dir = root / "node_modules" / ("pkg" + std::to_string(d)) / "lib";
    fs::create_directories(dir);
    for (int f = 0; f < 100; ++f) std::ofstream(dir / ("f" + std::to_string(f) + ".js"));
  }
}

template <typename Fn>
void time_it(const char* label, int rounds, Fn&& fn) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s n=%d p50 %.1f max %.1f\n", label, rounds, ms[ms.size() / 2], ms.back());
}

}  // namespace

int main() {
  char pattern[] = "/tmp/bottle-scan-bench.XXXXXX";
  const char* made = ::mkdtemp(pattern);
  if (!made) return 1;
  const fs::path root(made);
  make_tree(root);
  bottle::BottleSpec spec;
  spec.name = "bench";
  spec.workspaces = {{root.string(), "/workspace", false}};
  const bottle::ProtectionPolicy policy = bottle::protection_policy(spec);
  std::size_t found = 0;
  time_it("scan_workspace (100,000 files, 2 repositories)", 9,
          [&] { found = bottle::scan_workspace(root, policy).git_dirs.size(); });
  time_it("guard_mounts (the protection plan start applies)", 9, [&] { found += bottle::guard_mounts(spec).size(); });
  std::printf("git directories and mounts found: %zu\n", found);
  fs::remove_all(root);
  return 0;
}
