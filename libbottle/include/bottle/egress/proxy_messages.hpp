#pragma once
// The bytes bottle-egress writes around a relayed exchange: its own refusals, the
// request head it sends upstream, and the response head (and body framing) it sends
// back to the agent. Pure: every function builds bytes and nothing else.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/egress/http_request.hpp"
#include "bottle/egress/response_framer.hpp"

namespace bottle {

/// "Forbidden" for 403 and the other statuses egress answers or relays; "" for others.
std::string_view status_reason(int status);

/// egress's own answer that ends the connection: `status`, text/plain, the message
/// and a newline as the body, "Connection: close".
std::string refusal_response(int status, std::string_view message);

/// How the request line names its target: origin form ("/path?q") to the server
/// itself or through a CONNECT tunnel; absolute form ("http://host[:port]/path?q",
/// the port only when it is not 80) to a parent proxy that forwards plain HTTP.
enum class TargetForm { origin, absolute };

/// The request head egress sends upstream: "METHOD target HTTP/1.1", `fields`
/// (forwarded_fields() of the request, dummies already swapped) without Expect
/// (egress answered it) and without Content-Length, then Content-Length of the body
/// egress read (always, when the request had a body or the method carries one).
std::string upstream_request_head(const RequestHead& request, const std::vector<HttpField>& fields,
                                  std::optional<std::uint64_t> body_length, TargetForm form);

/// How egress answers the agent with an upstream response.
struct ClientResponsePlan {
  std::string head;          ///< status line, fields, empty line
  bool chunked = false;      ///< the body goes out chunked (append_chunk() each piece, then last_chunk)
  bool close_after = false;  ///< the body ends when egress closes the connection
};
/// The head for the agent: hop-by-hop fields dropped (Connection and what it names,
/// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade); when
/// `rewrite_body` (the reverse swap may change the body's length) a Content-Length
/// body goes out chunked instead; a body that ends with the upstream connection ends
/// with the agent's; "Connection: close" when the agent's connection will not carry
/// another request. Each field value is passed through `scrub` (the reverse swap).
ClientResponsePlan client_response_head(const ResponseHead& response, bool rewrite_body, bool keep_alive,
                                        int client_minor_version,
                                        const std::function<std::string(std::string_view)>& scrub);

/// Append one chunk of a chunked body to `out` (nothing for empty data: an empty
/// chunk would end the body).
void append_chunk(std::string& out, std::string_view data);
/// The last chunk and the empty trailer section.
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace bottle
