#include "bottle/workspace/object_cache.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>
#include <algorithm>
#include <filesystem>

#include "bottle/core/error.hpp"
#include "core/json_reader.hpp"

namespace bottle {

bool uses_object_cache(const BottleSpec& spec) { return spec.repo && spec.backend == BackendKind::docker; }

std::string object_cache_id(std::string_view repo_path) {
  std::string path = std::filesystem::path(repo_path).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(path.data(), path.size(), digest, &length, EVP_sha256(), nullptr) != 1 || length < 8)
    throw Error(ErrorKind::internal, "SHA-256 failed");
  std::string id;
  for (unsigned int i = 0; i < 8; ++i) id += fmt::format("{:02x}", digest[i]);
  return id;
}

std::string object_cache_volume_name(std::string_view repo_path) {
  return "bottle-objects-" + object_cache_id(repo_path);
}

Argv host_tips_argv() { return host_git_argv({"rev-parse", "--branches", "--tags", "HEAD"}); }

Argv host_bundle_since_argv(const std::string& file, const std::vector<std::string>& known) {
  Argv argv = host_bundle_create_argv(file);
  if (known.empty()) return argv;
  argv.emplace_back("--not");
  argv.insert(argv.end(), known.begin(), known.end());
  return argv;
}

std::vector<std::string> parse_tips(std::string_view output) {
  std::vector<std::string> tips;
  while (!output.empty()) {
    const auto nl = output.find('\n');
    const std::string_view line = output.substr(0, nl);
    output = nl == std::string_view::npos ? std::string_view{} : output.substr(nl + 1);
    if (line.empty()) continue;
    if (!is_commit_id(line))
      throw Error(ErrorKind::backend,
                  fmt::format("object cache tips: '{}' is not an object id", detail::printable(line)));
    tips.emplace_back(line);
  }
  std::sort(tips.begin(), tips.end());
  tips.erase(std::unique(tips.begin(), tips.end()), tips.end());
  return tips;
}

bool tips_known(const std::vector<std::string>& tips, const std::vector<std::string>& known) {
  return std::includes(known.begin(), known.end(), tips.begin(), tips.end());
}

std::string object_cache_fill_script() {
  // Hooks off and no automatic gc: nothing but the fetch writes the cache, and no
  // object a clone borrows is ever pruned. HEAD is fetched only when the bundle has
  // it (a bundle since the last fill leaves out refs that did not move).
  return "set -eu\n"
         "r=/bottle-objects/repo.git\n"
         "t=\n"
         "b=$(mktemp /tmp/bottle-objects.XXXXXX)\n"
         "trap 'rm -f \"$b\"; [ -z \"$t\" ] || rm -rf \"$t\"' EXIT\n"
         "cat > \"$b\"\n"
         "g() { git -c core.hooksPath=/dev/null -c gc.auto=0 -c maintenance.auto=false -c "
         "transfer.fsckObjects=true \"$@\"; }\n"
         "d=$r\n"
         "if [ ! -d \"$r\" ]; then\n"
         "  t=$r.new\n"
         "  rm -rf \"$t\"\n"
         "  g init -q --bare --template= \"$t\"\n"
         "  d=$t\n"
         "fi\n"
         "f() { g --git-dir=\"$d\" fetch -q --no-tags --no-write-fetch-head --no-auto-maintenance \"$b\" \"$@\"; }\n"
         "f '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'\n"
         "if g bundle list-heads \"$b\" HEAD | grep -q ' HEAD$'; then f '+HEAD:refs/bottle/HEAD'; fi\n"
         "g --git-dir=\"$d\" cat-file -e \"$1^{commit}\"\n"
         "chmod -R a+rX \"$d\"\n"
         "if [ -n \"$t\" ]; then mv \"$t\" \"$r\"; t=; fi\n";
}

std::string guest_clone_shared_script() {
  // The cache belongs to root: git refuses a repository of another user unless
  // safe.directory names it, which only system or global config may do; this
  // global config is the clone's alone. --shared writes objects/info/alternates
  // and copies no object. The cache's unborn HEAD leaves a branch section behind.
  return "set -eu\n"
         "c=$(mktemp /tmp/bottle-clone.XXXXXX)\n"
         "trap 'rm -f \"$c\"' EXIT\n"
         "printf '[safe]\\n\\tdirectory = /bottle-objects/repo.git\\n' > \"$c\"\n"
         "GIT_CONFIG_GLOBAL=$c git clone -q --template= --no-checkout --shared -o host /bottle-objects/repo.git "
         "/workspace\n"
         "cd /workspace\n"
         "git config --remove-section remote.host\n"
         "h=$(git symbolic-ref --short HEAD 2>/dev/null || true)\n"
         "[ -z \"$h\" ] || git config --remove-section \"branch.$h\" 2>/dev/null || true\n" +
         guest_clone_finish_script();
}

}  // namespace bottle
