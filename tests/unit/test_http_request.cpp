// The egress request front end: what it accepts, and every smuggling and
// authority-confusion case it must refuse (RFC 9112; the table in
// egress-engine facts: Beast accepts several of these, bottle must not).
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "bottle/egress/http_request.hpp"

using bottle::Authority;
using bottle::BodyFraming;
using bottle::ChunkedDecoder;
using bottle::HttpField;
using bottle::HttpLimits;
using bottle::HttpRefusal;
using bottle::RequestHead;
using bottle::RequestPlace;

namespace {

const Authority api{"api.example.test", 443, false};

std::variant<RequestHead, HttpRefusal> in_tunnel(const std::string& head, const HttpLimits& limits = {}) {
  return bottle::parse_request_head(head, RequestPlace::tunnel(api), limits);
}
std::variant<RequestHead, HttpRefusal> on_proxy(const std::string& head, const HttpLimits& limits = {}) {
  return bottle::parse_request_head(head, RequestPlace::proxy(), limits);
}

RequestHead accepted(const std::variant<RequestHead, HttpRefusal>& parsed) {
  if (const auto* refusal = std::get_if<HttpRefusal>(&parsed)) FAIL("refused: " << refusal->reason);
  return std::get<RequestHead>(parsed);
}
int refused_with(const std::variant<RequestHead, HttpRefusal>& parsed) {
  if (std::holds_alternative<RequestHead>(parsed)) return 0;
  return std::get<HttpRefusal>(parsed).status;
}

}  // namespace

TEST_CASE("http request: a plain request in a tunnel", "[egress-http]") {
  const RequestHead head = accepted(
      in_tunnel("POST /v1/messages?beta=true HTTP/1.1\r\nHost: api.example.test\r\nAuthorization: Bearer dummy\r\n"
                "Content-Length: 12\r\n\r\n"));
  CHECK(head.method == "POST");
  CHECK(head.path == "/v1/messages?beta=true");
  CHECK(head.authority == api);
  CHECK(head.framing == BodyFraming::content_length);
  CHECK(head.content_length == 12);
  CHECK(head.keep_alive);
  CHECK_FALSE(head.websocket_upgrade);
  CHECK(head.field("authorization") == std::optional<std::string_view>("Bearer dummy"));
  CHECK(head.fields == std::vector<HttpField>{
                           {"Host", "api.example.test"}, {"Authorization", "Bearer dummy"}, {"Content-Length", "12"}});
}

TEST_CASE("http request: Host must name the tunnel, port-normalised", "[egress-http]") {
  CHECK(accepted(in_tunnel("GET / HTTP/1.1\r\nHost: API.example.test:443\r\n\r\n")).authority == api);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: other.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test:8443\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nHost: api.example.test\r\n\r\n")) == 400);
  // Absolute form in a tunnel would be a second authority; CONNECT in a tunnel a second tunnel.
  CHECK(refused_with(in_tunnel("GET https://evil.test/ HTTP/1.1\r\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n")) == 405);
  CHECK(accepted(in_tunnel("OPTIONS * HTTP/1.1\r\nHost: api.example.test\r\n\r\n")).path == "*");
  CHECK(refused_with(in_tunnel("GET * HTTP/1.1\r\nHost: api.example.test\r\n\r\n")) == 400);
}

TEST_CASE("http request: CONNECT and absolute form on the proxy port", "[egress-http]") {
  const RequestHead connect = accepted(on_proxy("CONNECT Chatgpt.com:443 HTTP/1.1\r\nHost: chatgpt.com:443\r\n\r\n"));
  CHECK(connect.authority == Authority{"chatgpt.com", 443, false});
  CHECK(accepted(on_proxy("CONNECT chatgpt.com:443 HTTP/1.1\r\n\r\n")).authority.text() == "chatgpt.com:443");
  CHECK(refused_with(on_proxy("CONNECT chatgpt.com HTTP/1.1\r\nHost: chatgpt.com\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("CONNECT chatgpt.com:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("CONNECT a.test:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n")) == 400);

  const RequestHead get =
      accepted(on_proxy("GET http://Example.test:8080?q=1 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n"));
  CHECK(get.authority == Authority{"example.test", 8080, false});
  CHECK(get.path == "/?q=1");
  CHECK(accepted(on_proxy("GET http://example.test HTTP/1.1\r\nHost: example.test\r\n\r\n")).path == "/");
  CHECK(refused_with(on_proxy("GET http://example.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("GET https://example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("GET /relative HTTP/1.1\r\nHost: example.test\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("GET http://user@example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n")) == 400);
  CHECK(refused_with(on_proxy("GET http://example.test/#x HTTP/1.1\r\nHost: example.test\r\n\r\n")) == 400);
}

TEST_CASE("http request: framing that could be read two ways is refused", "[egress-http]") {
  const std::string start = "POST / HTTP/1.1\r\nHost: api.example.test\r\n";
  CHECK(refused_with(in_tunnel(start + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel(start + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel(start + "Transfer-Encoding: gzip\r\n\r\n")) == 501);
  CHECK(refused_with(in_tunnel(start + "Transfer-Encoding: chunked, gzip\r\n\r\n")) == 501);
  CHECK(refused_with(in_tunnel(start + "Transfer-Encoding: xchunked\r\n\r\n")) == 501);
  CHECK(refused_with(in_tunnel(start + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")) == 501);
  CHECK(refused_with(in_tunnel(start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")) == 501);
  CHECK(refused_with(in_tunnel(start + "Content-Length: 5, 5\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel(start + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel(start + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel(start + "Content-Length: +5\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel(start + "Content-Length: 99999999999999999999\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("POST / HTTP/1.0\r\nHost: api.example.test\r\nTransfer-Encoding: chunked\r\n\r\n")) ==
        400);
  CHECK(accepted(in_tunnel(start + "Transfer-Encoding: Chunked\r\n\r\n")).framing == BodyFraming::chunked);
  CHECK(accepted(in_tunnel(start + "\r\n")).framing == BodyFraming::none);
}

TEST_CASE("http request: malformed lines and fields are refused", "[egress-http]") {
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nX-A: one\r\n two\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nX-A : b\r\n\r\n")) == 400);
  static constexpr char with_nul[] = "GET / HTTP/1.1\r\nHost: api.example.test\r\nX-A: a\0b\r\n\r\n";
  CHECK(refused_with(in_tunnel(std::string(with_nul, sizeof with_nul - 1))) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nX-A: a\rb\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nNoColon\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET  / HTTP/1.1\r\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("G@T / HTTP/1.1\r\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1 \r\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("PRI * HTTP/2.0\r\n\r\n")) == 505);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.2\r\nHost: api.example.test\r\n\r\n")) == 505);
  CHECK(refused_with(in_tunnel("GET / http/1.1\r\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("\r\nGET / HTTP/1.1\r\nHost: api.example.test\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\n\r\nGET / HTTP/1.1\r\n\r\n")) == 400);
}

TEST_CASE("http request: limits give 414 and 431", "[egress-http]") {
  const HttpLimits small{.max_head_bytes = 256, .max_line_bytes = 64, .max_fields = 3, .max_chunk_line_bytes = 16};
  CHECK(refused_with(
            in_tunnel("GET /" + std::string(80, 'a') + " HTTP/1.1\r\nHost: api.example.test\r\n\r\n", small)) == 414);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nX: " + std::string(70, 'v') + "\r\n\r\n",
                               small)) == 431);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", small)) ==
        431);
  CHECK(accepted(in_tunnel("GET / HTTP/1.1\r\nHost: api.example.test\r\nA: 1\r\nB: 2\r\n\r\n", small)).fields.size() ==
        3);

  const std::string big(300, 'x');
  const bottle::HeadScan scan = bottle::find_head_end(big, small);
  REQUIRE(scan.refusal);
  CHECK(scan.refusal->status == 431);
}

TEST_CASE("http request: find_head_end waits, ends at the first empty line, refuses bare CR or LF", "[egress-http]") {
  const HttpLimits limits;
  CHECK_FALSE(bottle::find_head_end("GET / HTTP/1.1\r\nHost: a\r\n", limits).end);
  CHECK_FALSE(bottle::find_head_end("GET / HTTP/1.1\r\nHost: a\r\n", limits).refusal);
  CHECK_FALSE(bottle::find_head_end("GET / HTTP/1.1\r", limits).refusal);  // the LF may still come
  CHECK(bottle::find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY", limits).end == std::optional<std::size_t>(27));
  CHECK(bottle::find_head_end("GET / HTTP/1.1\nHost: a\r\n\r\n", limits).refusal->status == 400);
  CHECK(bottle::find_head_end("GET / HTTP/1.1\rHost: a\r\n\r\n", limits).refusal->status == 400);
  CHECK(bottle::find_head_end("GET / HTTP/1.1\r\nHost: a\n\r\n", limits).refusal->status == 400);
}

TEST_CASE("http request: Connection, keep-alive, Expect and websocket upgrades", "[egress-http]") {
  const std::string host = "Host: api.example.test\r\n";
  CHECK_FALSE(accepted(in_tunnel("GET / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n")).keep_alive);
  CHECK_FALSE(accepted(in_tunnel("GET / HTTP/1.0\r\n" + host + "\r\n")).keep_alive);
  CHECK(accepted(in_tunnel("GET / HTTP/1.0\r\n" + host + "Connection: Keep-Alive\r\n\r\n")).keep_alive);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\n" + host + "Connection: close, Content-Length\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\n" + host + "Connection: host\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\n" + host + "Connection: transfer-encoding\r\n\r\n")) == 400);
  CHECK(refused_with(in_tunnel("GET / HTTP/1.1\r\n" + host + "Connection: a b\r\n\r\n")) == 400);

  CHECK(accepted(in_tunnel("POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nExpect: 100-Continue\r\n\r\n"))
            .expect_continue);
  CHECK(refused_with(in_tunnel("POST / HTTP/1.1\r\n" + host + "Expect: something\r\n\r\n")) == 417);

  const RequestHead ws = accepted(in_tunnel("GET /backend-api/codex/responses HTTP/1.1\r\n" + host +
                                            "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                                            "Authorization: Bearer d\r\n\r\n"));
  CHECK(ws.websocket_upgrade);
  CHECK(bottle::forwarded_fields(ws) == std::vector<HttpField>{{"Host", "api.example.test"},
                                                               {"Upgrade", "websocket"},
                                                               {"Authorization", "Bearer d"},
                                                               {"Connection", "Upgrade"}});
  CHECK_FALSE(accepted(in_tunnel("GET / HTTP/1.1\r\n" + host + "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n"))
                  .websocket_upgrade);
  CHECK_FALSE(accepted(in_tunnel("POST / HTTP/1.1\r\n" + host +
                                 "Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 1\r\n\r\n"))
                  .websocket_upgrade);
}

TEST_CASE("http request: forwarded_fields drops hop-by-hop fields and the agent's proxy credentials", "[egress-http]") {
  const RequestHead head = accepted(
      in_tunnel("POST / HTTP/1.1\r\nHost: api.example.test\r\nConnection: keep-alive, X-Secret-Hop\r\nKeep-Alive: 5\r\n"
                "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nProxy-Authorization: Basic eA==\r\n"
                "Upgrade: h2c\r\nX-Secret-Hop: 1\r\nTransfer-Encoding: chunked\r\nAccept: */*\r\n\r\n"));
  CHECK(bottle::forwarded_fields(head) == std::vector<HttpField>{{"Host", "api.example.test"}, {"Accept", "*/*"}});
}

TEST_CASE("http request: parse_authority", "[egress-http]") {
  CHECK(bottle::parse_authority("Example.COM", 443) == Authority{"example.com", 443, false});
  CHECK(bottle::parse_authority("example.com:8443", 443) == Authority{"example.com", 8443, false});
  CHECK(bottle::parse_authority("10.0.0.1:80", 0) == Authority{"10.0.0.1", 80, true});
  CHECK(bottle::parse_authority("[::1]:443", 0) == Authority{"[::1]", 443, true});
  CHECK(bottle::parse_authority("[FE80::1]", 443) == Authority{"[fe80::1]", 443, true});
  for (const char* bad : {"",
                          ":443",
                          "example.com:",
                          "example.com:0",
                          "example.com:65536",
                          "example.com:0443",
                          "example.com:44a",
                          "user@example.com",
                          "exa%6dple.com",
                          "example..com",
                          ".example.com",
                          "[::1",
                          "[::1]x",
                          "[zz::1]:443",
                          "1.2.3",
                          "01.2.3.4",
                          "256.1.1.1",
                          "1.2.3.4.5",
                          "example.com:443:1",
                          "exa mple.com"})
    CHECK_FALSE(bottle::parse_authority(bad, 443));
  CHECK_FALSE(bottle::parse_authority("example.com", 0));
  CHECK_FALSE(bottle::parse_authority(std::string(254, 'a'), 443));
}

namespace {

struct Decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  int refusal = 0;
};

// Feeds `input` to a fresh decoder `step` bytes at a time (to cross every boundary).
Decoded decode(std::string_view input, std::size_t step, const HttpLimits& limits = {}) {
  ChunkedDecoder decoder(limits);
  Decoded out;
  for (std::size_t at = 0; at < input.size() && !decoder.done(); at += step) {
    const std::string_view piece = input.substr(at, step);
    const ChunkedDecoder::Step result = decoder.feed(piece, out.body);
    out.consumed += result.consumed;
    if (result.refusal) {
      out.refusal = result.refusal->status;
      return out;
    }
    if (result.consumed < piece.size()) break;
  }
  out.done = decoder.done();
  return out;
}

}  // namespace

TEST_CASE("http request: chunked bodies decode in any split, and stop at the message end", "[egress-http]") {
  const std::string message = "5\r\nhello\r\n7;ext=\"a b\"\r\n, world\r\nA\r\n0123456789\r\n0\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, message.size()}) {
    const Decoded d = decode(message + "GET / HTTP/1.1\r\n", step);
    CHECK(d.done);
    CHECK(d.refusal == 0);
    CHECK(d.body == "hello, world0123456789");
    CHECK(d.consumed == message.size());
  }
}

TEST_CASE("http request: malformed chunked bodies are refused", "[egress-http]") {
  const HttpLimits limits{.max_chunk_line_bytes = 16};
  for (const char* bad : {"5\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "5\r\nhello\n0\r\n\r\n", "\r\n",
                          "-5\r\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n", "5 x\r\nhello\r\n0\r\n\r\n",
                          "11111111111111111\r\n", "5;aaaaaaaaaaaaaaaaaaaa\r\nhello\r\n0\r\n\r\n",
                          "0\r\nX-Trailer: 1\r\n\r\n", "0\r\n\n", "5\rx\r\nhello\r\n0\r\n\r\n"}) {
    INFO(bad);
    CHECK(decode(bad, 1, limits).refusal == 400);
    CHECK(decode(bad, 64, limits).refusal == 400);
  }
  // A decoder that refused keeps refusing.
  ChunkedDecoder decoder(limits);
  std::string body;
  CHECK(decoder.feed("zz\r\n", body).refusal);
  CHECK(decoder.feed("0\r\n\r\n", body).refusal);
  CHECK_FALSE(decoder.done());
}
