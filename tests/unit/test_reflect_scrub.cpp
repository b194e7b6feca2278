// The reverse swap's pure parts. The full parity with the egress addon's Python is the
// integration test `egress reflect: ...`; these pin the shape with exact values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "bottle/egress/reflect_scrub.hpp"

using bottle::ReflectNeedle;

TEST_CASE("reflect scrub: the needles of a value, longest first", "[egress-reflect]") {
  CHECK(bottle::reflect_needles("real-token/1", "fake-token/2") ==
        std::vector<ReflectNeedle>{{"cmVhbC10b2tlbi8x", "ZmFrZS10b2tlbi8y", "base64"},
                                   {"real-token%2F1", "fake-token%2F2", "url"},
                                   {"real-token%2f1", "fake-token%2f2", "url"},
                                   {"real-token\\/1", "fake-token\\/2", "json"},
                                   {"real-token/1", "fake-token/2", "raw"},
                                   {"YWwtdG9rZW4v", "a2UtdG9rZW4v", "base64"},
                                   {"ZWFsLXRva2Vu", "YWtlLXRva2Vu", "base64"}});
  // Too short to look for: it would match ordinary data.
  CHECK(bottle::reflect_needles("abc", "xyz").empty());
  // Non-ASCII text gets its \u escapes in both cases; invalid UTF-8 only raw/url/base64.
  const auto unicode = bottle::reflect_needles("tok\xc3\xa9-real-1", "tok\xc3\xa9-fake-1");
  CHECK(std::count_if(unicode.begin(), unicode.end(), [](const ReflectNeedle& n) {
          return n.find == "tok\\u00e9-real-1" || n.find == "tok\\u00E9-real-1";
        }) == 2);
  for (const ReflectNeedle& n : bottle::reflect_needles("bad\xff-real-value", "bad\xff-fake-value"))
    CHECK(n.encoding != "json");
}

TEST_CASE("reflect scrub: a stream holds back only a tail that may begin a needle", "[egress-reflect]") {
  const bottle::ReflectScrubber scrubber(bottle::reflect_needles("real-token/1", "fake-token/2"));
  bottle::ReflectStream stream(scrubber);
  std::vector<std::size_t> hits;
  CHECK(stream.feed("data: real-tok", hits) == "data: ");
  CHECK(stream.feed("en/1\n\ndata: x re", hits) == "fake-token/2\n\ndata: x ");
  CHECK(stream.feed("al", hits).empty());
  CHECK(stream.finish(hits) == "real");
  REQUIRE(hits.size() == 1);
  CHECK(scrubber.needles()[hits[0]].encoding == "raw");
  // An event that ends in a newline passes at once.
  bottle::ReflectStream sse(scrubber);
  CHECK(sse.feed("data: {\"x\":1}\n\n", hits) == "data: {\"x\":1}\n\n");
}

TEST_CASE("reflect scrub: leftmost match first, the longest at one position", "[egress-reflect]") {
  const bottle::ReflectScrubber scrubber(
      {{"abcdefgh", "ABCDEFGH", "raw"}, {"abcdefghij", "0123456789", "raw"}, {"cdefghij", "CDEFGHIJ", "raw"}});
  const auto result = scrubber.replace("xabcdefghijkl");
  CHECK(result.out == "x0123456789kl");
  CHECK(result.stop == 13);
  const auto bounded = scrubber.replace("xxabcdefghij", 1);
  CHECK(bounded.out == "x");
  CHECK(bounded.stop == 1);
  // A match that starts before `end` is replaced whole, and scanning stops after it.
  const auto past = scrubber.replace("abcdefghijxx", 1);
  CHECK(past.out == "0123456789");
  CHECK(past.stop == 10);
  CHECK(scrubber.partial_start("zzzabcde") == 3);
  CHECK(scrubber.partial_start("zzzzzzzz") == 8);
}
