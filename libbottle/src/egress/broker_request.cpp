#include "bottle/egress/broker_request.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "core/ascii_text.hpp"
#include "core/utf8.hpp"

namespace bottle {

namespace {

std::string_view without_query(std::string_view path) { return path.substr(0, path.find('?')); }

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

BrokerVerdict refuse(int status, const boost::json::object& body, std::string reason) {
  return {BrokerVerdict::Kind::refuse, status, boost::json::serialize(body), "blocked", std::move(reason), ""};
}

}  // namespace

bool broker_handles(const EgressBroker& broker, std::string_view host, std::string_view path) {
  const std::string_view bare = without_query(path);
  return contains(broker.token_hosts, ascii_lowercase(host)) &&
         (bare == broker.token_path || contains(broker.revoke_paths, bare));
}

std::map<std::string, std::string> parse_token_body(std::string_view body, std::string_view content_type) {
  std::map<std::string, std::string> out;
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  const bool json = ascii_lowercase(content_type).find("json") != std::string::npos ||
                    (first != std::string_view::npos && body[first] == '{');
  if (json) {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(body, ec);
    if (ec || !doc.is_object()) return out;
    for (const auto& member : doc.as_object())
      if (member.value().is_string()) out[std::string(member.key())] = std::string(member.value().as_string());
      else out.erase(std::string(member.key()));  // a later non-string duplicate replaces an earlier string
    return out;
  }
  std::size_t start = 0;
  while (start <= body.size()) {
    const std::size_t amp = body.find('&', start);
    const std::string_view field = body.substr(start, amp == std::string_view::npos ? amp : amp - start);
    const std::size_t eq = field.find('=');
    if (eq != std::string_view::npos && eq + 1 < field.size())
      out[percent_decode(field.substr(0, eq), true)] = percent_decode(field.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

BrokerVerdict classify_broker_request(const EgressBroker& broker, std::string_view method, std::string_view path,
                                      std::string_view body, std::string_view content_type) {
  if (contains(broker.revoke_paths, without_query(path)))
    return {BrokerVerdict::Kind::revoke, 200, "{}", "revoked", "", ""};
  if (method != "POST") return refuse(405, {{"error", "method_not_allowed"}}, "not a POST");
  const auto form = parse_token_body(body, content_type);
  const auto grant = form.find("grant_type");
  if (grant == form.end() || grant->second != "refresh_token")
    return refuse(403,
                  {{"error", "unauthorized_client"},
                   {"error_description", "bottle: only token refresh is allowed from a bottle"}},
                  "grant other than refresh_token");
  const auto token = form.find("refresh_token");
  if (token == form.end() || token->second.empty() || !decode_utf8(token->second) ||
      (!broker.dummy_refresh_tokens.empty() && !contains(broker.dummy_refresh_tokens, token->second)))
    return refuse(403, {{"error", "unauthorized_client"}, {"error_description", "bottle: unknown refresh token"}},
                  "refresh token is not this bottle's placeholder");
  return {BrokerVerdict::Kind::refresh, 0, "", "", "", token->second};
}

}  // namespace bottle
