#include "bottle/egress/egress_routes_file.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <boost/json.hpp>

#include "bottle/core/error.hpp"
#include "bottle/egress/egress_config.hpp"
#include "bottle/egress/http_request.hpp"

namespace bottle {

namespace {

constexpr std::size_t min_dummy_chars = 8;

[[noreturn]] void refuse(const std::string& field, const std::string& problem) {
  throw Error(ErrorKind::invalid_input, field, problem);
}

const boost::json::value& member(const boost::json::object& object, std::string_view key, const std::string& where) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) refuse(where + "." + std::string(key), "missing");
  return *value;
}

std::string string_of(const boost::json::value& value, const std::string& field) {
  const auto* text = value.if_string();
  if (text == nullptr) refuse(field, "must be a string");
  return std::string(*text);
}

std::vector<std::string> strings_of(const boost::json::value& value, const std::string& field) {
  const auto* array = value.if_array();
  if (array == nullptr) refuse(field, "must be an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < array->size(); ++i)
    out.push_back(string_of((*array)[i], fmt::format("{}[{}]", field, i)));
  return out;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return text;
}

// The broker's token hosts are its token_hosts plus token_url's host, as the addon
// computes them (bottle_broker.py, BrokerConfig.from_json).
void read_broker(const boost::json::object& broker, const std::string& where, EgressRouteEntry& entry) {
  const std::string kind = string_of(member(broker, "kind", where), where + ".kind");
  if (kind != "codex" && kind != "claude") refuse(where + ".kind", "must be \"codex\" or \"claude\"");
  const std::string url = string_of(member(broker, "token_url", where), where + ".token_url");
  constexpr std::string_view scheme = "https://";
  if (!url.starts_with(scheme)) refuse(where + ".token_url", "must be an https URL");
  const std::string rest = url.substr(scheme.size());
  const auto authority = parse_authority(rest.substr(0, rest.find_first_of("/?#")), 443);
  if (!authority) refuse(where + ".token_url", "must be an https URL");
  entry.swap.token_hosts.insert(authority->host);
  for (const std::string& host : strings_of(member(broker, "token_hosts", where), where + ".token_hosts"))
    entry.swap.token_hosts.insert(lower(host));
  entry.token_path = string_of(member(broker, "token_path", where), where + ".token_path");
  entry.revoke_paths = strings_of(member(broker, "revoke_paths", where), where + ".revoke_paths");
  std::vector<std::string> known;
  if (const auto* tokens = broker.if_contains("dummy_refresh_tokens"))
    known = strings_of(*tokens, where + ".dummy_refresh_tokens");
  std::sort(known.begin(), known.end());
  for (const std::string& dummy : known)
    if (dummy.size() >= min_dummy_chars &&
        std::find(entry.swap.dummies.begin(), entry.swap.dummies.end(), dummy) == entry.swap.dummies.end() &&
        std::find(entry.swap.guarded.begin(), entry.swap.guarded.end(), dummy) == entry.swap.guarded.end())
      entry.swap.guarded.push_back(dummy);
  entry.has_broker = true;
  EgressBroker config = kind == "codex" ? codex_egress_broker() : claude_egress_broker();
  config.token_url = url;
  config.token_hosts.assign(entry.swap.token_hosts.begin(), entry.swap.token_hosts.end());
  config.token_path = entry.token_path;
  config.revoke_paths = entry.revoke_paths;
  for (const auto& [key, field] : {std::pair<const char*, std::string*>{"refresh_pointer", &config.refresh_pointer},
                                   {"client_id", &config.client_id}})
    if (const auto* value = broker.if_contains(key); value != nullptr && !value->is_null())
      *field = string_of(*value, where + "." + key);
  config.dummy_refresh_tokens = known;
  if (const auto* value = broker.if_contains("host_refreshes"); value != nullptr && !value->is_null()) {
    if (!value->is_bool()) refuse(where + ".host_refreshes", "must be true or false");
    config.host_refreshes = value->get_bool();
  }
  entry.broker = std::move(config);
}

EgressRouteEntry read_route(const boost::json::value& value, const std::string& where) {
  const auto* route = value.if_object();
  if (route == nullptr) refuse(where, "must be an object");
  EgressRouteEntry entry;
  entry.swap.name = string_of(member(*route, "name", where), where + ".name");
  for (const std::string& host : strings_of(member(*route, "hosts", where), where + ".hosts"))
    entry.swap.hosts.insert(lower(host));
  entry.swap.header = string_of(member(*route, "header", where), where + ".header");
  const std::string dummy = string_of(member(*route, "dummy", where), where + ".dummy");
  entry.value_file = string_of(member(*route, "value_file", where), where + ".value_file");
  if (const auto* pointer = route->if_contains("value_json_pointer"))
    entry.value_json_pointer = string_of(*pointer, where + ".value_json_pointer");
  if (entry.swap.hosts.empty()) refuse(where + ".hosts", "must name at least one host");
  if (entry.swap.header.empty()) refuse(where + ".header", "must not be empty");
  if (dummy.size() < min_dummy_chars) refuse(where + ".dummy", "must be at least 8 characters");
  entry.swap.dummies = {dummy};
  if (const auto* broker = route->if_contains("broker"); broker != nullptr && !broker->is_null()) {
    const auto* object = broker->if_object();
    if (object == nullptr) refuse(where + ".broker", "must be an object");
    read_broker(*object, where + ".broker", entry);
  }
  return entry;
}

}  // namespace

std::vector<EgressRouteEntry> parse_egress_routes(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value document = boost::json::parse(text, ec);
  if (ec) refuse("routes file", "is not valid JSON");
  const auto* root = document.if_object();
  const auto* version = root != nullptr ? root->if_contains("version") : nullptr;
  const auto* routes = root != nullptr ? root->if_contains("routes") : nullptr;
  if (version == nullptr || !version->is_int64() || version->as_int64() != egress_routes_version || routes == nullptr ||
      !routes->is_array())
    refuse("routes file", fmt::format("expected {{\"version\": {}, \"routes\": [...]}}", egress_routes_version));
  std::vector<EgressRouteEntry> out;
  for (std::size_t i = 0; i < routes->as_array().size(); ++i)
    out.push_back(read_route(routes->as_array()[i], fmt::format("routes[{}]", i)));
  return out;
}

}  // namespace bottle
