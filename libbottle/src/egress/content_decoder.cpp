#include "bottle/egress/content_decoder.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>

namespace bottle {

namespace {

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

// zlib's window bits: 15 + 32 detects a gzip or zlib header; -15 is raw deflate.
constexpr int auto_header_bits = 15 + 32;
constexpr int raw_deflate_bits = -15;

}  // namespace

struct ContentDecoder::Stream {
  z_stream z{};
  bool ready = false;
  bool ended = false;
  bool corrupt = false;
  bool deflate = false;  // "deflate": may be raw, decided on the first bytes
  std::string held;      // a raw-deflate guess replays the bytes seen so far

  explicit Stream(bool deflate_coding) : deflate(deflate_coding) {
    ready = ::inflateInit2(&z, auto_header_bits) == Z_OK;
  }
  ~Stream() {
    if (ready) ::inflateEnd(&z);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Inflate `input` into `out`; false on a corrupt stream.
  bool inflate_all(std::string_view input, std::string& out) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z.avail_in = static_cast<uInt>(input.size());
    std::array<unsigned char, 16384> buffer{};
    while (z.avail_in > 0 || !ended) {
      z.next_out = buffer.data();
      z.avail_out = static_cast<uInt>(buffer.size());
      const int status = ::inflate(&z, Z_NO_FLUSH);
      out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - z.avail_out);
      if (status == Z_STREAM_END) {
        ended = true;
        return z.avail_in == 0;  // bytes after the end: not one well-formed stream
      }
      if (status == Z_BUF_ERROR || (status == Z_OK && z.avail_in == 0 && z.avail_out != 0)) return true;
      if (status != Z_OK) return false;
    }
    return z.avail_in == 0;
  }
};

std::optional<ContentDecoder> ContentDecoder::for_encoding(std::string_view content_encoding) {
  const std::string coding = lower_trimmed(content_encoding);
  if (coding != "gzip" && coding != "x-gzip" && coding != "deflate") return std::nullopt;
  auto stream = std::make_unique<Stream>(coding == "deflate");
  if (!stream->ready) return std::nullopt;
  return ContentDecoder(std::move(stream));
}

ContentDecoder::ContentDecoder(std::unique_ptr<Stream> stream) : stream_(std::move(stream)) {}
ContentDecoder::ContentDecoder(ContentDecoder&&) noexcept = default;
ContentDecoder& ContentDecoder::operator=(ContentDecoder&&) noexcept = default;
ContentDecoder::~ContentDecoder() = default;

bool ContentDecoder::feed(std::string_view piece, std::string& out) {
  Stream& s = *stream_;
  if (s.corrupt) return false;
  if (piece.empty()) return true;
  if (s.ended) {
    s.corrupt = true;  // data after the end of the stream
    return false;
  }
  // "deflate" is zlib-wrapped by the standard, but some servers send raw deflate. Until
  // the first output, a header error means: start over as raw deflate.
  if (s.deflate && s.z.total_out == 0) {
    s.held.append(piece);
    std::string produced;
    if (s.inflate_all(piece, produced)) {
      if (s.z.total_out > 0 || s.ended) s.held.clear();
      out += produced;
      return true;
    }
    if (s.z.total_out > 0) {  // a valid zlib header, then corrupt data
      s.corrupt = true;
      return false;
    }
    ::inflateEnd(&s.z);
    s.z = z_stream{};
    s.ready = ::inflateInit2(&s.z, raw_deflate_bits) == Z_OK;
    s.deflate = false;
    s.ended = false;
    const std::string replay = std::move(s.held);
    s.held.clear();
    if (s.ready && s.inflate_all(replay, out)) return true;
    s.corrupt = true;
    return false;
  }
  if (!s.inflate_all(piece, out)) {
    s.corrupt = true;
    return false;
  }
  return true;
}

bool ContentDecoder::finished() const { return stream_->ended && !stream_->corrupt; }

}  // namespace bottle
