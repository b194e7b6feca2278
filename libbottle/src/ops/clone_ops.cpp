#include "bottle/ops/clone_ops.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "bottle/core/error.hpp"
#include "bottle/ops/object_cache.hpp"
#include "bottle/workspace/clone_vm.hpp"
#include "core/file_lock.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace {

namespace fs = std::filesystem;

// Bundles and clones of a large repository take a while; a hung git must still end.
constexpr std::chrono::milliseconds git_timeout = std::chrono::minutes(10);

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string last_lines(const ProcessResult& r) {
  std::string text = trimmed(r.err.empty() ? r.out : r.err);
  return text.size() > 400 ? "..." + text.substr(text.size() - 400) : text;
}

ProcessResult run_host_git(Runner& runner, const Argv& argv, std::map<std::string, std::string> env) {
  return runner.run(
      Command{.argv = argv, .env = std::move(env), .timeout = git_timeout, .env_policy = EnvPolicy::clean});
}

ProcessResult run_in_repo(Runner& runner, const std::string& git_dir, const Argv& argv) {
  return run_host_git(runner, argv, host_git_env(git_dir));
}

// A temporary file in the bottle's state directory (0700), removed however the
// operation ends.
class TempFile {
 public:
  TempFile(const StateDirs& dirs, const std::string& name, std::string_view stem) {
    static std::atomic<unsigned> counter{0};
    const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = dirs.bottle_state_dir(name) / fmt::format("{}-{}-{}-{}.bundle", stem, ::getpid(), ticks, counter++);
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A scratch repository next to a bundle, removed with everything in it.
class QuarantineDir {
 public:
  explicit QuarantineDir(const fs::path& bundle) : path_(bundle.string() + ".quarantine") {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ~QuarantineDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  QuarantineDir(const QuarantineDir&) = delete;
  QuarantineDir& operator=(const QuarantineDir&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

ProcessResult run_in_bottle(Runner& runner, Backend& backend, const BottleSpec& spec, const std::string& user,
                            const std::string& script, const Argv& args, std::optional<std::string> stdin_data = {}) {
  Argv command{"sh", "-c", script, "sh"};
  command.insert(command.end(), args.begin(), args.end());
  ExecOptions options{.forward_stdin = stdin_data.has_value(), .user = user, .workdir = "/"};
  Command run = backend.engine_command(backend.commands().exec_argv(spec, command, options));
  run.stdin_data = std::move(stdin_data);
  return runner.run(run);
}

void require_running(Backend& backend, const BottleSpec& spec, std::string_view what) {
  for (const auto& info : backend.list({spec}))
    if (info.name == spec.name && info.state == EngineState::running) return;
  throw Error(ErrorKind::conflict, fmt::format("{}: bottle \"{}\" is not running (start it first: bottle-cli start {})",
                                               what, spec.name, spec.name));
}

const RepoSpec& repo_of(const BottleSpec& spec, std::string_view what) {
  if (!spec.repo)
    throw Error(ErrorKind::conflict,
                fmt::format("{}: bottle \"{}\" is not in clone mode (create it with --repo)", what, spec.name));
  return *spec.repo;
}

}  // namespace

RepoSpec resolve_clone_repo(Runner& runner, const BottleSpec& spec,
                            const std::function<void(const std::string&)>& warn) {
  RepoSpec repo = *spec.repo;
  std::error_code ec;
  if (!fs::is_directory(repo.path, ec))
    throw Error(ErrorKind::invalid_input, "$.repo.path", fmt::format("{}: not a directory", repo.path), "spec");
  const ProcessResult probe = run_host_git(runner, host_repo_probe_argv(repo.path), host_git_probe_env(repo.path));
  if (!probe.started())
    throw Error(ErrorKind::backend, fmt::format("clone mode needs git on the host: {}", probe.start_error));
  if (!probe.ok()) {
    // Bare repositories are never opened implicitly (safe.bareRepository=explicit);
    // tell one by its layout.
    const fs::path p(repo.path);
    const bool bare_layout =
        fs::is_regular_file(p / "HEAD", ec) && fs::is_directory(p / "objects", ec) && fs::is_directory(p / "refs", ec);
    throw Error(ErrorKind::invalid_input, "$.repo.path",
                bare_layout ? fmt::format("{}: is a bare repository (clone mode needs a work tree)", repo.path)
                            : fmt::format("{}: not a git repository", repo.path),
                "spec");
  }
  const ProcessResult top = run_host_git(runner, host_toplevel_argv(repo.path), host_git_probe_env(repo.path));
  const std::string toplevel = trimmed(top.out);
  if (!top.ok() || fs::weakly_canonical(toplevel, ec) != fs::weakly_canonical(repo.path, ec))
    throw Error(ErrorKind::invalid_input, "$.repo.path",
                fmt::format("{}: not the top of a git work tree{}", repo.path,
                            toplevel.empty() ? "" : fmt::format(" (that is {})", detail::printable(toplevel, 200))),
                "spec");
  const std::string git_dir = host_git_dir(runner, repo.path);
  if (repo.branch.empty()) repo.branch = default_clone_branch(spec.name);
  const std::string rev = repo.base.empty() ? "HEAD" : repo.base;
  const ProcessResult resolved = run_in_repo(runner, git_dir, host_resolve_argv(rev));
  const std::string commit = trimmed(resolved.out);
  if (!resolved.ok() || !is_commit_id(commit))
    throw Error(ErrorKind::invalid_input, "$.repo.base",
                fmt::format("'{}' is not a commit in {}", detail::printable(rev), repo.path), "spec");
  repo.base = commit;
  Argv status = host_status_argv(repo.path);
  const ProcessResult dirty = run_in_repo(runner, git_dir, status);
  if (dirty.ok() && !trimmed(dirty.out).empty())
    warn(fmt::format("{} has uncommitted changes; they are not in the clone (it starts at {})", repo.path,
                     commit.substr(0, 12)));
  return repo;
}

std::string host_git_dir(Runner& runner, const std::string& path) {
  const ProcessResult probe = run_host_git(runner, host_repo_probe_argv(path), host_git_probe_env(path));
  const std::string out = trimmed(probe.out);
  const auto nl = out.find('\n');
  if (!probe.ok() || nl == std::string::npos || out.substr(0, nl) != "false")
    throw Error(ErrorKind::invalid_input, "$.repo.path", fmt::format("{}: not a git work tree", path), "spec");
  return out.substr(nl + 1);
}

void populate_clone(Runner& runner, Backend& backend, const BottleSpec& spec, const StateDirs& dirs) {
  if (!spec.repo) return;
  const fs::path marker = dirs.bottle_state_dir(spec.name) / "repo-cloned";
  if (fs::exists(marker)) return;
  if (uses_object_cache(spec)) {
    clone_from_object_cache(runner, backend, spec);
    write_file_atomic(marker, spec.repo->base + "\n", 0600);
    return;
  }
  const std::string git_dir = host_git_dir(runner, spec.repo->path);
  std::string bundle;
  {
    const TempFile file(dirs, spec.name, "clone");
    fs::create_directories(file.path().parent_path());
    const ProcessResult made = run_in_repo(runner, git_dir, host_bundle_create_argv(file.path().string()));
    if (!made.ok())
      throw Error(ErrorKind::backend,
                  fmt::format("clone: git bundle create in {} failed: {}", spec.repo->path, last_lines(made)));
    bundle = read_file(file.path(), std::size_t{1} << 36);
  }
  const ProcessResult prepared =
      run_in_bottle(runner, backend, spec, "root", clone_prepare_script(spec.backend), {spec.user});
  if (!prepared.ok())
    throw Error(ErrorKind::backend, fmt::format("clone: could not prepare {} in bottle {}: {}", clone_guest_path,
                                                spec.name, last_lines(prepared)));
  const ProcessResult cloned = run_in_bottle(runner, backend, spec, spec.user, guest_clone_script(),
                                             {spec.repo->branch, spec.repo->base, spec.name}, std::move(bundle));
  if (!cloned.ok())
    throw Error(ErrorKind::backend, fmt::format("clone: cloning {} in bottle {} failed (does the image have git?): {}",
                                                spec.repo->path, spec.name, last_lines(cloned)));
  write_file_atomic(marker, spec.repo->base + "\n", 0600);
}

CloneStatus read_clone_status(Runner& runner, Backend& backend, const BottleSpec& spec) {
  const ProcessResult r =
      run_in_bottle(runner, backend, spec, spec.user, guest_status_script(), {repo_of(spec, "status").base});
  if (!r.ok())
    throw Error(ErrorKind::backend, fmt::format("could not read the clone in bottle {}: {}", spec.name, last_lines(r)));
  return parse_clone_status(r.out);
}

std::map<std::string, std::string> fetched_refs(Runner& runner, const BottleSpec& spec) {
  const std::string git_dir = host_git_dir(runner, repo_of(spec, "fetch").path);
  const ProcessResult r = run_in_repo(runner, git_dir, host_fetched_refs_argv(spec.name));
  if (!r.ok()) throw Error(ErrorKind::backend, fmt::format("git for-each-ref failed: {}", last_lines(r)));
  return parse_fetched_refs(r.out, spec.name);
}

std::vector<std::pair<std::string, std::string>> import_bundle(Runner& runner, const std::string& git_dir,
                                                               const fs::path& bundle, std::string_view bottle_name) {
  const ProcessResult verified = run_in_repo(runner, git_dir, host_bundle_verify_argv(bundle.string()));
  if (!verified.ok())
    throw Error(ErrorKind::isolation,
                fmt::format("fetch: the bundle from bottle {} failed git bundle verify; nothing was fetched: {}",
                            bottle_name, last_lines(verified)));
  const ProcessResult heads = run_in_repo(runner, git_dir, host_bundle_heads_argv(bundle.string()));
  if (!heads.ok())
    throw Error(ErrorKind::isolation,
                fmt::format("fetch: could not list the bundle from bottle {}: {}", bottle_name, last_lines(heads)));
  auto listed = parse_bundle_heads(heads.out);
  // The pack is indexed and fsck'd in a scratch repository first: a corrupt one
  // fails there and leaves nothing (not even a tmp_pack file) in the user's repo.
  {
    const QuarantineDir quarantine(bundle);
    const ProcessResult made = run_host_git(runner, host_quarantine_init_argv(quarantine.path()), host_git_env(""));
    if (!made.ok())
      throw Error(ErrorKind::backend,
                  fmt::format("fetch: git init of a scratch repository failed: {}", last_lines(made)));
    write_file_atomic(fs::path(quarantine.path()) / "objects" / "info" / "alternates",
                      (fs::path(git_dir) / "objects").string() + "\n", 0600);
    const ProcessResult tried = run_in_repo(runner, quarantine.path(), host_fetch_argv(bundle.string(), bottle_name));
    if (!tried.ok())
      throw Error(ErrorKind::isolation,
                  fmt::format("fetch: the bundle from bottle {} is corrupt or malformed; nothing was fetched: {}",
                              bottle_name, last_lines(tried)));
  }
  const ProcessResult fetched = run_in_repo(runner, git_dir, host_fetch_argv(bundle.string(), bottle_name));
  if (!fetched.ok())
    throw Error(ErrorKind::isolation, fmt::format("fetch: git fetch from the bundle of bottle {} failed: {}",
                                                  bottle_name, last_lines(fetched)));
  return listed;
}

FetchReport fetch_clone(Runner& runner, Backend& backend, const BottleSpec& spec, const StateDirs& dirs,
                        const FetchOptions& options) {
  const RepoSpec& repo = repo_of(spec, "fetch");
  if (!options.into.empty()) validate_branch_name(options.into, "--into");
  // One fetch of a bottle at a time (the CLI and the dashboard's f may overlap): a
  // second WIP commit or a forced ref update racing the first would fail or lose one.
  const FileLock lock(dirs.bottle_state_dir(spec.name) / "fetch.lock");
  const std::string git_dir = host_git_dir(runner, repo.path);
  if (!options.into.empty() && run_in_repo(runner, git_dir, host_resolve_argv("refs/heads/" + options.into)).ok())
    throw Error(ErrorKind::conflict,
                fmt::format("fetch: --into: branch {} already exists in {}; pick a new name", options.into, repo.path));
  require_running(backend, spec, "fetch");
  FetchReport report;
  CloneStatus status = read_clone_status(runner, backend, spec);
  if (status.dirty > 0 && options.include_uncommitted) {
    const ProcessResult wip = run_in_bottle(runner, backend, spec, spec.user, guest_wip_script(), {});
    if (!wip.ok())
      throw Error(ErrorKind::backend,
                  fmt::format("fetch: the WIP commit in bottle {} failed: {}", spec.name, last_lines(wip)));
    report.wip_committed = true;
    status = read_clone_status(runner, backend, spec);
  }
  report.uncommitted = status.dirty;
  Argv refs;
  for (const auto& branch : status.branches)
    if (branch.ahead > 0) refs.push_back("refs/heads/" + branch.name);
  if (refs.empty()) {
    if (!options.into.empty())
      throw Error(ErrorKind::conflict,
                  fmt::format("fetch: --into: bottle {} has no commits ahead of its base to put there", spec.name));
    return report;
  }
  refs.push_back("^" + repo.base);
  const ProcessResult made =
      run_in_bottle(runner, backend, spec, spec.user, guest_bundle_script(), refs,
                    clone_bundle_streams(spec.backend) ? std::optional<std::string>("") : std::nullopt);
  if (!made.ok())
    throw Error(ErrorKind::backend,
                fmt::format("fetch: git bundle create in bottle {} failed: {}", spec.name, last_lines(made)));
  const TempFile file(dirs, spec.name, "fetch");
  write_file_atomic(file.path(), made.out, 0600);
  import_bundle(runner, git_dir, file.path(), spec.name);
  for (const auto& branch : status.branches)
    if (branch.ahead > 0) report.fetched.push_back(branch);
  if (!options.into.empty()) {
    const std::string start = fmt::format("{}{}/{}", fetched_ref_prefix, spec.name, repo.branch);
    const ProcessResult made_branch = run_in_repo(runner, git_dir, host_branch_argv(options.into, start));
    if (!made_branch.ok())
      throw Error(ErrorKind::conflict, fmt::format("fetch: --into: could not create branch {} at {}: {}", options.into,
                                                   start, last_lines(made_branch)));
  }
  return report;
}

std::string describe_fetch(const BottleSpec& spec, const FetchReport& report) {
  std::string text;
  if (report.wip_committed) text += "committed the uncommitted work in the bottle as a WIP commit\n";
  for (const auto& branch : report.fetched)
    text += fmt::format("fetched {} -> {}{}/{} ({} commit{} ahead of the base)\n", branch.name, fetched_ref_prefix,
                        spec.name, branch.name, branch.ahead, branch.ahead == 1 ? "" : "s");
  if (report.fetched.empty()) text += fmt::format("bottle {} has no commits ahead of its base\n", spec.name);
  return text;
}

std::string clone_diff(Runner& runner, const BottleSpec& spec) {
  const RepoSpec& repo = repo_of(spec, "diff");
  const auto fetched = fetched_refs(runner, spec);
  if (fetched.find(repo.branch) == fetched.end())
    throw Error(ErrorKind::not_found,
                fmt::format("diff: nothing fetched from bottle {} on branch {} yet", spec.name, repo.branch));
  const std::string git_dir = host_git_dir(runner, repo.path);
  const ProcessResult r = run_in_repo(
      runner, git_dir, host_diff_argv(repo.base, fmt::format("{}{}/{}", fetched_ref_prefix, spec.name, repo.branch)));
  if (!r.ok()) throw Error(ErrorKind::backend, fmt::format("diff: git diff failed: {}", last_lines(r)));
  return r.out;
}

std::string clone_unfetched_work(Runner& runner, Backend& backend, const BottleSpec& spec) {
  const CloneStatus status = read_clone_status(runner, backend, spec);
  return describe_unfetched_work(status, unfetched_branches(status, fetched_refs(runner, spec)));
}

}  // namespace bottle
