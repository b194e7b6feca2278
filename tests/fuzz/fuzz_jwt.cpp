// Fuzz the JWT and base64url decoders: split_jwt, decode_jwt, jwt_exp,
// base64url_decode. Only bottle::Error may escape them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/credentials/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  try {
    const std::string bytes = bottle::base64url_decode(input, "fuzz");
    // What decodes must re-encode to the same text (the decoder is canonical).
    if (bottle::base64url_encode(bytes) != input) __builtin_trap();
  } catch (const bottle::Error&) {}

  try {
    const bottle::JwtSegments segments = bottle::split_jwt(input, "fuzz");
    if (segments.header.empty() || segments.payload.empty() || segments.signature.empty()) __builtin_trap();
  } catch (const bottle::Error&) {}

  try {
    const bottle::DecodedJwt jwt = bottle::decode_jwt(input, "fuzz");
    try {
      const std::int64_t exp = bottle::jwt_exp(jwt.payload, "fuzz");
      if (exp < 0 || exp > bottle::max_jwt_exp) __builtin_trap();
    } catch (const bottle::Error&) {}
    (void)bottle::is_dummy_jwt_payload(jwt.payload);
  } catch (const bottle::Error&) {}
  return 0;
}
