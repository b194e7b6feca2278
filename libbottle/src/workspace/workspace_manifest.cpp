#include "bottle/workspace/workspace_manifest.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <system_error>

#include "bottle/core/error.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// A directory below a protected one is walked at most this far: `.idea/` or
// `.claude/` are small, and a workspace must not make every stop slow.
constexpr std::size_t max_entries_per_directory = 20000;

// SHA-256 of a file's content: a change cannot be crafted to keep the fingerprint.
std::string sha256_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "unreadable";
  const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::internal, "cannot initialise SHA-256");
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0)
    EVP_DigestUpdate(context.get(), buffer, static_cast<std::size_t>(in.gcount()));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string fingerprint(const fs::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return {};
  const unsigned mode = info.st_mode & 07777U;
  if (S_ISDIR(info.st_mode)) return fmt::format("dir {:o}", mode);
  if (S_ISREG(info.st_mode)) return fmt::format("file {} {:o}", sha256_of_file(path), mode);
  if (S_ISLNK(info.st_mode)) {
    std::error_code ec;
    return "symlink " + fs::read_symlink(path, ec).string();
  }
  return "other";
}

std::string kind_word(const std::string& fingerprint) { return fingerprint.substr(0, fingerprint.find(' ')); }

}  // namespace

WorkspaceFingerprints fingerprint_workspace(const fs::path& root, const WorkspaceScan& scan) {
  WorkspaceFingerprints prints;
  const std::set<std::string> git_dirs(scan.git_dirs.begin(), scan.git_dirs.end());
  for (const auto& [relative, kind] : scan.entries) {
    if (kind == EntryKind::missing) continue;
    const fs::path path = root / relative;
    prints[relative] = fingerprint(path);
    // A git directory is fingerprinted by its protected names (they are entries of
    // their own), never by its objects and refs, which ordinary work changes.
    if (kind != EntryKind::directory || git_dirs.count(relative) != 0) continue;
    // A linked worktree's admin directory also holds its HEAD, index and logs,
    // which host git changes: only what redirects git is fingerprinted there.
    const bool worktrees = path.filename() == "worktrees";
    std::error_code ec;
    std::size_t seen = 0;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator() && seen < max_entries_per_directory;
         it.increment(ec), ++seen) {
      const std::string name = it->path().filename().string();
      if (worktrees && it.depth() >= 1 && name != "config.worktree" && name != "commondir" && name != "gitdir") {
        it.disable_recursion_pending();
        continue;
      }
      prints[it->path().lexically_relative(root).generic_string()] = fingerprint(it->path());
    }
  }
  return prints;
}

WorkspaceManifest take_manifest(const BottleSpec& spec) {
  const ProtectionPolicy policy = protection_policy(spec);
  WorkspaceManifest manifest;
  for (const auto& workspace : spec.workspaces) {
    if (workspace.read_only) continue;
    manifest.workspaces[workspace.host] = fingerprint_workspace(workspace.host, scan_workspace(workspace.host, policy));
  }
  return manifest;
}

std::vector<WorkspaceChange> compare_manifests(const WorkspaceManifest& before, const WorkspaceManifest& after) {
  std::set<std::string> hosts;
  for (const auto& [host, prints] : before.workspaces) hosts.insert(host);
  for (const auto& [host, prints] : after.workspaces) hosts.insert(host);
  const bool several = hosts.size() > 1;
  static const WorkspaceFingerprints none;
  std::vector<WorkspaceChange> changes;
  for (const auto& host : hosts) {
    const auto old_it = before.workspaces.find(host);
    const auto new_it = after.workspaces.find(host);
    const WorkspaceFingerprints& old_prints = old_it == before.workspaces.end() ? none : old_it->second;
    const WorkspaceFingerprints& new_prints = new_it == after.workspaces.end() ? none : new_it->second;
    std::set<std::string> paths;
    for (const auto& [path, print] : old_prints) paths.insert(path);
    for (const auto& [path, print] : new_prints) paths.insert(path);
    for (const auto& path : paths) {
      const auto o = old_prints.find(path);
      const auto n = new_prints.find(path);
      std::string change;
      if (o == old_prints.end()) change = "created";
      else if (n == new_prints.end()) change = "removed";
      else if (o->second == n->second) continue;
      else change = kind_word(o->second) == kind_word(n->second) ? "modified" : "replaced";
      changes.push_back({several ? host + "/" + path : path, change});
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const WorkspaceChange& a, const WorkspaceChange& b) { return a.path < b.path; });
  return changes;
}

std::string format_change(const WorkspaceChange& change) {
  return fmt::format("workspace: {}: {}", detail::printable(change.path, 512), change.change);
}

std::string manifest_to_json(const WorkspaceManifest& manifest) {
  json::object workspaces;
  for (const auto& [host, prints] : manifest.workspaces) {
    json::object entries;
    for (const auto& [path, print] : prints) entries[path] = print;
    workspaces[host] = std::move(entries);
  }
  return detail::pretty_json(json::object{{"version", 1}, {"workspaces", std::move(workspaces)}});
}

WorkspaceManifest manifest_from_json(std::string_view text) {
  WorkspaceManifest manifest;
  try {
    const json::value root = detail::parse_json_text(text, "workspace manifest");
    const detail::JsonField top(root, "$", "workspace manifest");
    top.only_keys({"version", "workspaces"});
    top.with("workspaces", [&](const detail::JsonField& w) {
      w.each_member([&](const std::string& host, const detail::JsonField& entries) {
        auto& prints = manifest.workspaces[host];
        entries.each_member(
            [&](const std::string& path, const detail::JsonField& print) { prints[path] = print.string(); });
      });
    });
  } catch (const Error& e) { throw Error(ErrorKind::io, e.what()); }
  return manifest;
}

}  // namespace bottle
