// Workspace protection on smolmachines: virtiofs volumes are directories only, so
// bottle binds the protected paths inside the guest, as guest root, at every start.
// The fake smolvm gives each running machine its own mount namespace, as a VM has,
// and runs guest commands on this host: the agent user and the workspace owner are
// both `nobody` here, as `node` and the user are both uid 1000 on a laptop.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli_harness.hpp"

namespace {

namespace fs = std::filesystem;

constexpr int nobody = 65534;

void chown_tree(const fs::path& root) {
  ::lchown(root.c_str(), nobody, nobody);
  for (const auto& entry : fs::recursive_directory_iterator(root)) ::lchown(entry.path().c_str(), nobody, nobody);
}

// Host git as the workspace owner, never as root, with an empty environment.
bottle::ProcessResult as_owner(const fs::path& home, const fs::path& cwd, const std::string& script) {
  bottle::SystemRunner runner;
  return runner.run({.argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i",
                              "HOME=" + home.string(), "PATH=/usr/bin:/bin", "sh", "-c", script},
                     .cwd = cwd.string()});
}

}  // namespace

TEST_CASE("smolmachines: workspace protection holds in the guest", "[smolmachines][integration][workspace]") {
  IntegrationHome home;
  home.use_fake_smolvm("1.0.2");
  const std::string name = unique_bottle_name("it-smol-ws");
  // Directories nobody can enter: the test's home is 0700.
  const fs::path base = fs::temp_directory_path() / ("bottle-smol-ws-" + std::to_string(::getpid()));
  fs::remove_all(base);
  const fs::path ws = base / "ws", owner_home = base / "home", markers = base / "markers";
  for (const auto& dir : {ws, owner_home, markers}) fs::create_directories(dir);
  struct Cleanup {
    IntegrationHome& home;
    std::string name;
    fs::path base;
    ~Cleanup() {
      home.cli({"rm", "-f", name});
      std::error_code ec;
      fs::remove_all(base, ec);
    }
  } cleanup{home, name, base};
  ::chmod(base.c_str(), 0755);
  ::chmod(markers.c_str(), 0777);
  std::ofstream(owner_home / ".gitconfig") << "[user]\n\tname = Host\n\temail = host@example.invalid\n";
  chown_tree(base);
  REQUIRE(as_owner(owner_home, ws, "git init -q -b main && echo one > f && git add f && git commit -qm one").ok());

  auto r = home.cli({"create", "--backend", "smolmachines", "--name", name, "--user", "nobody", "--no-egress",
                     "--workspace", ws.string() + ":" + ws.string()});
  INFO(r.err);
  REQUIRE(r.ok());

  // As the agent: every plant into a protected path is refused.
  const std::string m = markers.string();
  const std::string plants =
      "git config core.fsmonitor 'touch " + m +
      "/fsmonitor; echo' && echo PLANTED fsmonitor; "
      "printf '#!/bin/sh\\ntouch " +
      m +
      "/hook\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout "
      "&& echo PLANTED hook; "
      "mkdir -p evil && cp -r .git/objects .git/refs evil/ && printf '[core]\\n\\tfsmonitor = touch " +
      m +
      "/commondir\\n' > evil/config && echo ../evil > .git/commondir && echo PLANTED commondir; "
      "mv .git .git-old && echo PLANTED rename; "
      "echo '{\"hooks\":{}}' > .claude/settings.json && echo PLANTED claude; "
      "mkdir -p newdir && cd newdir && git init -q; true";
  r = home.cli({"exec", name, "--", "sh", "-c", plants});
  INFO(r.out << r.err);
  CHECK_THAT(r.out, !Catch::Contains("PLANTED"));
  CHECK_THAT(r.err, Catch::Contains("Read-only file system"));
  CHECK_THAT(r.err, Catch::Contains("Device or resource busy"));

  // Ordinary work goes on in the guest.
  r = home.cli({"exec", name, "--", "sh", "-c",
                "HOME=" + owner_home.string() +
                    " git checkout -qb agent && echo two >> f && "
                    "HOME=" +
                    owner_home.string() + " git commit -qam 'agent work' && echo COMMITTED"});
  INFO(r.err);
  CHECK_THAT(r.out, Catch::Contains("COMMITTED"));

  // The host sees the agent's commit, and host git runs nothing it planted.
  r = as_owner(owner_home, ws, "git status --short >/dev/null; git log --oneline agent; git checkout -q main");
  INFO(r.err);
  CHECK_THAT(r.out, Catch::Contains("agent work"));
  CHECK(fs::is_empty(markers));

  // Detection: what mounts could not prevent is quarantined and reported. Whether
  // the nested `git init` itself failed depends on when the sentinel's rename
  // landed; either way its .git is gone from where host git would look.
  CHECK_FALSE(fs::exists(ws / "newdir" / ".git"));
  r = home.cli({"check", name, "--workspace"});
  CHECK(r.code == 6);
  CHECK_THAT(r.out, Catch::Contains("workspace: newdir/.git: new repository, quarantined as newdir/.git" +
                                    std::string(".quarantined-by-bottle-")));
  CHECK_THAT(r.out, !Catch::Contains("not protected"));
  r = home.cli({"stop", name});
  CHECK(r.ok());
  CHECK_THAT(r.err, Catch::Contains("bottle-cli: warning: workspace: newdir/.git: new repository, quarantined"));
  // The host keeps full control of its repository once the guest is gone.
  CHECK(as_owner(owner_home, ws, "echo '#' >> .git/config").ok());
}
