#include "bottle/egress/credential_swap.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii_text.hpp"

namespace bottle {

namespace {

bool contains_any(const std::vector<std::string>& haystacks, const std::vector<std::string>& needles) {
  for (const std::string& needle : needles)
    for (const std::string& haystack : haystacks)
      if (haystack.find(needle) != std::string::npos) return true;
  return false;
}

bool all_in(const std::set<std::string>& hosts, const std::set<std::string>& allowed) {
  return std::includes(allowed.begin(), allowed.end(), hosts.begin(), hosts.end());
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

std::set<std::string> united(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out = a;
  out.insert(b.begin(), b.end());
  return out;
}

// A dummy of the route goes somewhere it does not belong: access dummies belong to
// the route's hosts, guarded ones to its hosts and its token hosts.
bool leaks(const SwapRoute& route, const std::vector<std::string>& haystacks, const std::set<std::string>& hosts) {
  if (!all_in(hosts, route.hosts) && contains_any(haystacks, route.dummies)) return true;
  return !all_in(hosts, united(route.hosts, route.token_hosts)) && contains_any(haystacks, route.guarded);
}

// The destination or Host naming a host that is not the route's own (the smallest,
// so the message does not depend on order).
std::string foreign_host(const SwapRoute& route, const std::set<std::string>& hosts) {
  std::set<std::string> foreign = minus(minus(hosts, route.hosts), route.token_hosts);
  if (foreign.empty()) foreign = minus(hosts, route.hosts);
  return foreign.empty() ? std::string() : *foreign.begin();
}

std::vector<std::string> longest_first(std::vector<std::string> dummies) {
  std::stable_sort(dummies.begin(), dummies.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return dummies;
}

SwapDecision block(int status, const SwapRoute& route, std::string reason, std::string message, std::string host = "") {
  SwapDecision decision;
  decision.action = SwapDecision::Action::block;
  decision.status = status;
  decision.route = route.name;
  decision.reason = std::move(reason);
  decision.message = std::move(message);
  decision.blocked_host = std::move(host);
  return decision;
}

}  // namespace

std::vector<std::string> request_haystacks(std::string_view target, const std::vector<HttpField>& fields,
                                           std::string_view body) {
  std::vector<std::string> out = {std::string(target), percent_decode(target, false)};
  for (const HttpField& field : fields) out.push_back(field.name + '\0' + field.value);
  if (!body.empty()) out.emplace_back(body);
  return out;
}

SwapDecision check_and_swap(const std::vector<SwapRoute>& routes, const SwapRequest& request,
                            const RealValueSource& real_value) {
  std::set<std::string> hosts = {request.host};
  if (request.host_header) hosts.insert(*request.host_header);

  std::vector<std::size_t> present;
  for (std::size_t i = 0; i < routes.size(); ++i)
    if (contains_any(request.haystacks, routes[i].dummies) || contains_any(request.haystacks, routes[i].guarded))
      present.push_back(i);

  SwapDecision decision;
  decision.fields = request.fields;
  if (present.empty()) return decision;

  for (std::size_t i : present)
    if (leaks(routes[i], request.haystacks, hosts)) {
      const std::string host = foreign_host(routes[i], hosts);
      return block(403, routes[i], "dummy sent to unbound host",
                   fmt::format("blocked by bottle egress: credential for {} sent to {}", routes[i].name, host), host);
    }
  if (request.is_connect || !request.https) {
    const SwapRoute& route = routes[present.front()];
    const std::string where = request.is_connect ? "CONNECT" : "plain http";
    return block(
        403, route, "dummy in " + where,
        fmt::format("blocked by bottle egress: credential for {} sent to {} in {}", route.name, request.host, where),
        request.host);
  }

  for (std::size_t i : present) {
    const SwapRoute& route = routes[i];
    const std::vector<std::string> dummies = longest_first(route.dummies);
    std::string sent;
    for (const std::string& dummy : dummies) {
      const bool in_header = std::any_of(decision.fields.begin(), decision.fields.end(), [&](const HttpField& f) {
        return field_name_is(f.name, route.header) && f.value.find(dummy) != std::string::npos;
      });
      if (in_header) {
        sent = dummy;
        break;
      }
    }
    if (sent.empty()) continue;  // the dummy is elsewhere (a body): harmless on its own host

    std::string real;
    try {
      real = real_value(route);
    } catch (const ValueUnavailable& e) {
      return block(502, route, "credential unavailable",
                   fmt::format("bottle egress: the credential for {} is unavailable: {}", route.name, e.what()));
    }
    for (HttpField& field : decision.fields)
      if (field_name_is(field.name, route.header))
        for (const std::string& dummy : dummies) field.value = replace_all(field.value, dummy, real);
    decision.injected.push_back({i, std::move(real), std::move(sent)});
  }
  if (!decision.injected.empty()) {
    // The answer is scanned for the real values (the reverse swap); a compressed body
    // could not be scanned as it streams.
    std::vector<HttpField> fields;
    bool set = false;
    for (HttpField& field : decision.fields) {
      if (!field_name_is(field.name, "Accept-Encoding")) fields.push_back(std::move(field));
      else if (!set) fields.push_back({std::move(field.name), "identity"}), set = true;
    }
    if (!set) fields.push_back({"Accept-Encoding", "identity"});
    decision.fields = std::move(fields);
    std::string names;
    for (const Injection& injection : decision.injected)
      names += (names.empty() ? "" : ",") + routes[injection.route].name;
    decision.route = names;
    decision.reason = "credential swapped";
  }
  return decision;
}

}  // namespace bottle
