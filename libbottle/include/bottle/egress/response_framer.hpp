#pragma once
// An upstream's HTTP/1.1 response as bottle-egress relays it: the head, then body
// bytes as they arrive, never the whole body at once (an SSE stream must reach the
// agent event by event). Beast's parser decides the framing (Content-Length, chunked,
// or until the connection closes) and refuses a malformed response. Pure: bytes in,
// events out; no I/O.
//
//   ResponseFramer framer(request_was_head, limits.max_head_bytes);
//   framer.feed(bytes, body);        // appends decoded body bytes to `body`
//   if (framer.head()) ...           // the head, once it is complete
//   if (framer.done()) ...           // the message has ended
//   framer.end_of_stream();          // the upstream closed: ends a close-delimited body
//
// Trailer fields of a chunked response are dropped (they are not relayed).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/http_request.hpp"

namespace bottle {

struct ResponseHead {
  int status = 0;
  std::string reason;
  int minor_version = 1;
  std::vector<HttpField> fields;  ///< as sent, trailers not included
  enum class Framing { none, content_length, chunked, until_close };
  Framing framing = Framing::none;
  std::uint64_t content_length = 0;  ///< with Framing::content_length
  bool keep_alive = true;            ///< the upstream connection may carry another request
};

class ResponseFramer {
 public:
  /// `head_request`: the response answers HEAD (no body whatever the fields say).
  ResponseFramer(bool head_request, std::size_t max_head_bytes);
  ~ResponseFramer();
  ResponseFramer(const ResponseFramer&) = delete;
  ResponseFramer& operator=(const ResponseFramer&) = delete;

  /// Take `data` (all of it is buffered), appending decoded body bytes to `body`.
  /// Returns false once the response is malformed (error() says why); bytes after
  /// the end of the message are kept in leftover().
  bool feed(std::string_view data, std::string& body);
  /// The upstream closed the connection: false when the message was not complete
  /// (a truncated response).
  bool end_of_stream();

  const std::optional<ResponseHead>& head() const;
  bool done() const;
  const std::string& error() const;
  /// Bytes received after the message ended (an upstream may not send any before the
  /// next request; a non-empty leftover means the connection is not reused).
  const std::string& leftover() const;

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

}  // namespace bottle
