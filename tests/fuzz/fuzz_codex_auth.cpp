// Fuzz the host credential parsers: parse_codex_auth (Codex auth.json) and
// parse_claude_credentials (Claude .credentials.json). Only bottle::Error may
// escape them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bottle/core/error.hpp"
#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "bottle/credentials/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const bottle::CodexHostAuth auth = bottle::parse_codex_auth(input);
    if (auth.mode == bottle::CodexAuthMode::api_key) {
      if (auth.api_key.empty()) __builtin_trap();
    } else {
      if (auth.refresh_token.empty() || auth.account_id.empty()) __builtin_trap();
      if (auth.access_exp < 0 || auth.access_exp > bottle::max_jwt_exp) __builtin_trap();
    }
  } catch (const bottle::Error&) {}

  try {
    const bottle::ClaudeHostCredentials creds = bottle::parse_claude_credentials(input);
    if (creds.access_token.empty() || creds.refresh_token.empty()) __builtin_trap();
  } catch (const bottle::Error&) {}
  return 0;
}
