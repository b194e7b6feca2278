// The token broker inside bottle-egress: a request a broker route handles is
// answered by that route's TokenBroker and never forwarded, as the Python addon's
// _broker does. TokenBroker blocks (a flock, an upstream POST), so it runs on the
// broker thread while the loop goes on serving; the new dummies of its answer are
// added to the route on the loop thread, before the answer reaches the agent.
#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "bottle/core/error.hpp"
#include "bottle/egress/broker_request.hpp"
#include "bottle/egress/proxy_messages.hpp"
#include "bottle/egress/response_framer.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

asio::awaitable<UpstreamTokenReply> post_token_async(UpstreamPath way, Authority authority, std::string path,
                                                     std::string body) {
  std::unique_ptr<Conn> upstream;
  try {
    upstream = co_await open_upstream(way, authority, true);
  } catch (const UpstreamRefused& e) { throw std::runtime_error(e.reason); }
  // One deadline for the whole exchange: a token endpoint that stalls must not hold
  // the agent's refresh (and the host file's lock) for long.
  upstream->expires_after(way.options.timeouts.connect);
  // Built outside the co_await: GCC 12 mishandles a conditional's temporaries inside one.
  std::string host = authority.host;
  if (authority.port != 443) host = authority.text();
  const std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      path, host, body.size(), body);
  co_await upstream->write(request);
  ResponseFramer framer(false, way.options.limits.max_head_bytes);
  UpstreamTokenReply reply;
  std::string raw;
  while (!framer.done()) {
    raw.clear();
    if (co_await upstream->read_some(raw) == 0) {
      if (framer.end_of_stream()) break;
      throw std::runtime_error("the token endpoint closed the connection early");
    }
    if (!framer.feed(raw, reply.body)) throw std::runtime_error("malformed answer from the token endpoint");
    if (reply.body.size() > (std::size_t{1} << 20))
      throw std::runtime_error("the token endpoint's answer is too large");
  }
  reply.status = framer.head()->status;
  co_return reply;
}

}  // namespace

UpstreamTokenReply post_token(const UpstreamPath& way, const std::string& url, const std::string& json_body) {
  constexpr std::string_view scheme = "https://";
  if (!url.starts_with(scheme)) throw std::runtime_error("the token URL is not https");
  const std::string rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  const auto authority = parse_authority(rest.substr(0, slash), 443);
  if (!authority) throw std::runtime_error("the token URL has no valid host");
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  // The broker thread's own loop: this call blocks that thread only.
  asio::io_context io(1);
  std::optional<UpstreamTokenReply> reply;
  std::exception_ptr failed;
  asio::co_spawn(io, post_token_async(way, *authority, path, json_body),
                 [&](const std::exception_ptr& e, UpstreamTokenReply r) {
                   if (e) failed = e;
                   else reply = std::move(r);
                 });
  io.run();
  if (failed) std::rethrow_exception(failed);
  if (!reply) throw std::runtime_error("no answer from the token endpoint");
  return *reply;
}

void BrokerRoutes::remember(ProxyState& state, std::size_t index, const BrokerAnswer& answer) {
  SwapRoute& route = state.routes.at(index);
  const auto persist = [&](const std::string& dummy, bool guarded) {
    try {
      if (store) store->add(route.name, dummy, guarded);
    } catch (const Error& e) {
      // Kept in memory all the same: this egress still swaps it; a restart would not.
      log_event("broker_state_failed", {{"route", route.name}, {"reason", e.what()}});
    }
  };
  if (!answer.new_dummy.empty() && !contains(route.dummies, answer.new_dummy)) {
    route.dummies.push_back(answer.new_dummy);
    persist(answer.new_dummy, false);
  }
  for (const std::string& dummy : answer.new_guarded)
    if (dummy.size() >= 8 && !contains(route.dummies, dummy) && !contains(route.guarded, dummy)) {
      route.guarded.push_back(dummy);
      persist(dummy, true);
    }
}

void BrokerRoutes::restore(ProxyState& state) {
  for (SwapRoute& route : state.routes) {
    for (const std::string& dummy : store->get(route.name))
      if (!contains(route.dummies, dummy)) route.dummies.push_back(dummy);
    for (const std::string& dummy : store->get(route.name, true))
      if (dummy.size() >= 8 && !contains(route.dummies, dummy) && !contains(route.guarded, dummy))
        route.guarded.push_back(dummy);
  }
}

asio::awaitable<std::optional<bool>> answer_broker(ProxyState& state, Conn& client, const RequestHead& head,
                                                   const std::string& body, bool https, ExchangeAudit& audit) {
  const std::string path = head.path;
  std::size_t index = 0;
  for (; index < state.entries.size(); ++index)
    if (state.entries[index].broker && broker_handles(*state.entries[index].broker, head.authority.host, path)) break;
  if (index == state.entries.size()) co_return std::nullopt;
  const EgressRouteEntry& entry = state.entries[index];

  // A token request egress answers must come over TLS to the token host it names.
  const auto host_field = head.field("Host");
  const auto claimed = host_field ? parse_authority(*host_field, head.authority.port) : std::nullopt;
  if (!https || (host_field && (!claimed || !entry.swap.token_hosts.contains(claimed->host)))) {
    log_event("blocked", {{"host", head.authority.host},
                          {"route", entry.swap.name},
                          {"reason", "token request not over https to its host"}});
    audit.decide("blocked", "token request not over https to its host", entry.swap.name);
    audit.set_status(403);
    audit.finish();
    co_await client.write(refusal_response(
        403, "blocked by bottle egress: token request for " + entry.swap.name + " to " + head.authority.host));
    co_return false;
  }

  TokenBroker& broker = *state.brokers.brokers.at(index);
  const std::string content_type(head.field("Content-Type").value_or(""));
  // The broker thread answers, then wakes this coroutine through its own executor;
  // this frame (and what the task refers to) lives until then.
  BrokerAnswer answer;
  asio::steady_timer answered(co_await asio::this_coro::executor, std::chrono::steady_clock::time_point::max());
  asio::post(state.brokers.thread, [&] {
    try {
      answer = broker.answer(head.method, path, body, content_type);
    } catch (const std::exception&) {
      // Its text may quote anything: the log gets a fixed reason.
      answer = BrokerAnswer{.status = 503,
                            .body_json = R"({"error":{"code":"temporarily_unavailable",)"
                                         R"("message":"bottle token broker is temporarily unable to refresh"}})",
                            .event = "transient",
                            .reason = "broker failed"};
    }
    asio::post(answered.get_executor(), [&] { answered.cancel(); });
  });
  boost::system::error_code ec;
  co_await answered.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  state.brokers.remember(state, index, answer);

  std::vector<std::pair<std::string, std::string>> fields = {{"host", head.authority.host},
                                                             {"route", entry.swap.name},
                                                             {"status", std::to_string(answer.status)},
                                                             {"result", answer.event}};
  if (!answer.reason.empty()) fields.emplace_back("reason", answer.reason);
  log_event("broker", fields);
  audit.decide("broker", answer.event, entry.swap.name);
  audit.set_status(answer.status);
  audit.add_bytes_down(answer.body_json.size());
  co_await client.write(fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: {}\r\n{}\r\n{}",
      answer.status, status_reason(answer.status), answer.body_json.size(),
      head.keep_alive ? "" : "Connection: close\r\n", answer.body_json));
  audit.finish();
  co_return head.keep_alive;
}

}  // namespace bottle::egress_proxy
