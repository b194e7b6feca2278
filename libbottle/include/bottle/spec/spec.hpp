#pragma once
// A bottle spec: everything a user says about one bottle. Parsed from JSON (comments
// and trailing commas allowed), validated strictly, and stored by SpecStore.
//
//   {
//     "name": "api-work",                 // [a-z0-9][a-z0-9_-]*, <= 48 chars, no "--"
//     "backend": "docker",                // "docker" | "smolmachines" | "kubernetes" | "podman"
//     "kubernetes": {"context": "prod", "namespace": "agents"},  // backend kubernetes only
//     "agent": "codex",                   // "claude" | "codex"
//     "image": "bottle-agent:latest",
//     "user": "node",
//     "workspaces": [{"host": "/src/api", "guest": "/workspace", "read_only": false}],
//     "env": {"FOO": "bar"},
//     "egress": {"enabled": true, "routes": [
//        {"name": "gh", "hosts": ["api.github.com"], "header": "Authorization",
//         "dummy": "bottle-dummy-gh", "value_file": "/home/me/.config/gh/token"}],
//        "port": 0},                    // smolmachines: host port of egress (0: pick)
//     "allowlist": ["github.com"],
//     "forward_host_credentials": true,
//     "prompt_file": "/src/api/PROMPT.md",
//     "resources": {"cpus": 2, "memory_mib": 4096},
//     "protected_paths": ["tools/release.sh"],    // more read-only paths (workspace_guard.hpp)
//     "unsafe_unprotected_paths": [".vscode"],    // fewer: names from the default list only
//     "repo": {"path": "/src/api", "branch": "bottle/api-work", "base": "<commit>"}  // clone mode
//   }
//
// Every error names the JSON path of the offending field and says what is wrong,
// e.g. "spec: $.workspaces[0].host: must be an absolute path"; the Error carries
// the two apart (Error::field(), Error::problem()).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

enum class BackendKind { docker, smolmachines, kubernetes, podman };
enum class AgentKind { claude, codex };

std::string_view to_string(BackendKind kind);
std::string_view to_string(AgentKind kind);
/// Throw Error(invalid_input) naming `field` when the text is not a known value.
BackendKind parse_backend_kind(std::string_view text, std::string_view field);
AgentKind parse_agent_kind(std::string_view text, std::string_view field);

struct Mount {
  std::string host;   ///< absolute host directory
  std::string guest;  ///< absolute path inside the bottle
  bool read_only = false;
  bool operator==(const Mount&) const = default;
};

/// One egress credential route: on requests to `hosts`, the exact string `dummy`
/// inside header `header` is replaced by the current real value read from
/// `value_file` (optionally at `value_json_pointer` inside it). A dummy seen on any
/// other host is blocked.
struct EgressRoute {
  std::string name;
  std::vector<std::string> hosts;
  std::string header = "Authorization";
  std::string dummy;
  std::string value_file;
  std::string value_json_pointer;  ///< empty: the whole file, trimmed
  bool operator==(const EgressRoute&) const = default;
};

struct EgressSpec {
  bool enabled = true;
  std::vector<EgressRoute> routes;
  /// The host loopback port of the bottle's egress proxy on backends where egress
  /// runs on the host (smolmachines). 0: bottle picks a free one at create and saves
  /// it, so the bottle keeps its proxy address across restarts.
  int port = 0;
  /// The bottle's own internal network on engines where bottle must know its
  /// address (Podman, whose CNI networks have no name service): an IPv4 CIDR with a
  /// prefix of 16 to 28. Egress is its .2, the agent its .3. Empty: the engine picks
  /// a free one at create and bottle saves it.
  std::string subnet;
  bool operator==(const EgressSpec&) const = default;
};

/// The memory a bottle gets when its spec names none: an agent that runs away
/// (a build, a test loop) must not take the host down with it.
inline constexpr int default_memory_mib = 4096;

struct Resources {
  int cpus = 0;        ///< 0: the backend's default
  int memory_mib = 0;  ///< 0: default_memory_mib
  bool operator==(const Resources&) const = default;
};

/// Clone mode (workspace/clone_repo.hpp): the bottle works in its own git clone of
/// the host repository at `path`, on `branch`, starting from `base`. Empty branch:
/// "bottle/NAME"; empty base: the host repo's HEAD. Bottles::create fills both in
/// (base as a commit id) before it stores the spec.
struct RepoSpec {
  std::string path;    ///< absolute host path of the repository's work tree top
  std::string branch;  ///< the agent's branch in the clone
  std::string base;    ///< a revision of the host repo; a commit id once created
  bool operator==(const RepoSpec&) const = default;
};

/// Where a kubernetes-backend bottle lives. Empty fields: kubectl's own choice (the
/// kubeconfig's current context, and that context's namespace).
struct KubernetesTarget {
  std::string context;         ///< $.kubernetes.context: 1-253 printable ASCII, no space, not starting with '-'
  std::string namespace_name;  ///< $.kubernetes.namespace: a DNS-1123 label
  /// $.kubernetes.agent_sandbox: the agent is a kubernetes-sigs agent-sandbox Sandbox
  /// (its controller makes the pod) instead of a bare Pod. Needs the CRDs installed.
  bool agent_sandbox = false;
  bool operator==(const KubernetesTarget&) const = default;
};

inline constexpr std::string_view default_image = "bottle-agent:latest";
inline constexpr std::string_view default_guest_workspace = "/workspace";

struct BottleSpec {
  std::string name;
  BackendKind backend = BackendKind::docker;
  AgentKind agent = AgentKind::claude;
  std::string image{default_image};
  std::string user = "node";
  std::vector<Mount> workspaces;
  std::map<std::string, std::string> env;
  EgressSpec egress;
  std::vector<std::string> allowlist;
  bool forward_host_credentials = false;
  std::string prompt_file;  ///< host path; empty: none
  Resources resources;
  /// Paths relative to each writable workspace that the bottle may not change, on
  /// top of the default list (default_protected_names()).
  std::vector<std::string> protected_paths;
  /// Names of the default list left writable. Narrowing the protection is only
  /// possible here, under a name that says what it is.
  std::vector<std::string> unsafe_unprotected_paths;
  /// Clone mode; nullopt: the workspaces are plain mounts.
  std::optional<RepoSpec> repo;
  /// Backend kubernetes only: the kubectl context and namespace.
  KubernetesTarget kubernetes;

  /// The directory the agent starts in: the first workspace's guest path, else the
  /// clone (clone mode), else the user's home.
  std::string guest_workdir() const;
  bool operator==(const BottleSpec&) const = default;
};

/// Parse and validate spec JSON. Throws Error(invalid_input) with the JSON path.
BottleSpec parse_spec(std::string_view json_text);
/// Canonical pretty JSON; parse_spec(spec_to_json(s)) == s.
std::string spec_to_json(const BottleSpec& spec);
/// Validate a spec built in code (e.g. after CLI overrides). Throws like parse_spec.
void validate_spec(const BottleSpec& spec);

/// Bottle names are safe as Docker container/network names, smolvm machine names,
/// argv words and YAML scalars: 1-48 of [a-z0-9_-], starting and ending with [a-z0-9],
/// no "--". What is wrong with `name`; nullopt when it is a bottle name.
std::optional<std::string> bottle_name_problem(std::string_view name);
/// Throw Error(invalid_input) naming `field` when bottle_name_problem(name) finds one.
void validate_bottle_name(std::string_view name, std::string_view field = "name");
/// A DNS hostname (letters, digits, '-', '.'; labels 1-63; total <= 253), lowercased
/// by the caller. `allow_wildcard` permits one leading "*.".
void validate_hostname(std::string_view host, std::string_view field, bool allow_wildcard = false);
/// A kubectl context name: 1-253 of printable ASCII without spaces, not starting with '-'.
void validate_kube_context(std::string_view context, std::string_view field);
/// A Kubernetes namespace: a DNS-1123 label (1-63 of [a-z0-9-], not starting or ending with '-').
void validate_kube_namespace(std::string_view name, std::string_view field);
/// An environment variable name: [A-Za-z_][A-Za-z0-9_]*.
void validate_env_name(std::string_view key, std::string_view field);
/// An environment variable value: at most 4096 bytes of UTF-8 without NUL.
void validate_env_value(std::string_view value, std::string_view field);
/// An image reference: 1-255 of letters, digits and . _ - / : @, not starting with '-'.
void validate_image(std::string_view image, std::string_view field);
/// A user name: 1-32 of [a-z0-9_-], not starting with '-'.
void validate_user(std::string_view user, std::string_view field);

/// What is wrong with `path` as a host or guest path bottle passes to an engine
/// (docker -v, smolvm -v, a mount of egress): it must be absolute, valid UTF-8, at
/// most 4096 bytes, and free of ':' and ',' (mount separators), control
/// characters and ".." components. nullopt when it is fine.
std::optional<std::string> path_problem(std::string_view path);
/// Throw Error(invalid_input) naming `field` when path_problem(path) finds one.
void validate_path(std::string_view path, std::string_view field);
/// A protected path: relative to the workspace, no empty, '.' or '..' components,
/// and otherwise what path_problem() accepts.
void validate_protected_path(std::string_view path, std::string_view field);
/// A name of the default protected list (workspace_guard.hpp), or ".git/NAME" for a
/// protected name inside git directories.
void validate_unprotected_name(std::string_view name, std::string_view field);

}  // namespace bottle
