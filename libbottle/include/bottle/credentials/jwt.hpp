#pragma once
// Just enough JWT for credential forwarding: split a token, decode its header and
// payload, read `exp`, and mint a dummy that carries a real token's claims.
//
// Nothing here verifies signatures: Codex never does for ChatGPT tokens, and a
// dummy's signature is a placeholder that fails upstream if it ever leaks.
//
// Every function takes `what`, the name of the token for messages
// ("auth.json: tokens.access_token"). Messages name the segment and the problem,
// never the token or any claim value ("...: expected 3 segments, got 2").

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "bottle/core/base64url.hpp"

namespace bottle {

/// The three dot-separated segments of a compact JWT, still base64url-encoded.
struct JwtSegments {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
};

/// Split on '.'. Throws Error(invalid_input) unless there are exactly 3 segments
/// ("expected 3 segments, got 4") and none is empty ("segment 3 (signature) is
/// empty"). The views point into `token`.
JwtSegments split_jwt(std::string_view token, std::string_view what);

struct DecodedJwt {
  boost::json::object header;
  boost::json::object payload;
};

/// Split, then base64url-decode (unpadded, strict) and parse the header and the
/// payload, each of which must be a JSON object. The signature must be non-empty
/// base64url but is otherwise ignored. Throws Error(invalid_input) naming the
/// segment: "...: payload: not valid JSON", "...: payload: must be a JSON object".
DecodedJwt decode_jwt(std::string_view token, std::string_view what);

/// Largest accepted `exp`: 9999-12-31T23:59:59Z. A millisecond timestamp is
/// larger than this, so that common mistake is caught instead of silently read.
inline constexpr std::int64_t max_jwt_exp = 253402300799;

/// The payload's `exp` in seconds since the epoch. Throws Error(invalid_input)
/// ("...: exp: missing", "...: exp: must be an integer number of seconds, not a
/// string/fractional number", "...: exp: out of range") unless it is a JSON integer
/// in [0, max_jwt_exp]. Codex reads `exp` as an i64 and ignores a float or string.
std::int64_t jwt_exp(const boost::json::object& payload, std::string_view what);

/// The marker claim every dummy carries ("bottle_dummy": true).
inline constexpr std::string_view dummy_claim = "bottle_dummy";
/// The header every dummy carries. Codex never reads it; "alg":"none" is avoided
/// because libraries reject "none" with a signature.
inline constexpr std::string_view dummy_jwt_header = R"({"alg":"RS256","typ":"JWT","kid":"bottle-dummy"})";
/// The placeholder signature: base64url("bottle-dummy-signature"). Non-empty, since
/// Codex rejects empty segments, and recognisable in any log.
inline constexpr std::string_view dummy_jwt_signature = "Ym90dGxlLWR1bW15LXNpZ25hdHVyZQ";

/// True when `payload` has the dummy marker claim set to true.
bool is_dummy_jwt_payload(const boost::json::object& payload);

/// A dummy JWT: header dummy_jwt_header; payload = every claim of `real_payload`
/// unchanged (exp, iat, the "https://api.openai.com/auth" block, ...), plus
/// "bottle_dummy": true and "jti": "bottle-<128-bit random hex>" (replacing any real
/// jti), serialised compactly; signature dummy_jwt_signature. Two calls never
/// return the same token (the jti is fresh randomness from `random`).
std::string mint_dummy_jwt(const boost::json::object& real_payload, const RandomSource& random = system_random_bytes);

}  // namespace bottle
