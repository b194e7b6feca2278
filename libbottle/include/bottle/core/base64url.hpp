#pragma once
// base64url (RFC 4648 §5) without padding, as JWTs and Codex use it, plus the
// random strings bottle mints dummy credentials from.
//
// Decoding is strict on purpose: Codex decodes JWT payloads with a no-padding
// engine that rejects '=' and non-canonical input, so anything this decoder accepts
// Codex accepts too. Error messages name a position and never echo the input (it is
// usually part of a secret token).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace bottle {

/// base64url of `bytes`: alphabet A-Z a-z 0-9 '-' '_', never any '=' padding.
std::string base64url_encode(std::string_view bytes);

/// Decode unpadded base64url. `what` prefixes errors ("auth.json: tokens.id_token:
/// payload"). Throws Error(invalid_input) when the text
///  - contains a character outside the alphabet ("invalid character '+' at
///    position 5"; letters and digits of the input are never shown),
///  - contains '=' padding,
///  - has an impossible length (4n+1 characters),
///  - is not canonical (unused low bits of the last character are not zero).
/// The empty string decodes to the empty string.
std::string base64url_decode(std::string_view text, std::string_view what);

/// A source of random bytes: called with n, returns exactly n bytes. Injectable so
/// tests can be deterministic; production code uses system_random_bytes.
using RandomSource = std::function<std::string(std::size_t)>;

/// n bytes from /dev/urandom (std::random_device if that cannot be read).
/// Throws Error(io) only if neither source works.
std::string system_random_bytes(std::size_t n);

/// base64url (no padding) of n bytes from `random`. Throws Error(internal) if the
/// source returns the wrong number of bytes.
std::string random_base64url(std::size_t n, const RandomSource& random = system_random_bytes);

/// Lowercase hex of n bytes from `random` (e.g. a 128-bit JWT id with n = 16).
std::string random_hex(std::size_t n, const RandomSource& random = system_random_bytes);

}  // namespace bottle
