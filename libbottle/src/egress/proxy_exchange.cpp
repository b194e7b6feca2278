// One request relayed: the agent's body read whole (a dummy in it must be seen
// before anything is forwarded), the credential decision, the upstream request, and
// the response streamed back piece by piece through the reverse swap.
#include <algorithm>
#include <map>
#include <optional>

#include "bottle/egress/content_decoder.hpp"
#include "bottle/egress/credential_swap.hpp"
#include "bottle/egress/proxy_messages.hpp"
#include "bottle/egress/reflect_scrub.hpp"
#include "bottle/egress/response_framer.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

// Read the request body off the agent's connection. nullopt: the connection is done
// (the refusal, if any, is in `refusal`).
asio::awaitable<std::optional<std::string>> read_body(ProxyState& state, Conn& client, std::string& buffered,
                                                      const RequestHead& head, std::optional<HttpRefusal>& refusal) {
  const ProxyOptions& options = state.options;
  std::string body;
  if (head.framing == BodyFraming::none) co_return body;
  if (head.expect_continue && buffered.empty()) co_await client.write("HTTP/1.1 100 Continue\r\n\r\n");
  client.expires_after(options.timeouts.idle);
  if (head.framing == BodyFraming::content_length) {
    if (head.content_length > options.max_request_body_bytes) {
      refusal = HttpRefusal{413, "request body too large"};
      co_return std::nullopt;
    }
    while (buffered.size() < head.content_length)
      if (co_await client.read_some(buffered) == 0) co_return std::nullopt;
    body = buffered.substr(0, head.content_length);
    buffered.erase(0, head.content_length);
    co_return body;
  }
  ChunkedDecoder decoder(options.limits);
  while (true) {
    const ChunkedDecoder::Step step = decoder.feed(buffered, body);
    buffered.erase(0, step.consumed);
    if (step.refusal) {
      refusal = step.refusal;
      co_return std::nullopt;
    }
    // The size first: the bytes past the cap may come in the same read as the end.
    if (body.size() > options.max_request_body_bytes) {
      refusal = HttpRefusal{413, "request body too large"};
      co_return std::nullopt;
    }
    if (decoder.done()) co_return body;
    client.expires_after(options.timeouts.idle);
    if (co_await client.read_some(buffered) == 0) co_return std::nullopt;
  }
}

std::optional<std::string> host_field_host(const RequestHead& head) {
  const auto value = head.field("Host");
  if (!value) return std::nullopt;
  const auto authority = parse_authority(*value, head.authority.port);
  return authority ? std::optional<std::string>(authority->host) : std::nullopt;
}

bool has_body_method(std::string_view method) { return method == "POST" || method == "PUT" || method == "PATCH"; }

// The response's Content-Encoding, unless it is none or identity.
std::optional<std::string> content_encoding(const ResponseHead& response) {
  for (const HttpField& field : response.fields)
    if (field_name_is(field.name, "Content-Encoding") && !field.value.empty() && field.value != "identity")
      return field.value;
  return std::nullopt;
}

struct Sent {
  std::unique_ptr<ResponseFramer> framer;
  std::string body;  ///< body bytes decoded with the head
  std::optional<UpstreamRefused> refused;
};

// Send the request and read until the final response's head. A kept-alive upstream
// connection the server closed meanwhile fails before any response byte: the request
// is then sent once more on a new connection.
asio::awaitable<Sent> send_upstream(ProxyState& state, const RequestHead& head, bool https, const std::string& request,
                                    std::unique_ptr<Conn>& upstream, Authority& upstream_authority) {
  Sent sent;
  bool reused = upstream != nullptr && upstream_authority == head.authority;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!reused) {
      upstream.reset();
      try {
        upstream = co_await open_upstream(state.upstream_path(), head.authority, https);
      } catch (const UpstreamRefused& e) { sent.refused = e; }
      if (sent.refused) co_return sent;
      upstream_authority = head.authority;
    }
    sent.framer = std::make_unique<ResponseFramer>(head.method == "HEAD", state.options.limits.max_head_bytes);
    sent.body.clear();
    bool got_bytes = false;
    bool failed = false;
    bool timed_out = false;
    try {
      upstream->expires_after(state.options.timeouts.upstream_idle);
      co_await upstream->write(request);
      std::string raw;
      // A 101 to a WebSocket upgrade is final: the frames follow it.
      const auto interim = [&] {
        const int status = sent.framer->head()->status;
        return status / 100 == 1 && !(status == 101 && head.websocket_upgrade);
      };
      while (!sent.framer->head() || interim()) {
        if (sent.framer->head()) {
          // An interim response (100 Continue): egress already answered the agent's
          // Expect itself; the final response follows.
          std::string rest = sent.framer->leftover();
          sent.framer = std::make_unique<ResponseFramer>(head.method == "HEAD", state.options.limits.max_head_bytes);
          if (!sent.framer->feed(rest, sent.body)) break;
          continue;
        }
        raw.clear();
        if (co_await upstream->read_some(raw) == 0) {
          failed = true;
          break;
        }
        got_bytes = true;
        if (!sent.framer->feed(raw, sent.body)) break;
      }
    } catch (const boost::system::system_error&) {
      failed = true;
      timed_out = upstream->timed_out();
    }
    if (failed && reused && !got_bytes && !timed_out) {
      reused = false;
      continue;
    }
    if (failed || !sent.framer->head()) {
      upstream.reset();
      sent.refused = UpstreamRefused{502, timed_out ? "the upstream " + head.authority.host + " did not answer in time"
                                          : failed  ? "the upstream " + head.authority.host + " closed the connection"
                                                    : "malformed response from " + head.authority.host};
    }
    co_return sent;
  }
  co_return sent;
}

// One log line per route and encoding of the reverse swaps in one place of an
// answer ("header" or "body"): where and how a real value came back, never the value.
void log_reflected(const std::string& host, std::string_view where, const ReflectScrubber& scrubber,
                   const std::vector<std::size_t>& hits) {
  std::map<std::pair<std::string, std::string>, std::size_t> counts;
  for (const std::size_t hit : hits) ++counts[{scrubber.needles().at(hit).route, scrubber.needles().at(hit).encoding}];
  for (const auto& [key, count] : counts)
    log_event("reflected", {{"host", host},
                            {"route", key.first},
                            {"where", std::string(where)},
                            {"encoding", key.second},
                            {"count", std::to_string(count)}});
}

// The reverse-swap scrubber of a request's injections. Building one (every encoded
// form of every value) costs more than relaying a small request, so it is kept
// while the real values and dummies stay the same.
std::shared_ptr<const ReflectScrubber> scrubber_for(ProxyState& state, const std::vector<Injection>& injected) {
  std::string key;
  for (const Injection& injection : injected)
    key.append(std::to_string(injection.route))
        .append(1, '\0')
        .append(injection.real)
        .append(1, '\0')
        .append(injection.dummy)
        .append(1, '\0');
  if (const auto kept = state.scrubbers.find(key); kept != state.scrubbers.end()) return kept->second;
  std::vector<ReflectNeedle> needles;
  for (const Injection& injection : injected)
    for (ReflectNeedle& needle : reflect_needles(injection.real, injection.dummy)) {
      needle.route = state.routes.at(injection.route).name;
      needles.push_back(std::move(needle));
    }
  // Old values are never needed again once a host file changed: a small bound suffices.
  if (state.scrubbers.size() >= 64) state.scrubbers.clear();
  auto scrubber = std::make_shared<const ReflectScrubber>(std::move(needles));
  state.scrubbers.emplace(std::move(key), scrubber);
  return scrubber;
}

}  // namespace

asio::awaitable<bool> relay_exchange(ProxyState& state, Conn& client, std::string& buffered, const RequestHead& head,
                                     bool https, std::unique_ptr<Conn>& upstream, Authority& upstream_authority) {
  ExchangeAudit audit(state, head);
  std::optional<HttpRefusal> refusal;
  const std::optional<std::string> body = co_await read_body(state, client, buffered, head, refusal);
  if (!body && !refusal) co_return false;
  if (body) audit.set_bytes_up(body->size());
  if (!refusal)
    if (const auto brokered = co_await answer_broker(state, client, head, *body, https, audit)) co_return *brokered;
  if (refusal) {
    log_event(
        "refused",
        {{"host", head.authority.host}, {"status", std::to_string(refusal->status)}, {"reason", refusal->reason}});
    audit.decide("blocked", refusal->reason, "");
    audit.set_status(refusal->status);
    audit.finish();
    co_await client.write(refusal_response(refusal->status, "bottle egress: " + refusal->reason));
    co_return false;
  }

  const SwapDecision decision = check_and_swap(
      state.routes,
      {.is_connect = false,
       .https = https,
       .host = head.authority.host,
       .host_header = host_field_host(head),
       .fields = head.fields,
       .haystacks = request_haystacks(head.target, head.fields, *body)},
      [&](const SwapRoute& route) { return read_real(state, static_cast<std::size_t>(&route - state.routes.data())); });
  if (decision.action == SwapDecision::Action::block) {
    log_event("blocked", {{"host", decision.blocked_host.empty() ? head.authority.host : decision.blocked_host},
                          {"route", decision.route},
                          {"reason", decision.reason}});
    audit.decide("blocked", decision.reason, decision.route);
    audit.set_status(decision.status);
    audit.finish();
    co_await client.write(refusal_response(decision.status, decision.message));
    co_return false;
  }

  if (!decision.injected.empty()) {
    std::string routes;
    for (const Injection& injection : decision.injected)
      routes += (routes.empty() ? "" : ",") + state.routes.at(injection.route).name;
    audit.decide("injected", "credential swapped", routes);
  }

  RequestHead swapped = head;
  swapped.fields = decision.fields;
  // Frames are read strictly, uncompressed: a deflated message would hide a dummy.
  if (head.websocket_upgrade)
    std::erase_if(swapped.fields,
                  [](const HttpField& field) { return field_name_is(field.name, "Sec-WebSocket-Extensions"); });
  const bool sends_length = head.framing != BodyFraming::none || has_body_method(head.method);
  const TargetForm form = !https && state.options.parent_proxy ? TargetForm::absolute : TargetForm::origin;
  const std::string request = upstream_request_head(head, forwarded_fields(swapped),
                                                    sends_length ? std::optional(body->size()) : std::nullopt, form) +
                              *body;

  Sent sent = co_await send_upstream(state, head, https, request, upstream, upstream_authority);
  if (sent.refused) {
    log_event("upstream_failed", {{"host", head.authority.host}, {"reason", sent.refused->reason}});
    // The reason the Python addon records for the same refusal.
    audit.interrupted(sent.refused->reason.ends_with(" is not a public address") ? "not a public address"
                                                                                 : sent.refused->reason);
    co_await client.write(refusal_response(sent.refused->status, "bottle egress: " + sent.refused->reason));
    co_return false;
  }
  ResponseFramer& framer = *sent.framer;
  const ResponseHead& response = *framer.head();
  audit.set_status(response.status);

  // The reverse swap: every form of each injected real value becomes the dummy sent.
  std::shared_ptr<const ReflectScrubber> scrubber;
  // An injected answer compressed although egress asked for identity is decoded to
  // be scanned, and passed on decoded.
  std::optional<ContentDecoder> decoder;
  if (!decision.injected.empty()) {
    scrubber = scrubber_for(state, decision.injected);
    const auto encoding = content_encoding(response);
    if (encoding) decoder = ContentDecoder::for_encoding(*encoding);
    if (encoding && !decoder) {
      upstream.reset();
      log_event("refused", {{"host", head.authority.host}, {"reason", "injected answer with Content-Encoding"}});
      audit.decide("blocked", "answer has an encoding egress cannot scan",
                   state.routes.at(decision.injected[0].route).name);
      audit.set_status(502);
      audit.finish();
      co_await client.write(refusal_response(502, "bottle egress: the answer from " + head.authority.host +
                                                      " is encoded (" + *encoding +
                                                      ") and cannot be scanned for the credential"));
      co_return false;
    }
  }
  if (head.websocket_upgrade && response.status == 101) {
    std::string switched = "HTTP/1.1 101 Switching Protocols\r\n";
    for (const HttpField& field : response.fields) {
      if (field_name_is(field.name, "Sec-WebSocket-Extensions") || field_name_is(field.name, "Content-Length") ||
          field_name_is(field.name, "Transfer-Encoding"))
        continue;
      switched += field.name + ": " + (scrubber ? scrubber->replace(field.value).out : field.value) + "\r\n";
    }
    switched += "\r\n";
    client.expires_after(state.options.timeouts.upstream_idle);
    co_await client.write(switched);
    co_await relay_websocket(state, client, *upstream, std::move(buffered), framer.leftover(), head,
                             host_field_host(head), scrubber.get(), audit);
    upstream.reset();
    co_return false;
  }
  std::vector<std::size_t> hits, header_hits;
  // The decoded answer goes on without its Content-Encoding (copied only then: this is every request's path).
  std::optional<ResponseHead> decoded_head;
  if (decoder) {
    decoded_head = response;
    std::erase_if(decoded_head->fields,
                  [](const HttpField& field) { return field_name_is(field.name, "Content-Encoding"); });
  }
  const ClientResponsePlan plan =
      client_response_head(decoded_head ? *decoded_head : response, scrubber != nullptr, head.keep_alive,
                           head.minor_version, [&](std::string_view value) {
                             if (!scrubber) return std::string(value);
                             ReflectScrubber::Result replaced = scrubber->replace(value);
                             header_hits.insert(header_hits.end(), replaced.hits.begin(), replaced.hits.end());
                             return std::move(replaced.out);
                           });
  std::optional<ReflectStream> reflect;
  if (scrubber) reflect.emplace(*scrubber);
  std::string out = plan.head;
  const auto append_framed = [&](std::string_view data) {
    if (plan.chunked) append_chunk(out, data);
    else out.append(data);
  };

  // Each piece goes to the agent as soon as it arrives (SSE stays live).
  std::string body_piece = std::move(sent.body);
  std::string raw, decoded;
  bool corrupt = false;
  while (true) {
    audit.add_bytes_down(body_piece.size());
    if (decoder) {
      decoded.clear();
      corrupt = !decoder->feed(body_piece, decoded);
      if (corrupt) break;
      body_piece.swap(decoded);
    }
    if (reflect) append_framed(reflect->feed(body_piece, hits));
    else append_framed(body_piece);
    body_piece.clear();
    if (framer.done()) break;
    if (!out.empty()) {
      client.expires_after(state.options.timeouts.upstream_idle);
      co_await client.write(out);
      out.clear();
    }
    raw.clear();
    upstream->expires_after(state.options.timeouts.upstream_idle);
    if (co_await upstream->read_some(raw) == 0) {
      if (framer.end_of_stream()) break;
      // Cut short: the agent must not take a truncated body for a whole one.
      log_event("upstream_failed", {{"host", head.authority.host}, {"reason", "response truncated"}});
      audit.interrupted("response truncated");
      upstream.reset();
      co_return false;
    }
    if (!framer.feed(raw, body_piece)) {
      log_event("upstream_failed", {{"host", head.authority.host}, {"reason", "malformed response body"}});
      audit.interrupted("malformed response body");
      upstream.reset();
      co_return false;
    }
  }
  // A compressed answer that turns corrupt, or ends early, is cut where it broke: the
  // agent gets what was scanned so far and no end of body.
  if (corrupt || (decoder && !decoder->finished())) {
    log_event("upstream_failed", {{"host", head.authority.host}, {"reason", "corrupt compressed answer"}});
    audit.interrupted("corrupt compressed answer");
    upstream.reset();
    client.expires_after(state.options.timeouts.upstream_idle);
    if (!out.empty()) co_await client.write(out);
    co_return false;
  }
  if (reflect) append_framed(reflect->finish(hits));
  if (plan.chunked) out += last_chunk;
  client.expires_after(state.options.timeouts.upstream_idle);
  co_await client.write(out);
  audit.finish();
  if (scrubber) {
    log_reflected(head.authority.host, "header", *scrubber, header_hits);
    log_reflected(head.authority.host, "body", *scrubber, hits);
  }

  if (!response.keep_alive || !framer.leftover().empty() || response.framing == ResponseHead::Framing::until_close)
    upstream.reset();
  co_return !plan.close_after && head.keep_alive;
}

}  // namespace bottle::egress_proxy
