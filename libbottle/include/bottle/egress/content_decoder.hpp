#pragma once
// Decoding a compressed answer as it streams, so the reverse swap can scan it.
// Egress asks upstream for identity on every request it injected into; a server that
// compresses anyway with gzip, x-gzip or deflate gets its answer decoded piece by
// piece (and passed on decoded); any other encoding cannot be scanned and is refused.
//
//   auto decoder = bottle::ContentDecoder::for_encoding("gzip");   // nullopt: cannot
//   std::string plain;
//   if (!decoder->feed(piece, plain)) { /* corrupt: cut the answer here */ }
//   bool whole = decoder->finished();

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace bottle {

class ContentDecoder {
 public:
  /// A decoder for a Content-Encoding value (one coding, case-insensitive, spaces
  /// around it ignored): gzip, x-gzip, or deflate (zlib-wrapped, as RFC 9110 defines
  /// it, or raw, as some servers send it). nullopt for anything else, including a
  /// list of codings.
  static std::optional<ContentDecoder> for_encoding(std::string_view content_encoding);

  ContentDecoder(ContentDecoder&&) noexcept;
  ContentDecoder& operator=(ContentDecoder&&) noexcept;
  ~ContentDecoder();

  /// Decode `piece`, appending the bytes it yields to `out`. false: the stream is
  /// corrupt (or data follows its end); nothing more may be passed on.
  bool feed(std::string_view piece, std::string& out);

  /// Whether the compressed stream ended properly (its trailer checked). An answer
  /// whose body ends before that is truncated.
  bool finished() const;

 private:
  struct Stream;
  explicit ContentDecoder(std::unique_ptr<Stream> stream);
  std::unique_ptr<Stream> stream_;
};

}  // namespace bottle
