// ContentDecoder: the streaming decode that lets the reverse swap scan an answer the
// upstream compressed although egress asked for identity.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>

#include "bottle/egress/content_decoder.hpp"

using bottle::ContentDecoder;

namespace {

// `text` compressed with zlib's deflate: window_bits 15 + 16 is gzip, 15 zlib, -15 raw.
std::string compressed(const std::string& text, int window_bits) {
  z_stream z{};
  REQUIRE(::deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(::deflateBound(&z, static_cast<uLong>(text.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(::deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  ::deflateEnd(&z);
  return out;
}

// An SSE-like body, big enough to span several deflate blocks.
std::string sample_body() {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "data: {\"token\":\"real-value-" + std::to_string(i) + "\"}\n\n";
  return text;
}

// Decode `data` fed in pieces of `step` bytes: the output, and whether every feed
// succeeded and the stream finished.
std::pair<std::string, bool> decode(std::string_view encoding, const std::string& data, std::size_t step) {
  auto decoder = ContentDecoder::for_encoding(encoding);
  REQUIRE(decoder);
  std::string out;
  for (std::size_t at = 0; at < data.size(); at += step)
    if (!decoder->feed(std::string_view(data).substr(at, step), out)) return {out, false};
  return {out, decoder->finished()};
}

}  // namespace

TEST_CASE("content decoder: gzip decodes whole and in pieces of any size", "[egress][decoder]") {
  const std::string body = sample_body();
  const std::string gz = compressed(body, 15 + 16);
  for (const std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{512}, gz.size()}) {
    INFO(step);
    CHECK(decode("gzip", gz, step) == std::pair<std::string, bool>{body, true});
  }
  CHECK(decode("x-gzip", gz, 100).first == body);
  CHECK(decode(" GZip ", gz, 100).first == body);
}

TEST_CASE("content decoder: deflate decodes zlib-wrapped and raw", "[egress][decoder]") {
  const std::string body = sample_body();
  for (const std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{4096}}) {
    INFO(step);
    CHECK(decode("deflate", compressed(body, 15), step) == std::pair<std::string, bool>{body, true});
    CHECK(decode("deflate", compressed(body, -15), step) == std::pair<std::string, bool>{body, true});
  }
}

TEST_CASE("content decoder: only gzip, x-gzip and deflate are decoded", "[egress][decoder]") {
  for (const char* coding : {"br", "zstd", "compress", "identity", "", "gzip, br", "gzip;q=1"}) {
    INFO(coding);
    CHECK_FALSE(ContentDecoder::for_encoding(coding));
  }
}

TEST_CASE("content decoder: a corrupt, truncated or overlong stream never counts as whole", "[egress][decoder]") {
  const std::string gz = compressed(sample_body(), 15 + 16);
  std::string flipped = gz;
  flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x5a);
  CHECK_FALSE(decode("gzip", flipped, 64).second);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] = static_cast<char>(bad_crc[gz.size() - 6] ^ 1);
  CHECK_FALSE(decode("gzip", bad_crc, 64).second);
  CHECK_FALSE(decode("gzip", gz.substr(0, gz.size() - 4), 64).second);
  CHECK_FALSE(decode("gzip", gz + "trailing", 64).second);
  CHECK_FALSE(decode("gzip", "this is not gzip at all", 5).second);

  auto decoder = ContentDecoder::for_encoding("gzip");
  std::string out;
  CHECK_FALSE(decoder->feed(flipped, out));
  CHECK_FALSE(decoder->feed("more", out));  // once corrupt, always corrupt
  CHECK_FALSE(decoder->finished());
}
