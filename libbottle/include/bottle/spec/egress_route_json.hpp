#pragma once
// The one JSON codec of an EgressRoute. The spec ($.egress.routes), the stored
// credential state (credentials.json) and the routes file egress reads
// (routes.json) all write and read a route through it, so the three cannot drift.
//
//   {"name": "gh", "hosts": ["api.github.com"], "header": "Authorization",
//    "dummy": "bottle-dummy-gh", "value_file": "/home/me/.config/gh/token",
//    "value_json_pointer": ""}

#include <boost/json.hpp>
#include <string_view>

#include "bottle/spec/spec.hpp"

namespace bottle {

/// Every field, in the order above (a stable file: insertion order is written order).
boost::json::object egress_route_to_json(const EgressRoute& route);

/// Read one route object found at `path` ("$.egress.routes[0]") of a document that
/// errors call `what` ("spec", a file name). Only the keys above are allowed, each
/// optional (missing ones keep EgressRoute's defaults); the values are not
/// validated here (validate_spec does that). Throws Error(invalid_input) as
/// "WHAT: PATH.KEY: PROBLEM".
/// egress_route_from_json(egress_route_to_json(r), ...) == r.
EgressRoute egress_route_from_json(const boost::json::value& value, std::string_view path, std::string_view what);

}  // namespace bottle
