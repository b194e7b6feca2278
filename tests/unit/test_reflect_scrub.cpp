// The reverse swap's pure parts. The full parity with the egress addon's Python is the
// integration test `egress reflect: ...`; these pin the shape with exact values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "bottle/egress/reflect_scrub.hpp"
#include "reflect_by_definition.hpp"

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

TEST_CASE("reflect scrub: the two-byte prefilter finds what the definition finds", "[egress-reflect]") {
  // Short needles (one and two bytes) and needles that share first bytes, over data
  // from a small alphabet so that near-misses are everywhere.
  const std::vector<std::vector<ReflectNeedle>> sets = {
      {{"abcabcab", "XXXXXXXX", "raw"}, {"abd", "Y", "raw"}, {"b", "Z", "raw"}},
      {{"ab", "12", "raw"}, {"aab", "345", "raw"}, {"cabca", "", "raw"}},
      {{"abca", "1", "raw"}, {"cab", "2", "raw"}, {"b-/c", "3", "raw"}},
      {{"real-token/1", "fake-token/2", "raw"}, {"cmVhbC10b2tlbi8x", "ZmFrZS10b2tlbi8y", "base64"}},
  };
  std::uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1103515245 + 12345, (seed >> 16) & 0x7fff; };
  for (const auto& needles : sets) {
    const bottle::ReflectScrubber scrubber(needles);
    for (int round = 0; round < 300; ++round) {
      std::string data;
      const std::size_t size = next() % 64;
      while (data.size() < size)
        data += next() % 5 == 0 ? needles[next() % needles.size()].find : std::string(1, "abc-/"[next() % 5]);
      INFO("data: " << data);
      CHECK(scrubber.replace(data).out == replaced_by_definition(needles, data));
      // Streamed in two pieces, the same bytes come out.
      std::vector<std::size_t> hits;
      bottle::ReflectStream stream(scrubber);
      const std::size_t cut = data.empty() ? 0 : next() % data.size();
      std::string streamed = stream.feed(std::string_view(data).substr(0, cut), hits);
      streamed += stream.feed(std::string_view(data).substr(cut), hits);
      streamed += stream.finish(hits);
      CHECK(streamed == replaced_by_definition(needles, data));
    }
  }
}
