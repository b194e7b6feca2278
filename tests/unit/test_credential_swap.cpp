// The credential decision bottle-egress makes per request (egress/credential_swap)
// and the real value it reads (egress/route_value): the rules of today's egress addon.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/egress/credential_swap.hpp"
#include "bottle/egress/route_value.hpp"
#include "temp_dir.hpp"

using bottle::HttpField;
using bottle::SwapDecision;
using bottle::SwapRequest;
using bottle::SwapRoute;

namespace {

const std::string codex_dummy = "eyJdummy.access.codex";
const std::string refresh_dummy = "rt_dummy_refresh_codex";

std::vector<SwapRoute> routes() {
  return {{.name = "codex",
           .hosts = {"chatgpt.com"},
           .token_hosts = {"auth.openai.com"},
           .header = "Authorization",
           .dummies = {codex_dummy},
           .guarded = {refresh_dummy}},
          {.name = "claude",
           .hosts = {"api.anthropic.com"},
           .header = "Authorization",
           .dummies = {"sk-ant-oat01-dummy", "sk-ant-oat01-dummy-minted-2"}}};
}

SwapRequest request(std::string host, std::vector<HttpField> fields, std::string body = "",
                    std::string target = "/backend-api/codex/responses") {
  SwapRequest out{.host = host, .host_header = host, .fields = std::move(fields)};
  out.haystacks = bottle::request_haystacks(target, out.fields, body);
  return out;
}

std::string real_of(const SwapRoute& route) { return "REAL-" + route.name; }

}  // namespace

TEST_CASE("credential swap: the route's dummy in its header on its host is swapped", "[egress-swap]") {
  const SwapDecision d = bottle::check_and_swap(routes(),
                                                request("chatgpt.com", {{"Host", "chatgpt.com"},
                                                                        {"authorization", "Bearer " + codex_dummy},
                                                                        {"Accept-Encoding", "gzip"},
                                                                        {"accept-encoding", "br"}}),
                                                real_of);
  CHECK(d.action == SwapDecision::Action::forward);
  CHECK(d.fields == std::vector<HttpField>{{"Host", "chatgpt.com"},
                                           {"authorization", "Bearer REAL-codex"},
                                           {"Accept-Encoding", "identity"}});
  REQUIRE(d.injected.size() == 1);
  CHECK(d.injected[0].route == 0);
  CHECK(d.injected[0].real == "REAL-codex");
  CHECK(d.injected[0].dummy == codex_dummy);
  CHECK(d.route == "codex");
  CHECK(d.reason == "credential swapped");
}

TEST_CASE("credential swap: every dummy of the route is swapped, the longest first", "[egress-swap]") {
  const SwapDecision d = bottle::check_and_swap(
      routes(), request("api.anthropic.com", {{"Authorization", "Bearer sk-ant-oat01-dummy-minted-2"}}), real_of);
  CHECK(d.fields == std::vector<HttpField>{{"Authorization", "Bearer REAL-claude"}, {"Accept-Encoding", "identity"}});
  CHECK(d.injected.at(0).dummy == "sk-ant-oat01-dummy-minted-2");
}

TEST_CASE("credential swap: a dummy going anywhere but its route's hosts is blocked", "[egress-swap]") {
  for (const auto& [where, req] : std::vector<std::pair<std::string, SwapRequest>>{
           {"header", request("evil.test", {{"Authorization", "Bearer " + codex_dummy}})},
           {"other header", request("evil.test", {{"X-Exfil", codex_dummy}})},
           {"field name", request("evil.test", {{codex_dummy, "1"}})},
           {"body", request("evil.test", {}, "{\"t\":\"" + codex_dummy + "\"}")},
           {"target", request("evil.test", {}, "", "/?t=" + codex_dummy)},
           {"percent-encoded target", request("evil.test", {}, "", "/?t=eyJdummy%2Eaccess%2Ecodex")}}) {
    INFO(where);
    const SwapDecision d = bottle::check_and_swap(routes(), req, real_of);
    CHECK(d.action == SwapDecision::Action::block);
    CHECK(d.status == 403);
    CHECK(d.route == "codex");
    CHECK(d.reason == "dummy sent to unbound host");
    CHECK(d.message == "blocked by bottle egress: credential for codex sent to evil.test");
  }
  // The destination is the route's but Host names another host.
  SwapRequest lying = request("chatgpt.com", {{"Authorization", "Bearer " + codex_dummy}});
  lying.host_header = "evil.test";
  CHECK(bottle::check_and_swap(routes(), lying, real_of).blocked_host == "evil.test");
}

TEST_CASE("credential swap: guarded dummies may go to the token hosts, access dummies may not", "[egress-swap]") {
  const SwapDecision refresh =
      bottle::check_and_swap(routes(), request("auth.openai.com", {}, "refresh_token=" + refresh_dummy), real_of);
  CHECK(refresh.action == SwapDecision::Action::forward);
  CHECK(refresh.injected.empty());
  const SwapDecision access = bottle::check_and_swap(
      routes(), request("auth.openai.com", {{"Authorization", "Bearer " + codex_dummy}}), real_of);
  CHECK(access.status == 403);
  CHECK(access.blocked_host == "auth.openai.com");
  CHECK(bottle::check_and_swap(routes(), request("evil.test", {}, refresh_dummy), real_of).status == 403);
}

TEST_CASE("credential swap: no dummy ever travels in CONNECT or plain http", "[egress-swap]") {
  SwapRequest connect = request("chatgpt.com", {{"X-Token", codex_dummy}});
  connect.is_connect = true;
  const SwapDecision c = bottle::check_and_swap(routes(), connect, real_of);
  CHECK(c.status == 403);
  CHECK(c.reason == "dummy in CONNECT");
  CHECK(c.message == "blocked by bottle egress: credential for codex sent to chatgpt.com in CONNECT");
  SwapRequest plain = request("chatgpt.com", {{"Authorization", "Bearer " + codex_dummy}});
  plain.https = false;
  CHECK(bottle::check_and_swap(routes(), plain, real_of).reason == "dummy in plain http");
}

TEST_CASE("credential swap: a dummy elsewhere on its own host is forwarded as is, and without a dummy nothing changes",
          "[egress-swap]") {
  const std::vector<HttpField> fields = {{"Host", "chatgpt.com"}, {"Accept-Encoding", "gzip"}};
  const SwapDecision body =
      bottle::check_and_swap(routes(), request("chatgpt.com", fields, "quote: " + codex_dummy), real_of);
  CHECK(body.action == SwapDecision::Action::forward);
  CHECK(body.fields == fields);
  CHECK(body.injected.empty());
  CHECK(body.route.empty());
  const SwapDecision none = bottle::check_and_swap(routes(), request("example.test", fields), real_of);
  CHECK(none.fields == fields);
}

TEST_CASE("credential swap: an unreadable real value blocks with 502 and never forwards the dummy", "[egress-swap]") {
  const SwapDecision d = bottle::check_and_swap(
      routes(), request("chatgpt.com", {{"Authorization", "Bearer " + codex_dummy}}),
      [](const SwapRoute&) -> std::string { throw bottle::ValueUnavailable("cannot read value file (No such file)"); });
  CHECK(d.action == SwapDecision::Action::block);
  CHECK(d.status == 502);
  CHECK(d.message == "bottle egress: the credential for codex is unavailable: cannot read value file (No such file)");
  CHECK(d.fields.empty());
}

TEST_CASE("route value: JSON pointers, trimming and the header-safety rules", "[egress-swap]") {
  const auto doc =
      boost::json::parse(R"({"tokens":{"access_token":"at-1","a/b":"slash","m~n":"tilde"},"l":["x","y"]})");
  CHECK(bottle::resolve_json_pointer(doc, "/tokens/access_token").as_string() == "at-1");
  CHECK(bottle::resolve_json_pointer(doc, "/tokens/a~1b").as_string() == "slash");
  CHECK(bottle::resolve_json_pointer(doc, "/tokens/m~0n").as_string() == "tilde");
  CHECK(bottle::resolve_json_pointer(doc, "/l/1").as_string() == "y");
  for (const char* bad : {"tokens", "/nope", "/l/01", "/l/2", "/l/-1", "/tokens/access_token/x"})
    CHECK_THROWS_AS(bottle::resolve_json_pointer(doc, bad), bottle::ValueUnavailable);

  CHECK(bottle::route_value_from_text("  sk-ant-x \n", "") == "sk-ant-x");
  CHECK(bottle::route_value_from_text(R"({"a":{"b":"v"}})", "/a/b") == "v");
  CHECK_THROWS_WITH(bottle::route_value_from_text("", ""), "value is empty or has control characters");
  CHECK_THROWS_WITH(bottle::route_value_from_text("a\r\nInjected: 1", ""), "value is empty or has control characters");
  CHECK_THROWS_WITH(bottle::route_value_from_text(R"({"a":"x\ny"})", "/a"), "value is empty or has control characters");
  CHECK_THROWS_WITH(bottle::route_value_from_text(R"({"a":1})", "/a"), "JSON pointer does not name a string");
  CHECK_THROWS_WITH(bottle::route_value_from_text("{", "/a"), "value file is not valid JSON");
  CHECK_THROWS_WITH(bottle::route_value_from_text("tok\xff", ""), "value file is not UTF-8");
}

TEST_CASE("route value: the file is read again when it changes, in place or by rename", "[egress-swap]") {
  TempDir dir;
  const auto path = dir.path() / "token";
  const auto write = [](const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(path, "first-value\n");
  bottle::RouteValueFile file(path, "");
  CHECK(file.read() == "first-value");
  write(path, "second-value-longer\n");  // in place (the size changes)
  CHECK(file.read() == "second-value-longer");
  write(dir.path() / "token.new", "third\n");
  std::filesystem::rename(dir.path() / "token.new", path);  // a new inode
  CHECK(file.read() == "third");
  std::filesystem::remove(path);
  CHECK_THROWS_AS(file.read(), bottle::ValueUnavailable);
}
