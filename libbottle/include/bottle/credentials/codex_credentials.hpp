#pragma once
// Codex credential forwarding: read the host's auth.json and build the bottle's,
// which holds only dummies, plus the egress routes that swap those dummies for the
// host's real values. Pure functions: no processes, no network; the caller reads
// and writes the files (state.hpp) and supplies randomness.
//
// Formats follow the Codex source as summarised in
// reference/codex-and-claude-auth.md §A1-A4, §A7 and §C1/§C3.
//
// Errors are Error(invalid_input) prefixed "auth.json: <field>: ..." and never
// contain a token, key or claim value.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "bottle/core/base64url.hpp"
#include "bottle/core/host.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// Where the host's Codex login lives: `codex_home`/auth.json when CODEX_HOME is
/// set and non-empty (it must then be absolute), else `home`/.codex/auth.json.
/// Throws Error(invalid_input) for a relative CODEX_HOME, or when neither is usable.
std::filesystem::path codex_auth_path(const std::optional<std::string>& codex_home,
                                      const std::optional<std::string>& home);
/// codex_auth_path() with the host's $CODEX_HOME and $HOME.
std::filesystem::path codex_auth_path_from_environment(const Host& host);

enum class CodexAuthMode { chatgpt, api_key };

/// The host's login, validated. Holds real secrets: never log or print it.
struct CodexHostAuth {
  CodexAuthMode mode = CodexAuthMode::chatgpt;
  // ChatGPT mode:
  std::string id_token;
  std::string access_token;
  std::string refresh_token;
  /// tokens.account_id, or the id_token's chatgpt_account_id when that is absent
  /// (Codex copies it the same way at login).
  std::string account_id;
  std::string last_refresh;           ///< RFC 3339, copied verbatim
  boost::json::object id_claims;      ///< decoded id_token payload
  boost::json::object access_claims;  ///< decoded access_token payload
  std::int64_t access_exp = 0;        ///< access token `exp`, seconds
  // API-key mode:
  std::string api_key;
};

/// Parse the host's auth.json. The mode is resolved as Codex does: auth_mode
/// "chatgpt" or "apikey" when present (others, such as "chatgptAuthTokens" or
/// "agentIdentity", cannot be forwarded and are rejected); when absent, a non-null
/// OPENAI_API_KEY means API-key mode, otherwise ChatGPT mode.
/// ChatGPT mode requires tokens.id_token and tokens.access_token (3-segment JWTs
/// whose payloads are objects; the access token must carry an integer `exp`),
/// a non-empty tokens.refresh_token, an account id (tokens.account_id or the
/// id_token's chatgpt_account_id), and last_refresh (without it Codex sends no
/// bearer at all). API-key mode requires a non-empty OPENAI_API_KEY.
/// Tokens that are themselves bottle dummies are rejected: forwarding them would
/// make egress swap a dummy for a dummy.
/// Throws Error(invalid_input) naming the field, e.g.
/// "auth.json: tokens.access_token: expected 3 segments, got 2".
CodexHostAuth parse_codex_auth(std::string_view auth_json_text);

/// What the bottle gets.
struct CodexBottleAuth {
  /// Text for the bottle's $CODEX_HOME/auth.json (write it 0600, in a writable
  /// directory: Codex rewrites it in place on refresh).
  std::string auth_json;
  /// Routes egress needs: each swaps one exact dummy for the current real value,
  /// read from the host auth.json at request time.
  std::vector<EgressRoute> routes;
  /// Every dummy string in auth_json (for leak checks and a broker's registry).
  /// The dummy refresh token is listed here but in no route: it must never be
  /// swapped for the real one (§C3: refresh is answered by a broker).
  std::vector<std::string> dummies;
};

/// Build the bottle's auth.json from the host login.
/// ChatGPT mode:
///   {"auth_mode":"chatgpt","OPENAI_API_KEY":null,
///    "tokens":{"id_token":<dummy>,"access_token":<dummy>,
///              "refresh_token":"bottle-dummy-refresh-<random>","account_id":<real>},
///    "last_refresh":<real>}
///   Both dummy JWTs are mint_dummy_jwt() of the real payloads, so they keep the
///   real `exp` (Codex refreshes when it lapses; a refresh with the placeholder
///   would fail and log the agent out) and the real "https://api.openai.com/auth"
///   block, whose chatgpt_account_id is set to account_id so the two never
///   disagree. Route "codex-chatgpt": Authorization on chatgpt.com and
///   chat.openai.com, real value at `host_auth_file` /tokens/access_token.
/// API-key mode:
///   {"auth_mode":"apikey","OPENAI_API_KEY":"sk-bottle-<random>"}; route
///   "codex-api-key": Authorization on api.openai.com, real value at /OPENAI_API_KEY.
/// `host_auth_file` is the absolute host path egress reads real values from.
CodexBottleAuth build_codex_bottle_auth(const CodexHostAuth& host, const std::string& host_auth_file,
                                        const RandomSource& random = system_random_bytes);

/// The API hosts Codex talks to with a credential, for pipelock's allowlist and
/// TLS passthrough: chatgpt.com and chat.openai.com (ChatGPT-mode backend) and
/// api.openai.com (API-key mode); egress injects the real bearer on all three.
/// Deliberately absent: auth.openai.com. Its token and revoke endpoints must be
/// answered by bottle itself (§C3); letting a placeholder refresh token reach the
/// real endpoint gets a permanent failure that logs the agent out, while a blocked
/// request is only a transient error to Codex. Sorted, no wildcards.
std::vector<std::string> codex_agent_hosts();

}  // namespace bottle
