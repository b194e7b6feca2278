// The reverse swap in libbottle (egress/reflect_scrub) against the one the retired
// egress addon ran (tests/oracle/egress-addon/bottle_reflect.py, in python3): the same
// needles, in the same order, and the same scrubbed stream for bodies split at random
// places. The native egress engine must keep this guarantee exactly, so the two are
// held together here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/egress/reflect_scrub.hpp"
#include "test_paths.hpp"

namespace {

// A fixed pseudo-random sequence, so a failure replays.
class Lcg {
 public:
  std::uint32_t next(std::uint32_t bound) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state_ >> 33) % bound;
  }

 private:
  std::uint64_t state_ = 42;
};

// Characters every encoder treats specially: JSON escapes, URL reserved, HTML-safe,
// multi-byte UTF-8 (2 and 4 bytes).
const std::vector<std::string> alphabet = {"a",  "b", "X",  "Z",  "0", "9", "-",        "_",
                                           ".",  "/", "+",  "=",  "<", ">", "&",        "\"",
                                           "\\", " ", "\n", "\t", "%", "~", "\xc3\xa9", "\xf0\x9f\x98\x80"};

std::string random_text(Lcg& rng, std::uint32_t max_chars) {
  std::string out;
  const std::uint32_t n = 1 + rng.next(max_chars);
  for (std::uint32_t i = 0; i < n; ++i) out += alphabet[rng.next(static_cast<std::uint32_t>(alphabet.size()))];
  return out;
}

struct Case {
  std::string real, dummy;
  std::vector<std::string> chunks;
};

std::vector<Case> make_cases() {
  std::vector<Case> cases = {{"sk-ant-oat01-REAL/value+x<y>", "sk-ant-oat01-DUMMYvalue+x<y>", {}},
                             {"short", "dummy", {}}};
  Lcg rng;
  for (int i = 0; i < 300; ++i) cases.push_back({random_text(rng, 40), random_text(rng, 40), {}});
  for (Case& c : cases) {
    // A body quoting the real value in several of its forms, split into chunks at
    // random character boundaries (the JSON between the two sides carries text).
    const auto needles = bottle::reflect_needles(c.real, c.dummy);
    std::string body = random_text(rng, 20);
    for (std::uint32_t k = rng.next(5); k > 0 && !needles.empty(); --k)
      body += needles[rng.next(static_cast<std::uint32_t>(needles.size()))].find + random_text(rng, 8);
    c.chunks.clear();
    for (std::size_t at = 0; at < body.size();) {
      std::size_t end = std::min(body.size(), at + 1 + rng.next(12));
      while (end < body.size() && (static_cast<unsigned char>(body[end]) & 0xc0) == 0x80) ++end;
      c.chunks.push_back(body.substr(at, end - at));
      at = end;
    }
  }
  return cases;
}

}  // namespace

TEST_CASE("egress reflect: libbottle's reverse swap matches the egress addon's, needle for needle and byte for byte",
          "[egress-reflect]") {
  const std::vector<Case> cases = make_cases();

  boost::json::array input;
  for (const Case& c : cases) {
    boost::json::array chunks;
    for (const std::string& chunk : c.chunks) chunks.emplace_back(chunk);
    input.push_back(boost::json::array{boost::json::string(c.real), boost::json::string(c.dummy), chunks});
  }
  bottle::SystemRunner runner;
  const std::string source = test_paths::source_dir;
  const bottle::ProcessResult result = runner.run(bottle::Command{
      .argv = {"python3", source + "/tests/integration/reflect_parity.py", source + "/tests/oracle/egress-addon"},
      .stdin_data = boost::json::serialize(input)});
  INFO(result.err);
  REQUIRE(result.ok());
  const boost::json::array expected = boost::json::parse(result.out).as_array();
  REQUIRE(expected.size() == cases.size());

  std::size_t total_hits = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const boost::json::object& want = expected[i].as_object();
    INFO("case " << i);
    const auto needles = bottle::reflect_needles(c.real, c.dummy);
    boost::json::array got_needles;
    for (const auto& n : needles)
      got_needles.push_back(boost::json::array{boost::json::string(n.find), boost::json::string(n.replace),
                                               boost::json::string(n.encoding)});
    CHECK(boost::json::serialize(got_needles) == boost::json::serialize(want.at("needles")));

    const bottle::ReflectScrubber scrubber(needles);
    bottle::ReflectStream stream(scrubber);
    std::vector<std::size_t> hits;
    std::string body;
    for (const std::string& chunk : c.chunks) body += stream.feed(chunk, hits);
    body += stream.finish(hits);
    CHECK(body == std::string(want.at("body").as_string()));
    CHECK(hits.size() == static_cast<std::size_t>(want.at("hits").as_int64()));
    total_hits += hits.size();
  }
  // The cases must exercise the swap, not only pass text through.
  CHECK(total_hits > 100);
}
