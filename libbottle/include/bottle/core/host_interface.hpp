#pragma once
// Addresses of the host's own network interfaces.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

/// The first IPv4 address of interface `name` (e.g. "docker0") in dotted form, or
/// nullopt when there is no such interface or it has no IPv4 address.
std::optional<std::string> interface_ipv4(std::string_view name);

/// Every IPv4 address of the host's interfaces except loopback (127/8), sorted, unique.
std::vector<std::string> host_ipv4_addresses();

}  // namespace bottle
