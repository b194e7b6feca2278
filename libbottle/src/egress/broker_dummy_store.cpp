#include "bottle/egress/broker_dummy_store.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "bottle/core/state.hpp"

namespace bottle {

namespace json = boost::json;

namespace {

std::map<std::string, std::vector<std::string>> lists_of(const json::object& doc, std::string_view key) {
  std::map<std::string, std::vector<std::string>> out;
  const json::value* lists = doc.if_contains(key);
  if (lists == nullptr || !lists->is_object()) return out;
  for (const auto& [route, dummies] : lists->as_object()) {
    if (!dummies.is_array()) continue;
    std::vector<std::string>& into = out[std::string(route)];
    for (const json::value& dummy : dummies.as_array())
      if (dummy.is_string()) into.emplace_back(dummy.as_string());
  }
  return out;
}

json::object object_of(const std::map<std::string, std::vector<std::string>>& lists) {
  json::object out;
  for (const auto& [route, dummies] : lists) {
    json::array array;
    for (const std::string& dummy : dummies) array.emplace_back(dummy);
    out[route] = std::move(array);
  }
  return out;
}

}  // namespace

BrokerDummyStore::BrokerDummyStore(std::optional<std::filesystem::path> file) : file_(std::move(file)) {
  if (!file_) return;
  std::ifstream in(*file_, std::ios::binary);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const json::value doc = json::parse(text.str(), ec);
  if (ec || !doc.is_object()) return;
  routes_ = lists_of(doc.as_object(), "routes");
  guarded_ = lists_of(doc.as_object(), "guarded");
}

std::vector<std::string> BrokerDummyStore::get(const std::string& route, bool guarded) const {
  const auto& lists = guarded ? guarded_ : routes_;
  const auto found = lists.find(route);
  return found == lists.end() ? std::vector<std::string>{} : found->second;
}

void BrokerDummyStore::add(const std::string& route, const std::string& dummy, bool guarded) {
  std::vector<std::string>& dummies = (guarded ? guarded_ : routes_)[route];
  dummies.push_back(dummy);
  if (dummies.size() > max_per_route)
    dummies.erase(dummies.begin(), dummies.end() - static_cast<std::ptrdiff_t>(max_per_route));
  if (file_) write_file_atomic(*file_, render(routes_, guarded_), 0600);
}

std::string BrokerDummyStore::render(const std::map<std::string, std::vector<std::string>>& routes,
                                     const std::map<std::string, std::vector<std::string>>& guarded) {
  // Keys in the order the addon's json.dumps writes them.
  return json::serialize(json::object{{"version", 1}, {"routes", object_of(routes)}, {"guarded", object_of(guarded)}});
}

}  // namespace bottle
