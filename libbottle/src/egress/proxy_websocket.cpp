// A WebSocket after its 101: frames relayed both ways until either side ends. The
// agent's frames are read whole (WsReader) and each message is checked like a
// request body before it goes upstream: a dummy bound for a host it is not bound to
// closes the connection (the addon's websocket_message kills the flow). When the
// upgrade request was injected, the upstream's messages go through the reverse swap;
// otherwise its bytes pass as they come. A swapped message is whole before it is
// scanned (a value may straddle fragments) and goes on as one frame: RFC 6455 §5.4
// lets an intermediary change a message's fragmentation when no extension is in
// use, and egress strips Sec-WebSocket-Extensions from every upgrade.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "bottle/egress/credential_swap.hpp"
#include "bottle/egress/reflect_scrub.hpp"
#include "bottle/egress/websocket_frames.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

struct WsRelay {
  ProxyState& state;
  Conn& client;
  Conn& upstream;
  const RequestHead& head;
  std::optional<std::string> host_header;
  const ReflectScrubber* scrubber;  ///< nullptr: the upgrade was not injected
  ExchangeAudit& audit;
  bool blocked = false;

  void end() {
    client.close();
    upstream.close();
  }
};

// The block decision when a client message carries a dummy to a host it is not bound to.
std::optional<SwapDecision> leaked(const WsRelay& relay, const std::string& payload) {
  SwapDecision decision = check_and_swap(
      relay.state.routes,
      {.is_connect = false,
       .https = true,
       .host = relay.head.authority.host,
       .host_header = relay.host_header,
       .haystacks = {payload}},
      [](const SwapRoute&) -> std::string { throw ValueUnavailable("nothing is swapped in a message"); });
  if (decision.action == SwapDecision::Action::block) return decision;
  return std::nullopt;
}

asio::awaitable<void> client_to_upstream(WsRelay& relay, std::string data) {
  WsReader reader(WsReader::Sender::client, relay.state.options.max_request_body_bytes);
  try {
    while (true) {
      if (!data.empty()) {
        const WsReader::Step step = reader.feed(data);
        data.clear();
        for (const WsMessage& message : step.messages) {
          if (const auto decision = leaked(relay, message.payload)) {
            log_event("blocked", {{"host", relay.head.authority.host},
                                  {"route", decision->route},
                                  {"reason", "dummy in a websocket message to unbound host"}});
            relay.audit.decide("blocked", "dummy in a websocket message to unbound host", decision->route);
            relay.audit.finish();
            relay.blocked = true;
            relay.end();
            co_return;
          }
          relay.upstream.expires_after(relay.state.options.timeouts.upstream_idle);
          co_await relay.upstream.write(message.raw);
        }
        if (step.error) {
          log_event("refused", {{"host", relay.head.authority.host}, {"reason", "websocket: " + *step.error}});
          break;
        }
      }
      relay.client.expires_after(relay.state.options.timeouts.upstream_idle);
      if (co_await relay.client.read_some(data) == 0) break;
    }
  } catch (const boost::system::system_error&) {
    // Either side went away, or the other direction ended the relay.
  }
  relay.end();
}

asio::awaitable<void> upstream_to_client(WsRelay& relay, std::string data) {
  std::optional<WsReader> reader;
  if (relay.scrubber != nullptr) reader.emplace(WsReader::Sender::server, relay.state.options.max_request_body_bytes);
  try {
    while (true) {
      if (!data.empty()) {
        relay.audit.add_bytes_down(data.size());
        relay.client.expires_after(relay.state.options.timeouts.upstream_idle);
        if (!reader) {
          co_await relay.client.write(data);
        } else {
          const WsReader::Step step = reader->feed(data);
          for (const WsMessage& message : step.messages)
            co_await relay.client.write(
                ws_encode(message.opcode, relay.scrubber->replace(message.payload).out, std::nullopt));
          if (step.error) {
            log_event("upstream_failed",
                      {{"host", relay.head.authority.host}, {"reason", "websocket: " + *step.error}});
            break;
          }
        }
        data.clear();
      }
      relay.upstream.expires_after(relay.state.options.timeouts.upstream_idle);
      if (co_await relay.upstream.read_some(data) == 0) break;
    }
  } catch (const boost::system::system_error&) {
    // Either side went away, or the other direction ended the relay.
  }
  relay.end();
}

}  // namespace

asio::awaitable<void> relay_websocket(ProxyState& state, Conn& client, Conn& upstream, std::string from_client,
                                      std::string from_upstream, const RequestHead& head,
                                      std::optional<std::string> host_header, const ReflectScrubber* scrubber,
                                      ExchangeAudit& audit) {
  using namespace asio::experimental::awaitable_operators;
  WsRelay relay{state, client, upstream, head, std::move(host_header), scrubber, audit};
  co_await (client_to_upstream(relay, std::move(from_client)) && upstream_to_client(relay, std::move(from_upstream)));
  if (!relay.blocked) audit.finish();
}

}  // namespace bottle::egress_proxy
