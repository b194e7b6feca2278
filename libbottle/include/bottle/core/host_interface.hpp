#pragma once
// Addresses of the host's own network interfaces.

#include <optional>
#include <string>
#include <string_view>

namespace bottle {

/// The first IPv4 address of interface `name` (e.g. "docker0") in dotted form, or
/// nullopt when there is no such interface or it has no IPv4 address.
std::optional<std::string> interface_ipv4(std::string_view name);

}  // namespace bottle
