#include "bottle/spec/spec_overrides.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "bottle/core/error.hpp"
#include "bottle/spec/prompt_file.hpp"
#include "bottle/workspace/clone_repo.hpp"
#include "core/ascii_text.hpp"

namespace bottle {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void usage_error(std::string_view flag, std::string_view problem) {
  throw Error(ErrorKind::usage, std::string(flag), std::string(problem));
}

const std::string& value_of(const std::vector<std::string>& args, std::size_t& i) {
  if (i + 1 >= args.size()) usage_error(args[i], "needs a value");
  return args[++i];
}

int int_value(const std::string& flag, const std::string& text, int min, int max) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min || n > max)
    usage_error(flag, fmt::format("must be a whole number from {} to {}", min, max));
  return n;
}

std::string absolute_from(const std::string& path, const std::string& cwd) {
  fs::path p(path);
  if (!p.is_absolute()) p = fs::path(cwd) / p;
  return p.lexically_normal().string();
}

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Rethrow a spec validation error under the flag's name, so the user sees what
// they typed ("--workspace: must not contain ','"), not a JSON path.
template <typename Fn>
void as_flag(std::string_view flag, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) { throw e.relabeled(std::string(flag), ErrorKind::invalid_input); }
}

// Paths are checked before anything echoes them back in a message.
void check_path(std::string_view flag, std::string_view part, const std::string& path) {
  if (const auto problem = path_problem(path))
    throw Error(ErrorKind::invalid_input, std::string(flag), fmt::format("{}{}", part, *problem));
}

// --repo PATH [--branch NAME] [--base REV]: clone mode. The repository itself is
// checked at create (it takes git); here only what the flags say.
void apply_repo_overrides(BottleSpec& s, const SpecOverrides& o, const std::string& cwd) {
  if (o.repo) {
    RepoSpec repo;
    repo.path = without_trailing_slash(absolute_from(*o.repo, cwd));
    check_path("--repo", "", repo.path);
    std::error_code ec;
    if (!fs::is_directory(repo.path, ec))
      throw Error(ErrorKind::invalid_input, "--repo", repo.path + ": not a directory");
    s.repo = std::move(repo);
  }
  if ((o.branch || o.base) && !s.repo) usage_error(o.branch ? "--branch" : "--base", "needs --repo (clone mode)");
  if (o.branch) {
    as_flag("--branch", [&] { validate_branch_name(*o.branch, "--branch"); });
    s.repo->branch = *o.branch;
  }
  if (o.base) {
    as_flag("--base", [&] { validate_revision(*o.base, "--base"); });
    s.repo->base = *o.base;
  }
}

}  // namespace

bool SpecOverrides::consume(const std::vector<std::string>& args, std::size_t& i) {
  const std::string& flag = args[i];
  if (flag == "--spec") spec_file = value_of(args, i);
  else if (flag == "--name") name = value_of(args, i);
  else if (flag == "--backend") backend = value_of(args, i);
  else if (flag == "--agent") agent = value_of(args, i);
  else if (flag == "--image") image = value_of(args, i);
  else if (flag == "--user") user = value_of(args, i);
  else if (flag == "--workspace" || flag == "-w") workspaces.push_back(value_of(args, i));
  else if (flag == "--env" || flag == "-e") env.push_back(value_of(args, i));
  else if (flag == "--allow") allow.push_back(value_of(args, i));
  else if (flag == "--forward-host-credentials") forward_host_credentials = true;
  else if (flag == "--no-forward-host-credentials") forward_host_credentials = false;
  else if (flag == "--no-egress") egress = false;
  else if (flag == "--prompt-file") prompt_file = value_of(args, i);
  else if (flag == "--cpus") cpus = int_value(flag, value_of(args, i), 1, 256);
  else if (flag == "--memory") memory_mib = int_value(flag, value_of(args, i), 64, 1 << 20);
  else if (flag == "--protect") protect.push_back(value_of(args, i));
  else if (flag == "--unsafe-unprotect") unsafe_unprotect.push_back(value_of(args, i));
  else if (flag == "--repo") repo = value_of(args, i);
  else if (flag == "--branch") branch = value_of(args, i);
  else if (flag == "--base") base = value_of(args, i);
  else if (flag == "--context") context = value_of(args, i);
  else if (flag == "--namespace") namespace_name = value_of(args, i);
  else if (flag == "--agent-sandbox") agent_sandbox = true;
  else return false;
  return true;
}

const char* spec_flags_help() {
  return "  --spec FILE                 start from a spec file (JSON, comments allowed)\n"
         "  --name NAME                 bottle name (default: <workspace dir>-<agent>)\n"
         "  --backend docker|smolmachines|kubernetes|podman\n"
         "  --agent claude|codex\n"
         "  --image IMAGE               (default: bottle-agent:latest)\n"
         "  --user USER                 agent user inside the bottle (default: node)\n"
         "  -w, --workspace HOST[:GUEST[:ro]]  mount a host directory (repeatable;\n"
         "                              GUEST defaults to /workspace)\n"
         "  -e, --env KEY=VALUE         guest environment (repeatable)\n"
         "  --allow HOST                add a host to the egress allowlist (repeatable)\n"
         "  --forward-host-credentials  log the agent in with the host's login (dummy tokens)\n"
         "  --no-forward-host-credentials\n"
         "  --no-egress                 no network at all\n"
         "  --prompt-file FILE          extra instructions for the agent\n"
         "  --cpus N, --memory MIB      resources (default memory: 4096 MiB)\n"
         "  --protect PATH              keep one more workspace path read-only (repeatable)\n"
         "  --unsafe-unprotect NAME     leave a default protected name writable (repeatable;\n"
         "                              weakens the workspace boundary, see SECURITY.md)\n"
         "  --repo PATH                 clone mode: the workspace is the bottle's own git clone\n"
         "                              of this host repository (in a volume, at /workspace)\n"
         "  --branch NAME               the agent's branch in the clone (default: bottle/NAME)\n"
         "  --base REV                  where that branch starts (default: the repo's HEAD)\n"
         "  --context C, --namespace N  kubernetes backend: kubectl context and namespace\n"
         "                              (default: the kubeconfig's current ones)\n"
         "  --agent-sandbox             kubernetes backend: the agent is an agent-sandbox\n"
         "                              Sandbox (agents.x-k8s.io CRDs) instead of a bare Pod\n";
}

BottleSpec apply_overrides(BottleSpec s, const SpecOverrides& o, const std::string& cwd) {
  // Each value is checked as it is applied, so errors name the flag the user typed;
  // validate_spec at the end checks the result as a whole.
  if (o.name) {
    // Checked before a default name could replace an empty one.
    as_flag("--name", [&] { validate_bottle_name(*o.name, "--name"); });
    s.name = *o.name;
  }
  if (o.backend) as_flag("--backend", [&] { s.backend = parse_backend_kind(*o.backend, "--backend"); });
  if (o.context) {
    as_flag("--context", [&] { validate_kube_context(*o.context, "--context"); });
    s.kubernetes.context = *o.context;
  }
  if (o.namespace_name) {
    as_flag("--namespace", [&] { validate_kube_namespace(*o.namespace_name, "--namespace"); });
    s.kubernetes.namespace_name = *o.namespace_name;
  }
  if (o.agent_sandbox) s.kubernetes.agent_sandbox = true;
  if (o.agent) as_flag("--agent", [&] { s.agent = parse_agent_kind(*o.agent, "--agent"); });
  if (o.image) {
    as_flag("--image", [&] { validate_image(*o.image, "--image"); });
    s.image = *o.image;
  }
  if (o.user) {
    as_flag("--user", [&] { validate_user(*o.user, "--user"); });
    s.user = *o.user;
  }
  for (const auto& text : o.workspaces) {
    // HOST[:GUEST[:ro]]; paths may not contain ':' (validated), so splitting is exact.
    Mount m;
    const auto parts = split_list(text, ':');
    if (parts.size() > 3 || parts[0].empty() || (parts.size() == 3 && parts[2] != "ro"))
      usage_error("--workspace", "must be HOST[:GUEST[:ro]]");
    m.host = without_trailing_slash(absolute_from(std::string(parts[0]), cwd));
    m.guest = std::string(parts.size() >= 2 && !parts[1].empty() ? parts[1] : default_guest_workspace);
    m.read_only = parts.size() == 3;
    check_path("--workspace", "HOST ", m.host);
    check_path("--workspace", "GUEST ", m.guest);
    std::error_code ec;
    if (!fs::is_directory(m.host, ec)) usage_error("--workspace", fmt::format("{}: not a directory", m.host));
    s.workspaces.push_back(m);
  }
  for (const auto& kv : o.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) usage_error("--env", "must be KEY=VALUE");
    const std::string key = kv.substr(0, eq);
    as_flag("--env", [&] { validate_env_name(key, "$.env"); });
    as_flag("--env", [&] { validate_env_value(kv.substr(eq + 1), "$.env"); });
    s.env[key] = kv.substr(eq + 1);
  }
  for (const auto& host : o.allow) {
    std::string lower = host;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    as_flag("--allow", [&] { validate_hostname(lower, "$.allowlist", true); });
    if (std::find(s.allowlist.begin(), s.allowlist.end(), lower) == s.allowlist.end()) s.allowlist.push_back(lower);
  }
  if (o.forward_host_credentials) s.forward_host_credentials = *o.forward_host_credentials;
  if (o.egress) s.egress.enabled = *o.egress;
  if (o.prompt_file) {
    s.prompt_file = absolute_from(*o.prompt_file, cwd);
    check_path("--prompt-file", "", s.prompt_file);
    // Read now as at every start (no link followed), so a file bottle would refuse
    // later is refused before anything is made.
    try {
      read_prompt_file(s.prompt_file, "--prompt-file");
    } catch (const Error& e) {
      throw e.relabeled("--prompt-file", e.kind() == ErrorKind::isolation ? ErrorKind::isolation : ErrorKind::usage);
    }
  }
  if (o.cpus) s.resources.cpus = *o.cpus;
  if (o.memory_mib) s.resources.memory_mib = *o.memory_mib;
  for (const auto& path : o.protect) {
    as_flag("--protect", [&] { validate_protected_path(path, "$.protected_paths"); });
    if (std::find(s.protected_paths.begin(), s.protected_paths.end(), path) == s.protected_paths.end())
      s.protected_paths.push_back(path);
  }
  for (const auto& name : o.unsafe_unprotect) {
    as_flag("--unsafe-unprotect", [&] { validate_unprotected_name(name, "$.unsafe_unprotected_paths"); });
    if (std::find(s.unsafe_unprotected_paths.begin(), s.unsafe_unprotected_paths.end(), name) ==
        s.unsafe_unprotected_paths.end())
      s.unsafe_unprotected_paths.push_back(name);
  }
  apply_repo_overrides(s, o, cwd);
  if (s.name.empty()) s.name = default_bottle_name(s);
  validate_spec(s);
  return s;
}

std::string default_bottle_name(const BottleSpec& spec) {
  std::string base = !spec.workspaces.empty() ? fs::path(spec.workspaces.front().host).filename().string()
                     : spec.repo              ? fs::path(spec.repo->path).filename().string()
                                              : "bottle";
  std::string name;
  for (char c : base) {
    const auto u = static_cast<unsigned char>(c);
    const char lower = static_cast<char>(std::tolower(u));
    const bool ok = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '_';
    if (ok) name += lower;
    else if (!name.empty() && name.back() != '-') name += '-';
  }
  while (!name.empty() && (name.back() == '-' || name.back() == '_')) name.pop_back();
  while (!name.empty() && (name.front() == '-' || name.front() == '_')) name.erase(0, 1);
  if (name.empty()) name = "bottle";
  const std::string suffix = "-" + std::string(to_string(spec.agent));
  if (name.size() + suffix.size() > 48) name.resize(48 - suffix.size());
  while (!name.empty() && (name.back() == '-' || name.back() == '_')) name.pop_back();
  return name + suffix;
}

}  // namespace bottle
