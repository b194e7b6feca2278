// Unit tests for base64url and the JWT helpers used to mint dummy Codex tokens.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bottle/core/base64url.hpp"
#include "bottle/core/error.hpp"
#include "bottle/credentials/jwt.hpp"
#include "error_of.hpp"

namespace json = boost::json;
using namespace bottle;

namespace {

// Deterministic "randomness": each call starts with a fresh counter value, so two
// calls still differ.
RandomSource counter_random() {
  auto calls = std::make_shared<unsigned>(0);
  return [calls](std::size_t n) {
    const unsigned call = ++*calls;
    std::string out(n, '\x5a');
    for (std::size_t i = 0; i < n && i < 4; ++i) out[i] = static_cast<char>((call >> (8 * i)) & 0xffu);
    return out;
  };
}

std::string b64(std::string_view s) { return base64url_encode(s); }

// A token shaped like a real ChatGPT access token, with a recognisable signature.
const std::string real_signature = b64("real-rs256-signature-bytes-0123456789-not-a-dummy");

std::string make_token(const json::object& payload,
                       std::string_view header = R"({"alg":"RS256","typ":"JWT","kid":"real-key-1"})") {
  return b64(header) + "." + b64(json::serialize(payload)) + "." + real_signature;
}

json::object real_payload() {
  return json::object{
      {"iss", "https://auth.openai.com"},
      {"aud", json::array{"https://api.openai.com/v1"}},
      {"exp", 1791234567},
      {"iat", 1790370567},
      {"jti", "real-jti-7f3c"},
      {"https://api.openai.com/auth", json::object{{"chatgpt_account_id", "acc-1111-2222"},
                                                   {"chatgpt_plan_type", "pro"},
                                                   {"chatgpt_user_id", "user-abc"},
                                                   {"user_id", "user-abc"},
                                                   {"chatgpt_account_is_fedramp", false}}},
      {"https://api.openai.com/profile", json::object{{"email", "dev@example.com"}}},
  };
}

void check_secret_free(const std::string& message, const std::string& token) {
  INFO("message: " << message);
  CHECK(message.find(token) == std::string::npos);
  CHECK(message.find(real_signature) == std::string::npos);
  const auto first = token.find('.');
  if (first != std::string::npos && first > 8) CHECK(message.find(token.substr(0, first)) == std::string::npos);
}

}  // namespace

TEST_CASE("base64url encodes RFC 4648 vectors without padding", "[jwt][base64url]") {
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg");
  CHECK(b64("fo") == "Zm8");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg");
  CHECK(b64("fooba") == "Zm9vYmE");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(b64("\xfb\xff") == "-_8");  // standard base64 would be "+/8="
  CHECK(b64(R"({"alg":"RS256","typ":"JWT","kid":"bottle-dummy"})") ==
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJvdHRsZS1kdW1teSJ9");
  CHECK(b64("bottle-dummy-signature") == dummy_jwt_signature);
}

TEST_CASE("base64url round-trips every byte at every length, never padded", "[jwt][base64url]") {
  std::string bytes;
  for (int len = 0; len <= 300; ++len) {
    const std::string text = b64(bytes);
    INFO("length " << len);
    CHECK(text.find_first_of("=+/") == std::string::npos);
    CHECK(text.size() == (bytes.size() * 4 + 2) / 3);
    CHECK(base64url_decode(text, "t") == bytes);
    bytes += static_cast<char>((len * 37 + 11) & 0xff);
  }
}

TEST_CASE("base64url decode rejects garbage with a clear message", "[jwt][base64url]") {
  struct Case {
    std::string input;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"Zg==", "t: '=' padding at position 2"},
      {"Zm9vYg=", "t: '=' padding at position 6"},
      {"Zm9v+mFy", "t: invalid base64url character '+' (standard base64, not base64url) at position 4"},
      {"ab/c", "invalid base64url character '/' (standard base64, not base64url) at position 2"},
      {"Zm9 v", "invalid base64url character byte 0x20 at position 3"},
      {"Zm9v\n", "invalid base64url character byte 0x0a at position 4"},
      {"Zm.9", "invalid base64url character '.' at position 2"},
      {std::string("Zm\0v", 4), "byte 0x00 at position 2"},
      {"a", "t: impossible base64url length 1 (4n+1 characters)"},
      {"Zm9vY", "impossible base64url length 5"},
      {"Zh", "t: non-canonical base64url"},
      {"Zm9", "non-canonical base64url"},
  };
  for (const auto& c : cases) {
    INFO("input #" << &c - cases.data());
    CHECK_THAT(error_of([&] { base64url_decode(c.input, "t"); }), Catch::Contains(c.expected));
  }
}

TEST_CASE("random strings are unique, sized and validated", "[jwt][base64url]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string s = random_base64url(32);
    CHECK(s.size() == 43);
    CHECK(s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    seen.insert(s);
  }
  CHECK(seen.size() == 50);
  CHECK(random_hex(16).size() == 32);
  CHECK(random_hex(3, [](std::size_t n) { return std::string(n, '\xab'); }) == "ababab");
  CHECK(system_random_bytes(0).empty());
  CHECK(system_random_bytes(64).size() == 64);
  const RandomSource short_source = [](std::size_t n) { return std::string(n - 1, 'x'); };
  CHECK_THROWS_AS(random_base64url(8, short_source), Error);
}

TEST_CASE("split_jwt requires exactly three non-empty segments", "[jwt]") {
  const auto parts = split_jwt("aGVhZA.cGF5.c2ln", "token");
  CHECK(parts.header == "aGVhZA");
  CHECK(parts.payload == "cGF5");
  CHECK(parts.signature == "c2ln");

  struct Case {
    std::string token;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"", "token: is empty"},
      {"abc", "token: expected 3 segments, got 1"},
      {"abc.def", "token: expected 3 segments, got 2"},
      {"abc.def.ghi.jkl", "token: expected 3 segments, got 4"},
      {"a.b.c.d.e", "token: expected 3 segments, got 5"},
      {".def.ghi", "token: segment 1 (header) is empty"},
      {"abc..ghi", "token: segment 2 (payload) is empty"},
      {"abc.def.", "token: segment 3 (signature) is empty"},
      {std::string(70000, 'a'), "token: is too long for a JWT"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of([&] { split_jwt(c.token, "token"); });
    CHECK_THAT(message, Catch::StartsWith(c.expected));
    if (c.token.size() > 4) CHECK(message.find(c.token) == std::string::npos);
  }
}

TEST_CASE("decode_jwt reads header and payload objects", "[jwt]") {
  const std::string token = make_token(real_payload());
  const DecodedJwt jwt = decode_jwt(token, "token");
  CHECK(jwt.header.at("kid") == "real-key-1");
  CHECK(jwt.payload == real_payload());
  CHECK(jwt_exp(jwt.payload, "token") == 1791234567);
}

TEST_CASE("decode_jwt errors name the segment and never the token", "[jwt]") {
  const std::string header = b64(R"({"alg":"RS256"})");
  const std::string payload = b64(json::serialize(real_payload()));
  struct Case {
    std::string token;
    std::string expected;
  };
  const std::vector<Case> cases{
      {header + "." + payload, "tok: expected 3 segments, got 2"},
      {header + "." + payload + "." + real_signature + ".extra", "tok: expected 3 segments, got 4"},
      {header + "." + payload + "==." + real_signature, "tok: payload: '=' padding at position"},
      {header + "." + payload.substr(0, 10) + "+" + payload.substr(11) + "." + real_signature,
       "tok: payload: invalid base64url character '+' (standard base64, not base64url) at position 10"},
      {header + "." + payload.substr(0, 21) + "." + real_signature, "tok: payload: impossible base64url length"},
      {header + "." + b64("{\"exp\": 1,") + "." + real_signature, "tok: payload: not valid JSON"},
      {header + "." + b64("[1,2,3]") + "." + real_signature, "tok: payload: must be a JSON object, not an array"},
      {header + "." + b64("\"sub\"") + "." + real_signature, "tok: payload: must be a JSON object, not a string"},
      {header + "." + b64("{/*c*/\"a\":1}") + "." + real_signature, "tok: payload: not valid JSON"},
      {b64("not json") + "." + payload + "." + real_signature, "tok: header: not valid JSON"},
      {b64("null") + "." + payload + "." + real_signature, "tok: header: must be a JSON object, not null"},
      {header + "." + payload + ".sig+nature", "tok: signature: invalid base64url character '+'"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of([&] { decode_jwt(c.token, "tok"); });
    CHECK_THAT(message, Catch::StartsWith(c.expected));
    CHECK(message.find(payload.substr(0, 20)) == std::string::npos);
    check_secret_free(message, c.token);
  }
}

TEST_CASE("jwt_exp accepts only an integer number of seconds", "[jwt]") {
  auto exp_of = [](std::string_view payload_json) {
    return jwt_exp(json::parse(payload_json).as_object(), "auth.json: tokens.access_token");
  };
  CHECK(exp_of(R"({"exp": 1791234567})") == 1791234567);
  CHECK(exp_of(R"({"exp": 0})") == 0);
  CHECK(exp_of(R"({"exp": 253402300799})") == max_jwt_exp);

  struct Case {
    std::string payload;
    std::string expected;
  };
  const std::string prefix = "auth.json: tokens.access_token: exp: ";
  const std::vector<Case> cases{
      {R"({"iat": 1})", prefix + "missing"},
      {R"({"exp": "1791234567"})", prefix + "must be an integer number of seconds, not a string"},
      {R"({"exp": 1791234567.5})", prefix + "must be an integer number of seconds, not a floating-point number"},
      {R"({"exp": 1.79e9})", prefix + "must be an integer number of seconds, not a floating-point number"},
      {R"({"exp": 1e300})", prefix + "must be an integer number of seconds, not a floating-point number"},
      {R"({"exp": 99999999999999999999999})", prefix + "must be an integer number of seconds, not a floating"},
      {R"({"exp": 18446744073709551615})", prefix + "out of range"},
      {R"({"exp": 1791234567000})", prefix + "out of range"},
      {R"({"exp": -5})", prefix + "out of range"},
      {R"({"exp": null})", prefix + "must be an integer number of seconds, not null"},
      {R"({"exp": true})", prefix + "must be an integer number of seconds, not a boolean"},
  };
  for (const auto& c : cases) CHECK_THAT(error_of([&] { exp_of(c.payload); }), Catch::StartsWith(c.expected));
}

TEST_CASE("mint_dummy_jwt keeps every real claim and marks the dummy", "[jwt]") {
  const json::object real = real_payload();
  const std::string dummy = mint_dummy_jwt(real, counter_random());

  CHECK(std::count(dummy.begin(), dummy.end(), '.') == 2);
  CHECK(dummy.find_first_of("=+/ \n") == std::string::npos);
  const JwtSegments parts = split_jwt(dummy, "dummy");
  CHECK(parts.header == "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJvdHRsZS1kdW1teSJ9");
  CHECK(parts.signature == dummy_jwt_signature);
  CHECK(dummy.find(real_signature) == std::string::npos);

  const DecodedJwt decoded = decode_jwt(dummy, "dummy");
  CHECK(decoded.header == json::parse(dummy_jwt_header).as_object());
  for (const auto& claim : real) {
    if (claim.key() == "jti") continue;
    INFO("claim " << claim.key());
    REQUIRE(decoded.payload.contains(claim.key()));
    CHECK(decoded.payload.at(claim.key()) == claim.value());
  }
  CHECK(jwt_exp(decoded.payload, "dummy") == jwt_exp(real, "real"));
  CHECK(decoded.payload.at("exp").is_int64());
  CHECK(decoded.payload.at("iat") == 1790370567);
  CHECK(decoded.payload.at("bottle_dummy") == true);
  CHECK(is_dummy_jwt_payload(decoded.payload));
  CHECK_FALSE(is_dummy_jwt_payload(real));
  const std::string jti(decoded.payload.at("jti").as_string());
  CHECK_THAT(jti, Catch::Matches("bottle-[0-9a-f]{32}"));
  CHECK(decoded.payload.size() == real.size() + 1);  // + bottle_dummy; jti replaced
}

TEST_CASE("every minted dummy is a distinct string", "[jwt]") {
  const json::object real = real_payload();
  std::set<std::string> tokens;
  std::set<std::string> jtis;
  const RandomSource counter = counter_random();
  for (int i = 0; i < 20; ++i) {
    for (const std::string& token : {mint_dummy_jwt(real), mint_dummy_jwt(real, counter)}) {
      tokens.insert(token);
      jtis.insert(std::string(decode_jwt(token, "dummy").payload.at("jti").as_string()));
    }
  }
  CHECK(tokens.size() == 40);
  CHECK(jtis.size() == 40);
}
