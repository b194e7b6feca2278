#pragma once
// Host credential forwarding, end to end: read the host's login files, build the
// bottle's dummy files and the egress routes (codex_credentials.hpp,
// claude_credentials.hpp), keep what was built in bottle's state so the dummies
// stay stable across starts, and install the files into a bottle.
//
//   ForwardedCredentials fc = prepare_forwarded_credentials(host, spec);  // at create
//   save_forwarded_state(dirs, spec.name, fc);
//   install_guest_files(backend, spec, fc.files);                   // after start
//   ...
//   auto again = load_forwarded_state(dirs, spec.name);             // later starts:
//   // again->routes are what egress must swap; the bottle's files already match.
//
// Nothing here ever holds a real token after it returns: the host files are read
// into memory, turned into dummies, and dropped. Errors name the file and field,
// never a value.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/core/base64url.hpp"
#include "bottle/core/state.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// A file bottle writes into a bottle. `content` holds dummies only.
struct GuestFile {
  std::string path;  ///< absolute guest path
  std::string content;
  std::string owner;  ///< "user:group"
  unsigned mode = 0600;
  bool operator==(const GuestFile&) const = default;
};

/// What forwarding prepared for one bottle.
struct ForwardedCredentials {
  std::vector<GuestFile> files;
  /// Routes egress adds for the agent: each swaps one exact dummy for the real value
  /// read at request time from a host file (EgressRoute::value_file).
  std::vector<EgressRoute> routes;
  /// Every dummy in `files` (leak checks, a broker's registry). Refresh-token
  /// dummies are listed here but in no route (§C3).
  std::vector<std::string> dummies;
  bool operator==(const ForwardedCredentials&) const = default;
};

/// Refreshes the host login file of `agent` in place (or throws to stop a create).
using RefreshHostLogin = std::function<void(AgentKind agent, const std::filesystem::path& host_file)>;

/// The guest home of `user`: "/root" for root, else "/home/<user>".
std::string guest_user_home(std::string_view user);

/// Everything a bottle gets when spec.forward_host_credentials is set; empty when
/// it is not.
///  codex (host file: codex_auth_path_from_environment(host)):
///    <home>/.codex/auth.json     0600 user:user  dummy login (build_codex_bottle_auth)
///    <home>/.codex/config.toml   0600 user:user  cli_auth_credentials_store = "file"
///        (a keyring store would ignore auth.json), forced_login_method matching the
///        host login, update check, analytics and metrics off, and the workdir
///        trusted (no trust prompt)
///  claude (host files: claude_credentials_path_from_environment(host) and, if it
///  exists, claude_global_config_path_from_environment(host) for oauthAccount):
///    <home>/.claude/.credentials.json  0600 user:user  dummy OAuth login
///    <home>/.claude.json               0600 user:user  onboarding done, workdir
///        trusted (build_claude_global_config)
/// When the host's access token (Codex ChatGPT mode: the access JWT's exp; Claude:
/// expiresAt) expires within host_refresh_window_s, `refresh_expiring` (if set) is
/// called with the agent and host file first; it refreshes that file in place (see
/// host_refresh.hpp) or throws to stop, and the file is read again before minting.
/// Throws Error(invalid_input) naming the host file when it is missing, unreadable
/// or malformed (and the field, from the parsers); nothing is returned or written
/// then. Throws Error(invalid_input) for a spec whose user is not a plain name.
ForwardedCredentials prepare_forwarded_credentials(const Host& host, const BottleSpec& spec,
                                                   const RandomSource& random = system_random_bytes,
                                                   const RefreshHostLogin& refresh_expiring = {});

/// <state>/bottles/NAME/credentials.json.
std::filesystem::path forwarded_state_path(const StateDirs& dirs, std::string_view name);

/// Store `fc` as JSON at forwarded_state_path(), atomically, mode 0600. The file
/// holds the guest files (dummies only), the routes (dummies and host file paths)
/// and the dummy list: never a real token, because `fc` never holds one.
void save_forwarded_state(const StateDirs& dirs, std::string_view name, const ForwardedCredentials& fc);

/// What save_forwarded_state() stored, or nullopt when nothing was. A file that
/// exists but cannot be parsed is Error(invalid_input) naming it (never silently
/// replaced: new dummies would no longer match the bottle's files).
std::optional<ForwardedCredentials> load_forwarded_state(const StateDirs& dirs, std::string_view name);

/// Write each file into the bottle with Backend::install_file (content on stdin,
/// never in an argv). A missing parent directory is first created, owned by the
/// file's owner with mode 0700, because both agents write more files next to their
/// credentials (Codex its sessions, Claude its tmp+rename rewrites). Existing
/// directories are left alone. Throws Error(backend) on the first failure.
void install_guest_files(Backend& backend, const BottleSpec& spec, const std::vector<GuestFile>& files);

}  // namespace bottle
