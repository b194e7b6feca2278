#include "bottle/credentials/jwt.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

#include "bottle/core/error.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

// Real ChatGPT tokens are 1-3 KB; a cap keeps a garbage file from being decoded
// and parsed at length.
constexpr std::size_t max_token_length = std::size_t{64} * 1024;

[[noreturn]] void fail(std::string_view what, std::string_view problem) {
  throw Error(ErrorKind::invalid_input, fmt::format("{}: {}", what, problem));
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a floating-point number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "an unknown value";
}

json::object decode_object(std::string_view segment, std::string_view what, std::string_view name) {
  const std::string where = fmt::format("{}: {}", what, name);
  const std::string text = base64url_decode(segment, where);
  // Strict JSON (no comments, no trailing commas): a token is machine-made, and a
  // lenient parse here would accept payloads Codex's serde_json rejects.
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  // The parser's message describes the syntax error, not the input, so it is safe.
  if (ec) fail(where, fmt::format("not valid JSON ({})", ec.message()));
  if (!value.is_object()) fail(where, fmt::format("must be a JSON object, not {}", kind_name(value)));
  return std::move(value.get_object());
}

}  // namespace

JwtSegments split_jwt(std::string_view token, std::string_view what) {
  if (token.empty()) fail(what, "is empty (expected a JWT: 3 base64url segments joined by '.')");
  if (token.size() > max_token_length)
    fail(what, fmt::format("is too long for a JWT ({} bytes, at most {})", token.size(), max_token_length));
  std::size_t segments = 1;
  for (char c : token) segments += c == '.' ? 1 : 0;
  if (segments != 3) fail(what, fmt::format("expected 3 segments, got {}", segments));

  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  JwtSegments parts{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
  if (parts.header.empty()) fail(what, "segment 1 (header) is empty");
  if (parts.payload.empty()) fail(what, "segment 2 (payload) is empty");
  if (parts.signature.empty()) fail(what, "segment 3 (signature) is empty");
  return parts;
}

DecodedJwt decode_jwt(std::string_view token, std::string_view what) {
  const JwtSegments parts = split_jwt(token, what);
  DecodedJwt decoded;
  decoded.header = decode_object(parts.header, what, "header");
  decoded.payload = decode_object(parts.payload, what, "payload");
  // The signature is never checked, but garbage there means the string is not the
  // token it claims to be (a truncated copy, a pasted log line).
  (void)base64url_decode(parts.signature, fmt::format("{}: signature", what));
  return decoded;
}

std::int64_t jwt_exp(const json::object& payload, std::string_view what) {
  const std::string where = fmt::format("{}: exp", what);
  const auto it = payload.find("exp");
  if (it == payload.end()) fail(where, "missing (the token has no expiry)");
  const json::value& v = it->value();
  if (v.is_uint64()) fail(where, fmt::format("out of range (at most {})", max_jwt_exp));
  if (!v.is_int64()) fail(where, fmt::format("must be an integer number of seconds, not {}", kind_name(v)));
  const std::int64_t exp = v.get_int64();
  if (exp < 0 || exp > max_jwt_exp)
    fail(where, fmt::format("out of range (seconds since the epoch, 0 to {}; milliseconds?)", max_jwt_exp));
  return exp;
}

bool is_dummy_jwt_payload(const json::object& payload) {
  const auto it = payload.find(dummy_claim);
  return it != payload.end() && it->value().is_bool() && it->value().get_bool();
}

std::string mint_dummy_jwt(const json::object& real_payload, const RandomSource& random) {
  json::object payload = real_payload;
  payload[dummy_claim] = true;
  // 128 random bits make every dummy a distinct exact string, which is what egress
  // matches on; a real jti is replaced so the dummy never repeats a real identifier.
  payload["jti"] = "bottle-" + random_hex(16, random);
  return fmt::format("{}.{}.{}", base64url_encode(dummy_jwt_header), base64url_encode(json::serialize(payload)),
                     dummy_jwt_signature);
}

}  // namespace bottle
