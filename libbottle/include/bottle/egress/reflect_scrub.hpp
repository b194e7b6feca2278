#pragma once
// The reverse swap for bottle-egress: in an answer to a request egress injected a
// real value into, every form of that value is replaced by the same form of the
// dummy the bottle sent, before the bottle sees it. The same semantics as today's
// egress addon (tests/oracle/egress-addon/bottle_reflect.py), byte for byte; a differential
// test holds the two together. Pure: no I/O.
//
// What is looked for (reflect_needles): the real value as-is; JSON-escaped in every
// form a JSON encoder produces (ASCII-only or not, "/" as "\/", HTML-safe "<>&",
// \uXXXX in either case); URL-encoded (with and without "/" kept, '+' for space,
// either hex case); base64 and base64url groups at each of the 3 alignments, whole
// 4-character groups only. Needles shorter than 8 bytes are dropped (they would
// match ordinary data). The stream scrubber holds back only a tail that could still
// begin a needle.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

/// A needle shorter than this is never looked for.
inline constexpr std::size_t min_reflect_needle = 8;

struct ReflectNeedle {
  std::string find;
  std::string replace;
  std::string encoding;  ///< for the log: raw, json, url, base64, base64url
  std::string route;     ///< for the log: whose value it is (set by the caller)
  bool operator==(const ReflectNeedle&) const = default;
};

/// Every form of `real` to replace, paired with the same form of `dummy`: distinct
/// finds, at least min_reflect_needle long, differing from their replacement,
/// longest first (stable). `real` and `dummy` are UTF-8 text; a value that is not
/// valid UTF-8 is looked for only as-is, URL-encoded and in base64.
std::vector<ReflectNeedle> reflect_needles(std::string_view real, std::string_view dummy);

/// Replaces needles in whole byte strings, leftmost first; at one position the
/// longest needle wins.
class ReflectScrubber {
 public:
  explicit ReflectScrubber(std::vector<ReflectNeedle> needles);

  struct Result {
    std::string out;                ///< the rewritten bytes up to `stop`
    std::size_t stop = 0;           ///< where scanning stopped in the input
    std::vector<std::size_t> hits;  ///< index into needles() of each replacement
  };
  /// Replace the needles that start before `end` (a match may run past it).
  Result replace(std::string_view data, std::size_t end) const;
  Result replace(std::string_view data) const { return replace(data, data.size()); }
  /// The first position whose tail is a proper prefix of some needle (one that may
  /// go on in the next chunk), or data.size().
  std::size_t partial_start(std::string_view data) const;
  const std::vector<ReflectNeedle>& needles() const { return needles_; }

 private:
  using PairSet = std::array<std::uint64_t, 65536 / 64>;  // one bit per pair of bytes
  std::size_t next_candidate(std::string_view data, std::size_t i, std::size_t last) const;
  std::vector<ReflectNeedle> needles_;                   // longest first
  std::vector<std::vector<std::size_t>> by_first_byte_;  // 256 lists of indexes, longest first
  PairSet starts_{};                                     // every needle's first two bytes
  PairSet windows_{};                                    // every pair of bytes within a needle's first min_len_
  std::size_t max_len_ = 0;
  std::size_t min_len_ = 0;
};

/// A body scrubbed chunk by chunk with a carry-over tail: feed() each chunk as it
/// arrives and finish() at the end of the body. Nothing is held back but a tail
/// shorter than the longest needle that could still start one.
class ReflectStream {
 public:
  explicit ReflectStream(const ReflectScrubber& scrubber) : scrubber_(scrubber) {}
  /// The bytes that may go to the bottle now; appends hits (needle indexes).
  std::string feed(std::string_view chunk, std::vector<std::size_t>& hits);
  /// The held-back tail, scrubbed: the body has ended.
  std::string finish(std::vector<std::size_t>& hits);

 private:
  const ReflectScrubber& scrubber_;
  std::string carry_;
};

}  // namespace bottle
