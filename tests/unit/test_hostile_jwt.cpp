// Hostile input at the JWT entry point: tokens read from a host auth.json are split,
// base64url-decoded and parsed here before anything else looks at them. Every row
// must fail with Error(invalid_input) naming the segment and the problem, and the
// message must not echo the token.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/credentials/jwt.hpp"
#include "error_of.hpp"

namespace json = boost::json;
using namespace bottle;

namespace {

struct Row {
  std::string label;
  std::string input;
  std::string expected;  ///< a substring of the error message
};

std::string b64(std::string_view s) { return base64url_encode(s); }

const std::string header = b64(R"({"alg":"RS256","typ":"JWT"})");
const std::string signature = b64("hostile-test-signature-bytes");

std::string token_with_payload_text(std::string_view payload_json) {
  return header + "." + b64(payload_json) + "." + signature;
}

// The message is one line and never holds a long run of the token.
void check_message_is_safe(const std::string& message, const std::string& token) {
  INFO("message: " << message);
  CHECK(message.find('\n') == std::string::npos);
  for (std::size_t at = 0; at + 16 <= token.size(); at += 16) {
    const std::string piece = token.substr(at, 16);
    if (piece.find('.') == std::string::npos) CHECK(message.find(piece) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("hostile JWTs: segments, base64url and JSON are rejected by name", "[hostile][jwt]") {
  const std::string payload = b64(R"({"exp":1791234567,"sub":"user-hostile-case"})");
  const std::vector<Row> rows{
      {"empty", "", "is empty"},
      {"one segment", payload, "expected 3 segments, got 1"},
      {"two segments", header + "." + payload, "expected 3 segments, got 2"},
      {"four segments", header + "." + payload + "." + signature + "." + signature, "expected 3 segments, got 4"},
      {"only dots", "..", "segment 1 (header) is empty"},
      {"empty payload", header + ".." + signature, "segment 2 (payload) is empty"},
      {"empty signature", header + "." + payload + ".", "segment 3 (signature) is empty"},
      {"padded header", header + "==." + payload + "." + signature, "header: '=' padding"},
      {"padded payload", header + "." + payload + "=." + signature, "payload: '=' padding"},
      {"padded signature", header + "." + payload + "." + signature + "=", "signature: '=' padding"},
      {"standard base64 '+'", header + "." + payload + "+AA." + signature, "payload: invalid base64url character '+'"},
      {"standard base64 '/'", header + ".AA/A" + payload + "." + signature, "payload: invalid base64url character '/'"},
      {"space", header + "." + "ab cd" + "." + signature, "payload: invalid base64url character byte 0x20"},
      {"newline", header + "." + payload + "\n." + signature, "payload: invalid base64url character byte 0x0a"},
      {"NUL byte", header + "." + std::string("ab\0d", 4) + "." + signature, "byte 0x00"},
      {"non-ASCII", header + ".\xc3\xa9" + payload + "." + signature, "byte 0xc3"},
      {"shell metacharacters", header + ".$(id);" + "." + signature, "payload: invalid base64url character '$'"},
      {"4n+1 length", header + ".AAAAA." + signature, "impossible base64url length 5"},
      {"stray low bits", header + ".eyB." + signature, "payload: non-canonical base64url"},
      {"payload not JSON", header + "." + b64("not json") + "." + signature, "payload: not valid JSON"},
      {"payload truncated JSON", token_with_payload_text(R"({"exp":17912)"), "payload: not valid JSON"},
      {"payload not UTF-8", token_with_payload_text("{\"sub\":\"\xff\xfe\"}"), "payload: not valid JSON"},
      {"payload with a comment", token_with_payload_text(R"({"exp":1 /* c */})"), "payload: not valid JSON"},
      {"payload with a trailing comma", token_with_payload_text(R"({"exp":1,})"), "payload: not valid JSON"},
      {"payload too deep", token_with_payload_text(std::string(100, '[') + std::string(100, ']')),
       "payload: not valid JSON"},
      {"payload array", token_with_payload_text("[1,2]"), "payload: must be a JSON object, not an array"},
      {"payload string", token_with_payload_text(R"("exp")"), "payload: must be a JSON object, not a string"},
      {"payload number", token_with_payload_text("1791234567"), "payload: must be a JSON object, not an integer"},
      {"payload null", token_with_payload_text("null"), "payload: must be a JSON object, not null"},
      {"header array", b64("[]") + "." + payload + "." + signature, "header: must be a JSON object, not an array"},
      {"header not JSON", b64("RS256") + "." + payload + "." + signature, "header: not valid JSON"},
      {"bad signature", header + "." + payload + ".sig!", "signature: invalid base64url character '!'"},
      {"very long", header + "." + std::string(70000, 'A') + "." + signature, "is too long for a JWT"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { decode_jwt(row.input, "auth.json: tokens.access_token"); });
      CHECK_THAT(message, Catch::StartsWith("auth.json: tokens.access_token: ") && Catch::Contains(row.expected));
      check_message_is_safe(message, row.input);
    }
  }
}

TEST_CASE("hostile JWTs: exp of the wrong type or range is rejected", "[hostile][jwt]") {
  struct ExpRow {
    std::string label;
    std::string payload_json;
    std::string expected;
  };
  const std::vector<ExpRow> rows{
      {"missing", R"({"sub":"x"})", "exp: missing"},
      {"string", R"({"exp":"1791234567"})", "exp: must be an integer number of seconds, not a string"},
      {"float", R"({"exp":1791234567.5})", "not a floating-point number"},
      {"exponent form", R"({"exp":1.791234567e9})", "not a floating-point number"},
      {"beyond int64", R"({"exp":18446744073709551615})", "exp: out of range"},
      {"beyond uint64", R"({"exp":123456789012345678901234567890})", "not a floating-point number"},
      {"huge exponent", R"({"exp":1e400})", "not a floating-point number"},
      {"negative", R"({"exp":-1})", "exp: out of range"},
      {"int64 minimum", R"({"exp":-9223372036854775808})", "exp: out of range"},
      {"milliseconds", R"({"exp":1791234567000})", "exp: out of range"},
      {"year 10000", R"({"exp":253402300800})", "exp: out of range"},
      {"boolean", R"({"exp":true})", "not a boolean"},
      {"null", R"({"exp":null})", "not null"},
      {"array", R"({"exp":[1791234567]})", "not an array"},
      {"object", R"({"exp":{"s":1791234567}})", "not an object"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] {
        const DecodedJwt jwt = decode_jwt(token_with_payload_text(row.payload_json), "auth.json: tokens.access_token");
        jwt_exp(jwt.payload, "auth.json: tokens.access_token");
      });
      CHECK_THAT(message, Catch::StartsWith("auth.json: tokens.access_token: ") && Catch::Contains(row.expected));
      CHECK(message.find("1791234567") == std::string::npos);
    }
  }
  // The boundaries themselves are fine.
  CHECK(jwt_exp(json::parse(R"({"exp":0})").as_object(), "t") == 0);
  CHECK(jwt_exp(json::parse(R"({"exp":253402300799})").as_object(), "t") == max_jwt_exp);
}

TEST_CASE("hostile base64url: every decoder error names the position, not the text", "[hostile][jwt]") {
  const std::vector<Row> rows{
      {"padding", "QUJD=", "'=' padding at position 4"},
      {"double padding", "QQ==", "'=' padding at position 2"},
      {"plus", "QU+D", "invalid base64url character '+' (standard base64, not base64url) at position 2"},
      {"slash", "QU/D", "'/' (standard base64, not base64url) at position 2"},
      {"tab", "QU\tD", "byte 0x09 at position 2"},
      {"DEL",
       "QU\x7f"
       "D",
       "byte 0x7f at position 2"},
      {"high byte",
       "QU\xff"
       "D",
       "byte 0xff at position 2"},
      {"NUL", std::string("QU\0D", 4), "byte 0x00 at position 2"},
      {"quote", "QU\"D", "'\"' at position 2"},
      {"one character", "Q", "impossible base64url length 1"},
      {"five characters", "QUJDR", "impossible base64url length 5"},
      {"stray bits, 2 chars", "QR", "non-canonical base64url"},
      {"stray bits, 3 chars", "QUJ", "non-canonical base64url"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.label) {
      const std::string message = error_of([&] { base64url_decode(row.input, "seg"); });
      CHECK_THAT(message, Catch::StartsWith("seg: ") && Catch::Contains(row.expected));
      CHECK(message.find("QU") == std::string::npos);
    }
  }
}
