#include "bottle/ops/object_cache.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <atomic>
#include <chrono>
#include <cstring>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/error.hpp"
#include "bottle/ops/clone_ops.hpp"

#include "core/file_lock.hpp"

namespace bottle {

namespace {

namespace fs = std::filesystem;

// Filling the cache with a large repository takes a while; a hung git must still end.
constexpr std::chrono::milliseconds fill_timeout = std::chrono::minutes(10);

std::string last_lines(const ProcessResult& r) {
  std::string text = r.err.empty() ? r.out : r.err;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (!r.started()) text = r.start_error;
  return text.size() > 400 ? "..." + text.substr(text.size() - 400) : text;
}

// A bundle file in STATE/objects (0700), removed however the fill ends.
class BundleFile {
 public:
  BundleFile(const fs::path& dir, const std::string& id) {
    static std::atomic<unsigned> counter{0};
    path_ = dir / fmt::format("{}-{}-{}.bundle", id, ::getpid(), counter++);
  }
  ~BundleFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  BundleFile(const BundleFile&) = delete;
  BundleFile& operator=(const BundleFile&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// One fill: a bundle of what is not reachable from `known`, fetched into the cache.
// Returns "" when it worked, else what failed.
std::string fill_once(Runner& runner, const DockerCommands& docker, const BottleSpec& spec, const std::string& volume,
                      const std::string& git_dir, const fs::path& dir, const std::string& id,
                      const std::vector<std::string>& known) {
  std::string bundle;
  {
    const BundleFile file(dir, id);
    const ProcessResult made = runner.run(Command{.argv = host_bundle_since_argv(file.path().string(), known),
                                                  .env = host_git_env(git_dir),
                                                  .timeout = fill_timeout,
                                                  .env_policy = EnvPolicy::clean});
    if (!made.ok()) return fmt::format("git bundle create in {} failed: {}", spec.repo->path, last_lines(made));
    bundle = read_file(file.path(), std::size_t{1} << 36);
  }
  const ProcessResult filled = runner.run(Command{
      .argv = docker.object_cache_fill_argv(spec, volume), .stdin_data = std::move(bundle), .timeout = fill_timeout});
  if (!filled.ok()) return fmt::format("the fill container failed (does the image have git?): {}", last_lines(filled));
  return "";
}

ProcessResult run_in_bottle(Runner& runner, Backend& backend, const BottleSpec& spec, const std::string& user,
                            const std::string& script, const Argv& args) {
  Argv command{"sh", "-c", script, "sh"};
  command.insert(command.end(), args.begin(), args.end());
  return runner.run(
      backend.engine_command(backend.commands().exec_argv(spec, command, ExecOptions{.user = user, .workdir = "/"})));
}

}  // namespace

void fill_object_cache(Runner& runner, Backend& backend, const BottleSpec& spec, const StateDirs& dirs) {
  if (!uses_object_cache(spec)) return;
  const auto* docker = dynamic_cast<const DockerCommands*>(&backend.commands());
  if (docker == nullptr) throw Error(ErrorKind::internal, "the object cache needs the docker backend");
  const RepoSpec& repo = *spec.repo;
  const std::string id = object_cache_id(repo.path);
  const std::string volume = object_cache_volume_name(repo.path);
  const fs::path dir = dirs.state / "objects";
  const FileLock lock(dir / (id + ".lock"));
  const fs::path tips_file = dir / (id + ".tips");
  const auto failed = [&](const std::string& what) {
    return Error(ErrorKind::backend,
                 fmt::format("clone: could not fill the object cache {} of {}, so the bottle was not created: {}",
                             volume, repo.path, what));
  };
  std::error_code ec;
  if (!runner.run(backend.engine_command(docker->object_cache_inspect_argv(volume), EngineCall::query)).ok()) {
    // A new (or removed) volume: what the tips file says it holds is gone.
    fs::remove(tips_file, ec);
    const ProcessResult made = runner.run(backend.engine_command(docker->object_cache_create_argv(volume, repo.path)));
    if (!made.ok()) throw failed("docker volume create failed: " + last_lines(made));
  }
  const std::string git_dir = host_git_dir(runner, repo.path);
  const ProcessResult listed = runner.run(Command{
      .argv = host_tips_argv(), .env = host_git_env(git_dir), .timeout = fill_timeout, .env_policy = EnvPolicy::clean});
  if (!listed.ok()) throw failed("git rev-parse of the branches failed: " + last_lines(listed));
  const std::vector<std::string> tips = parse_tips(listed.out);
  const std::vector<std::string> known =
      fs::exists(tips_file, ec) ? parse_tips(read_file(tips_file)) : std::vector<std::string>{};
  if (!known.empty() && tips_known(tips, known)) return;
  std::string problem = fill_once(runner, *docker, spec, volume, git_dir, dir, id, known);
  // What the cache was last filled with may be gone from the host, or the cache
  // replaced: everything, then.
  if (!problem.empty() && !known.empty()) problem = fill_once(runner, *docker, spec, volume, git_dir, dir, id, {});
  if (!problem.empty()) throw failed(problem);
  std::string text;
  for (const auto& tip : tips) text += tip + "\n";
  write_file_atomic(tips_file, text, 0600);
}

void clone_from_object_cache(Runner& runner, Backend& backend, const BottleSpec& spec) {
  const ProcessResult prepared =
      run_in_bottle(runner, backend, spec, "root", guest_clone_prepare_script(), {spec.user});
  if (!prepared.ok())
    throw Error(ErrorKind::backend, fmt::format("clone: could not prepare {} in bottle {}: {}", clone_guest_path,
                                                spec.name, last_lines(prepared)));
  const ProcessResult cloned = run_in_bottle(runner, backend, spec, spec.user, guest_clone_shared_script(),
                                             {spec.repo->branch, spec.repo->base, spec.name});
  if (!cloned.ok())
    throw Error(ErrorKind::backend, fmt::format("clone: cloning the object cache of {} in bottle {} failed: {}",
                                                spec.repo->path, spec.name, last_lines(cloned)));
}

}  // namespace bottle
