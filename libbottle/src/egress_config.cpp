#include "bottle/egress_config.hpp"

#include <boost/json.hpp>

#include "json_reader.hpp"

namespace bottle {

namespace json = boost::json;

std::string render_egress_routes(const std::vector<EgressRoute>& routes) {
  json::array out;
  for (const auto& r : routes) {
    json::array hosts;
    for (const auto& h : r.hosts) hosts.emplace_back(h);
    // Insertion order is the written order: keep it fixed for a stable file.
    json::object o;
    o["name"] = r.name;
    o["hosts"] = std::move(hosts);
    o["header"] = r.header;
    o["dummy"] = r.dummy;
    o["value_file"] = r.value_file;
    o["value_json_pointer"] = r.value_json_pointer;
    out.emplace_back(std::move(o));
  }
  json::object doc;
  doc["version"] = egress_routes_version;
  doc["routes"] = std::move(out);
  return detail::pretty_json(doc);
}

std::vector<std::string> mitmdump_argv(const EgressLaunch& launch) {
  std::vector<std::string> argv = {
      "mitmdump",
      "--quiet",
      "--listen-host", launch.listen_host,
      "--listen-port", std::to_string(launch.listen_port),
      "--set", "confdir=" + launch.confdir,
      "--set", "block_global=false",
      "--set", "flow_detail=0",
      "--scripts", launch.addon_path,
      "--set", std::string(egress_routes_option) + "=" + launch.routes_path,
  };
  if (launch.upstream_proxy) {
    argv.insert(argv.end(), {"--mode", "upstream:" + *launch.upstream_proxy});
  }
  if (launch.upstream_trusted_ca) {
    argv.insert(argv.end(), {"--set", "ssl_verify_upstream_trusted_ca=" + *launch.upstream_trusted_ca});
  }
  return argv;
}

}  // namespace bottle
