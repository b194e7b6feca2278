#pragma once
// The request front end of bottle-egress: what an agent's bytes must look like
// before egress forwards anything. Strict HTTP/1.1 (RFC 9112) with no leniency,
// because every leniency is a place where egress and an upstream server could
// disagree on where a request ends (request smuggling) or where it goes (authority
// confusion). Pure: bytes in, a parsed head or a refusal out; no I/O, no clock.
//
//   HeadScan scan = find_head_end(buffered, limits);     // scan.end empty: read more
//   auto parsed = parse_request_head(buffered.substr(0, *scan.end), RequestPlace::tunnel(authority), limits);
//   if (auto* refusal = std::get_if<HttpRefusal>(&parsed)) answer refusal->status and close;
//
// Refused (each with the status egress answers before it closes the connection):
//   400  bare CR or LF, obs-fold, a space before ':', a control character in a value,
//        a field name that is not a token, Content-Length that is not one plain
//        decimal (lists and repeats included), Content-Length with Transfer-Encoding,
//        Transfer-Encoding in HTTP/1.0, no Host in HTTP/1.1 or more than one Host,
//        a Host that differs from where the request goes, userinfo in an authority,
//        a body on CONNECT, a Connection header naming Host or a framing field (so
//        dropping hop-by-hop fields can never remove framing), a chunked body with
//        a bad size line, missing CRLF after a chunk, or trailer fields
//   405  CONNECT inside a tunnel
//   414  a request line longer than max_line_bytes
//   417  an Expect other than 100-continue
//   431  a head over max_head_bytes, a field line over max_line_bytes, more than
//        max_fields fields
//   501  a Transfer-Encoding other than exactly one "chunked"
//   505  any version but HTTP/1.1 and HTTP/1.0 (HTTP/2's "PRI * HTTP/2.0" included)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bottle {

struct HttpLimits {
  std::size_t max_head_bytes = 32768;  ///< request line + fields + the empty line
  std::size_t max_line_bytes = 8192;   ///< any one line of the head
  std::size_t max_fields = 128;
  std::size_t max_chunk_line_bytes = 1024;  ///< a chunk-size line with its extensions
};

struct HttpRefusal {
  int status = 400;
  std::string reason;  ///< for the log and the 4xx body; never holds a field value
  bool operator==(const HttpRefusal&) const = default;
};

struct HttpField {
  std::string name;  ///< as sent (names compare case-insensitively)
  std::string value;
  bool operator==(const HttpField&) const = default;
};

/// host[:port] of an http(s) URI or CONNECT target. host is lowercase: a DNS name
/// (letters, digits, '-', '_', '.'), a dotted IPv4 literal, or an IPv6 literal in
/// brackets (kept with its brackets).
struct Authority {
  std::string host;
  std::uint16_t port = 0;
  bool is_ip_literal = false;
  std::string text() const;  ///< "host:port"
  bool operator==(const Authority&) const = default;
};
/// Parse "host[:port]"; a missing port is `default_port` (0: the port is required).
/// nullopt for anything else: userinfo, percent-encoding, an empty or over-long
/// (253) host, a port outside 1-65535, a leading zero port, trailing junk.
std::optional<Authority> parse_authority(std::string_view text, std::uint16_t default_port);

/// Where a request arrived, which decides its target form and its authority.
struct RequestPlace {
  /// On egress's proxy port: CONNECT host:port, or a plain-HTTP request in absolute
  /// form (http://host[:port]/path).
  static RequestPlace proxy() { return {}; }
  /// Inside a CONNECT tunnel to `authority` whose TLS egress terminated: origin form
  /// (or "*" for OPTIONS), and Host must name the tunnel's authority.
  static RequestPlace tunnel(Authority authority) { return {std::move(authority)}; }
  std::optional<Authority> tunnel_authority;
};

enum class BodyFraming { none, content_length, chunked };

struct RequestHead {
  std::string method;
  std::string target;     ///< as sent
  int minor_version = 1;  ///< HTTP/1.<minor_version>: 1 or 0
  std::vector<HttpField> fields;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;  ///< with BodyFraming::content_length
  Authority authority;               ///< where the request goes
  std::string path;                  ///< origin-form target (absolute form: its path part)
  bool keep_alive = true;            ///< another request may follow on this connection
  bool websocket_upgrade = false;    ///< GET with Upgrade: websocket and Connection: upgrade
  bool expect_continue = false;      ///< Expect: 100-continue
  /// The first value of field `name` (case-insensitive), nullopt when absent.
  std::optional<std::string_view> field(std::string_view name) const;
};

/// Where the head ends in what has been read so far.
struct HeadScan {
  std::optional<std::size_t> end;      ///< just past the empty line; nullopt: read more
  std::optional<HttpRefusal> refusal;  ///< set: refuse and close
};
/// Scan `buffered` for the end of the head: a refusal (431) once max_head_bytes have
/// come without one, and (400) for a bare CR or LF, so that no lenient upstream can
/// ever read a different head from the same bytes.
HeadScan find_head_end(std::string_view buffered, const HttpLimits& limits);

/// Parse and check one complete head (through its empty line), as the rules above.
std::variant<RequestHead, HttpRefusal> parse_request_head(std::string_view head, const RequestPlace& place,
                                                          const HttpLimits& limits);

/// The fields to send upstream: without Connection and every field it names,
/// Proxy-Connection, Keep-Alive, TE, Transfer-Encoding (egress re-frames bodies),
/// Upgrade (kept with "Connection: Upgrade" for a websocket upgrade), Trailer and
/// Proxy-Authorization (never the agent's to send on).
std::vector<HttpField> forwarded_fields(const RequestHead& head);

/// Whether `name` equals `other`, ASCII case-insensitively.
bool field_name_is(std::string_view name, std::string_view other);

/// Incremental decoder of a chunked request body (RFC 9112 §7.1), as strict as the
/// head: 1-16 hex digits, extensions only within max_chunk_line_bytes, CRLF exactly
/// where the grammar puts one, and no trailer fields (egress refuses them rather
/// than forward or drop fields that bypassed the head's checks).
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const HttpLimits& limits) : limits_(limits) {}

  struct Step {
    std::size_t consumed = 0;            ///< bytes of `input` used; the rest belongs to the next request
    std::optional<HttpRefusal> refusal;  ///< set: the body is bad, close the connection
  };
  /// Decode as much of `input` as possible, appending body bytes to `body`.
  Step feed(std::string_view input, std::string& body);
  /// The final chunk and the empty line after it have been read.
  bool done() const { return state_ == State::done; }

 private:
  enum class State { size_line, data, data_crlf, trailer, done, failed };
  HttpLimits limits_;
  State state_ = State::size_line;
  std::string line_;  ///< the part of a size or trailer line read so far
  std::uint64_t remaining_ = 0;
};

}  // namespace bottle
