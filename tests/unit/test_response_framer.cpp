// How bottle-egress reads an upstream's response: the head first, body bytes as they
// arrive (never the whole body at once), each framing, and malformed or cut-short
// responses refused.
#include <catch2/catch.hpp>

#include <string>

#include "bottle/egress/response_framer.hpp"

using bottle::ResponseFramer;
using Framing = bottle::ResponseHead::Framing;

TEST_CASE("response framer: a chunked body comes out piece by piece as it arrives", "[native-egress]") {
  ResponseFramer framer(false, 8192);
  std::string body;
  REQUIRE(framer.feed("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-", body));
  CHECK_FALSE(framer.head());
  REQUIRE(framer.feed("Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n", body));
  REQUIRE(framer.head());
  CHECK(framer.head()->status == 200);
  CHECK(framer.head()->reason == "OK");
  CHECK(framer.head()->framing == Framing::chunked);
  CHECK(framer.head()->fields.size() == 2);
  CHECK(body == "data: 1\n\n");  // the first event, before the message ends
  CHECK_FALSE(framer.done());
  body.clear();
  REQUIRE(framer.feed("9\r\ndata: 2\n\n\r\n0\r\nX-Trailer: t\r\n\r\n", body));
  CHECK(body == "data: 2\n\n");
  CHECK(framer.done());
  CHECK(framer.head()->fields.size() == 2);  // the trailer is not a header
  CHECK(framer.head()->keep_alive);
  CHECK(framer.leftover().empty());
}

TEST_CASE("response framer: Content-Length, no body, HEAD, and a body ended by close", "[native-egress]") {
  std::string body;
  ResponseFramer sized(false, 8192);
  REQUIRE(sized.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", body));
  CHECK(sized.done());
  CHECK(sized.head()->framing == Framing::content_length);
  CHECK(sized.head()->content_length == 5);
  CHECK(body == "hello");
  CHECK(sized.leftover() == "EXTRA");

  body.clear();
  ResponseFramer empty(false, 8192);
  REQUIRE(empty.feed("HTTP/1.1 204 No Content\r\n\r\n", body));
  CHECK(empty.done());
  CHECK(empty.head()->framing == Framing::none);

  ResponseFramer head(true, 8192);
  REQUIRE(head.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", body));
  CHECK(head.done());
  CHECK(head.head()->framing == Framing::none);
  CHECK(body.empty());

  ResponseFramer until_close(false, 8192);
  REQUIRE(until_close.feed("HTTP/1.1 200 OK\r\n\r\npart", body));
  CHECK(until_close.head()->framing == Framing::until_close);
  CHECK_FALSE(until_close.head()->keep_alive);
  CHECK(body == "part");
  CHECK(until_close.end_of_stream());
  CHECK(until_close.done());
}

TEST_CASE("response framer: malformed and truncated responses are refused", "[native-egress]") {
  std::string body;
  ResponseFramer bad(false, 8192);
  CHECK_FALSE(bad.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", body));
  CHECK_FALSE(bad.error().empty());

  ResponseFramer too_big(false, 64);
  CHECK_FALSE(too_big.feed("HTTP/1.1 200 OK\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n", body));

  ResponseFramer cut(false, 8192);
  REQUIRE(cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", body));
  CHECK_FALSE(cut.end_of_stream());  // 6 bytes short: not a whole response

  ResponseFramer cut_chunked(false, 8192);
  REQUIRE(cut_chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", body));
  CHECK_FALSE(cut_chunked.end_of_stream());

  ResponseFramer no_head(false, 8192);
  REQUIRE(no_head.feed("HTTP/1.1 2", body));
  CHECK_FALSE(no_head.end_of_stream());
}
