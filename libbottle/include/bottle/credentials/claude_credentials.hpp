#pragma once
// Claude Code credential forwarding: read the host's OAuth login and build the
// bottle's dummy .credentials.json, the egress route that swaps the dummy access
// token for the real one, and the ~/.claude.json onboarding state that lets the TUI
// start without its setup screens. Pure functions: no processes, no network.
//
// Formats follow reference/codex-and-claude-auth.md §B1-B4 and §C2/§C3.
// Errors are Error(invalid_input) prefixed ".credentials.json: <field>: ..." (or
// ".claude.json: ...") and never contain a token.
//
// Only the file-based subscription login is forwarded. CLAUDE_CODE_OAUTH_TOKEN and
// ANTHROPIC_API_KEY live in the host environment, not a file egress can re-read,
// and the macOS Keychain is not a file at all.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/core/host.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// `claude_config_dir`/.credentials.json when CLAUDE_CONFIG_DIR is set and
/// non-empty (it must then be absolute), else `home`/.claude/.credentials.json.
/// Throws Error(invalid_input) for a relative directory or a missing HOME.
std::filesystem::path claude_credentials_path(const std::optional<std::string>& claude_config_dir,
                                              const std::optional<std::string>& home);
/// Claude's global config: `claude_config_dir`/.claude.json, else `home`/.claude.json.
std::filesystem::path claude_global_config_path(const std::optional<std::string>& claude_config_dir,
                                                const std::optional<std::string>& home);
/// The two above with the host's $CLAUDE_CONFIG_DIR and $HOME.
std::filesystem::path claude_credentials_path_from_environment(const Host& host);
std::filesystem::path claude_global_config_path_from_environment(const Host& host);

/// The host's claudeAiOauth entry, validated. Holds real secrets: never log it.
struct ClaudeHostCredentials {
  std::string access_token;
  std::string refresh_token;
  std::int64_t expires_at_ms = 0;  ///< expiresAt, ms since the epoch
  std::optional<std::int64_t> refresh_token_expires_at_ms;
  std::vector<std::string> scopes;               ///< contains "user:inference"
  std::optional<std::string> subscription_type;  ///< "pro", "max", ...
  std::optional<std::string> rate_limit_tier;
  std::optional<std::string> client_id;  ///< newer builds persist it
};

/// Parse the host's .credentials.json. Requires claudeAiOauth with a non-empty
/// accessToken and refreshToken, an integer expiresAt (milliseconds), and scopes
/// including "user:inference" (without it Claude forces /login). Other top-level
/// keys (MCP OAuth entries and the like) are ignored. Throws Error(invalid_input),
/// e.g. ".credentials.json: claudeAiOauth.expiresAt: must be an integer".
ClaudeHostCredentials parse_claude_credentials(std::string_view credentials_json_text);

/// Shape of the dummies: the real prefixes plus 95 random base64url characters,
/// about as long as real tokens (~108 characters).
inline constexpr std::string_view claude_access_token_prefix = "sk-ant-oat01-";
inline constexpr std::string_view claude_refresh_token_prefix = "sk-ant-ort01-";

struct ClaudeBottleCredentials {
  /// Text for the bottle's ~/.claude/.credentials.json (0600, writable directory):
  /// {"claudeAiOauth":{"accessToken":<dummy>,"refreshToken":<dummy>,
  ///   "expiresAt":<real>, "refreshTokenExpiresAt":<real, if any>,
  ///   "scopes":<real>, "subscriptionType"/"rateLimitTier"/"clientId":<real, if any>}}
  std::string credentials_json;
  /// The dummy access token alone, e.g. for CLAUDE_CODE_OAUTH_TOKEN (§C2 option A).
  std::string dummy_access_token;
  /// "claude-oauth": Authorization on api.anthropic.com, real value read at request
  /// time from `host_credentials_file` /claudeAiOauth/accessToken.
  std::vector<EgressRoute> routes;
  /// Every dummy in credentials_json. The refresh token is in no route: it goes
  /// only to the token endpoint, which bottle must answer itself (§C3).
  std::vector<std::string> dummies;
};

/// Build the bottle's credentials. `host_credentials_file` is the absolute host
/// path egress reads the real token from. The dummy keeps the real expiresAt, so
/// the bottle's Claude refreshes when the host's token would.
ClaudeBottleCredentials build_claude_bottle_credentials(const ClaudeHostCredentials& host,
                                                        const std::string& host_credentials_file,
                                                        const RandomSource& random = system_random_bytes);

struct ClaudeOnboarding {
  /// Absolute guest directory Claude starts in; its trust dialog is pre-accepted.
  /// Empty: no project entry.
  std::string project_dir;
  /// The bottle's Claude version ("2.1.332"), for lastOnboardingVersion. Empty:
  /// left as it is.
  std::string claude_version;
  /// The host's ~/.claude.json text ("" if none). Only its oauthAccount object
  /// (non-secret account metadata) is copied.
  std::string host_global_config;
};

/// The bottle's ~/.claude.json: `existing` (its current text, "" if none) with the
/// onboarding state merged in, never dropping existing keys: hasCompletedOnboarding
/// and bypassPermissionsModeAccepted true, theme "dark" unless set,
/// lastOnboardingVersion, oauthAccount from the host, and for project_dir
/// hasTrustDialogAccepted/hasCompletedProjectOnboarding true and
/// enableAllProjectMcpServers false unless set. Throws Error(invalid_input) when
/// either JSON text is not an object, or project_dir is not absolute.
std::string build_claude_global_config(std::string_view existing, const ClaudeOnboarding& onboarding);

/// The API hosts Claude Code sends the user's credential to, for pipelock's
/// allowlist and TLS passthrough: api.anthropic.com (egress injects the bearer).
/// Deliberately absent: platform.claude.com / console.anthropic.com, whose token
/// endpoint bottle must answer itself (an invalid_grant from the real one makes
/// Claude wipe its credentials), and mcp-proxy.anthropic.com (claude.ai
/// connectors; §C3 makes it optional, so the real token does not go there by
/// default).
std::vector<std::string> claude_agent_hosts();

}  // namespace bottle
