// The bytes bottle-egress writes around an exchange (its refusals, the request head
// upstream, the response head for the agent) and where it may connect directly.
#include <catch2/catch.hpp>

#include <boost/asio/ip/address.hpp>
#include <string>
#include <variant>

#include "bottle/egress/proxy_messages.hpp"
#include "bottle/egress/public_address.hpp"

namespace {

bottle::RequestHead tunnel_request(const std::string& head) {
  const auto authority = bottle::parse_authority("api.test:443", 443);
  auto parsed = bottle::parse_request_head(head, bottle::RequestPlace::tunnel(*authority), {});
  REQUIRE(std::holds_alternative<bottle::RequestHead>(parsed));
  return std::get<bottle::RequestHead>(parsed);
}

std::string same(std::string_view value) { return std::string(value); }

}  // namespace

TEST_CASE("proxy messages: a refusal closes the connection and names the reason", "[native-egress]") {
  CHECK(bottle::refusal_response(403, "blocked by bottle egress: credential for codex sent to evil.test") ==
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 65\r\n"
        "Connection: close\r\n\r\nblocked by bottle egress: credential for codex sent to evil.test\n");
}

TEST_CASE("proxy messages: the upstream request is re-framed with the body egress read", "[native-egress]") {
  const auto head = tunnel_request(
      "POST /v1/x?y=1 HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
      "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nAuthorization: Bearer real\r\n\r\n");
  CHECK(bottle::upstream_request_head(head, bottle::forwarded_fields(head), 4, bottle::TargetForm::origin) ==
        "POST /v1/x?y=1 HTTP/1.1\r\nHost: api.test\r\nAuthorization: Bearer real\r\nContent-Length: 4\r\n\r\n");
  const auto get = tunnel_request("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n");
  CHECK(bottle::upstream_request_head(get, bottle::forwarded_fields(get), std::nullopt, bottle::TargetForm::origin) ==
        "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n");
}

TEST_CASE("proxy messages: plain HTTP to a parent proxy names the whole URL", "[native-egress]") {
  const auto parsed = [](const std::string& head) {
    auto out = bottle::parse_request_head(head, bottle::RequestPlace::proxy(), {});
    REQUIRE(std::holds_alternative<bottle::RequestHead>(out));
    return std::get<bottle::RequestHead>(out);
  };
  const auto plain = parsed("GET http://example.test/a?b=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
  CHECK(bottle::upstream_request_head(plain, bottle::forwarded_fields(plain), std::nullopt,
                                      bottle::TargetForm::absolute) ==
        "GET http://example.test/a?b=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
  const auto other_port = parsed("GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  CHECK(bottle::upstream_request_head(other_port, bottle::forwarded_fields(other_port), std::nullopt,
                                      bottle::TargetForm::absolute) ==
        "GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
}

TEST_CASE("proxy messages: the response head for the agent", "[native-egress]") {
  using Framing = bottle::ResponseHead::Framing;
  bottle::ResponseHead response{.status = 200,
                                .reason = "OK",
                                .fields = {{"Content-Length", "5"},
                                           {"Connection", "X-Hop"},
                                           {"X-Hop", "1"},
                                           {"Keep-Alive", "timeout=5"},
                                           {"X-Echo", "real-value"}},
                                .framing = Framing::content_length,
                                .content_length = 5};
  // Untouched body: the length stays; hop-by-hop fields go.
  auto plan = bottle::client_response_head(response, false, true, 1, same);
  CHECK(plan.head == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Echo: real-value\r\n\r\n");
  CHECK_FALSE(plan.chunked);
  CHECK_FALSE(plan.close_after);
  // Rewritten body (the reverse swap may change its length): chunked, fields scrubbed.
  plan = bottle::client_response_head(response, true, true, 1, [](std::string_view v) {
    return v == "real-value" ? std::string("dummy") : std::string(v);
  });
  CHECK(plan.head == "HTTP/1.1 200 OK\r\nX-Echo: dummy\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(plan.chunked);
  // An HTTP/1.0 agent cannot read chunked: the body ends with the connection.
  plan = bottle::client_response_head(response, true, true, 0, same);
  CHECK(plan.head == "HTTP/1.1 200 OK\r\nX-Echo: real-value\r\nConnection: close\r\n\r\n");
  CHECK(plan.close_after);
  // A close-delimited upstream body ends the agent's connection too.
  response.framing = Framing::until_close;
  response.fields = {};
  plan = bottle::client_response_head(response, false, true, 1, same);
  CHECK(plan.head == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  CHECK(plan.close_after);
  // The agent asked to close: said so.
  response.framing = Framing::none;
  plan = bottle::client_response_head(response, false, false, 1, same);
  CHECK(plan.head == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");

  std::string out = "head";
  bottle::append_chunk(out, "data: 1\n\n");
  CHECK(out == "head9\r\ndata: 1\n\n\r\n");
  bottle::append_chunk(out, "");
  CHECK(out == "head9\r\ndata: 1\n\n\r\n");  // an empty chunk would end the body
}

TEST_CASE("public addresses: direct mode never connects to the host or the local network", "[native-egress]") {
  const auto is_public = [](const char* text) {
    return bottle::is_public_address(boost::asio::ip::make_address(text));
  };
  for (const char* blocked : {"0.0.0.0",         "10.1.2.3",        "100.64.0.1", "127.0.0.1",   "169.254.169.254",
                              "172.16.0.1",      "172.31.255.255",  "192.0.0.8",  "192.168.1.1", "198.18.0.1",
                              "224.0.0.1",       "255.255.255.255", "::",         "::1",         "fe80::1",
                              "fec0::1",         "fc00::1",         "fd12::1",    "ff02::1",     "::ffff:127.0.0.1",
                              "::ffff:10.0.0.1", "::127.0.0.1"}) {
    INFO(blocked);
    CHECK_FALSE(is_public(blocked));
  }
  for (const char* allowed : {"1.1.1.1", "8.8.8.8", "100.63.255.255", "172.32.0.1", "192.0.1.1", "198.20.0.1",
                              "2606:4700::1111", "::ffff:8.8.8.8"}) {
    INFO(allowed);
    CHECK(is_public(allowed));
  }
}
