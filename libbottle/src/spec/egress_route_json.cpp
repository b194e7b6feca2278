#include "bottle/spec/egress_route_json.hpp"

#include "core/json_reader.hpp"

namespace bottle {

namespace json = boost::json;
using detail::JsonField;

json::object egress_route_to_json(const EgressRoute& r) {
  json::object o;
  o["name"] = r.name;
  o["hosts"] = json::array(r.hosts.begin(), r.hosts.end());
  o["header"] = r.header;
  o["dummy"] = r.dummy;
  o["value_file"] = r.value_file;
  o["value_json_pointer"] = r.value_json_pointer;
  return o;
}

EgressRoute egress_route_from_json(const json::value& value, std::string_view path, std::string_view what) {
  const JsonField f(value, std::string(path), what);
  EgressRoute r;
  f.only_keys({"name", "hosts", "header", "dummy", "value_file", "value_json_pointer"});
  f.with("name", [&](const JsonField& v) { r.name = v.string(); });
  f.with("hosts", [&](const JsonField& v) { v.each([&](const JsonField& h) { r.hosts.push_back(h.string()); }); });
  f.with("header", [&](const JsonField& v) { r.header = v.string(); });
  f.with("dummy", [&](const JsonField& v) { r.dummy = v.string(); });
  f.with("value_file", [&](const JsonField& v) { r.value_file = v.string(); });
  f.with("value_json_pointer", [&](const JsonField& v) { r.value_json_pointer = v.string(); });
  return r;
}

}  // namespace bottle
