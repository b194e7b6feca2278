#include "bottle/core/host_interface.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <memory>
#include <set>
#include <vector>

namespace bottle {

namespace {

struct InterfaceAddress {
  std::string interface;
  in_addr address{};
};

// Every IPv4 address of every interface, in the kernel's order; empty when they
// cannot be read.
std::vector<InterfaceAddress> ipv4_interface_addresses() {
  std::vector<InterfaceAddress> found;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return found;
  const std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned(list, ::freeifaddrs);
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    found.push_back(
        {entry->ifa_name ? entry->ifa_name : "", reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr});
  }
  return found;
}

std::string dotted(const in_addr& address) {
  char text[INET_ADDRSTRLEN] = {};
  return ::inet_ntop(AF_INET, &address, text, sizeof text) != nullptr ? std::string(text) : std::string();
}

}  // namespace

std::optional<std::string> interface_ipv4(std::string_view name) {
  for (const auto& entry : ipv4_interface_addresses())
    if (entry.interface == name)
      if (std::string text = dotted(entry.address); !text.empty()) return text;
  return std::nullopt;
}

std::vector<std::string> host_ipv4_addresses() {
  std::set<std::string> found;
  for (const auto& entry : ipv4_interface_addresses()) {
    // A guest's own loopback is not the host's.
    if ((ntohl(entry.address.s_addr) >> 24) == 127) continue;
    if (std::string text = dotted(entry.address); !text.empty()) found.insert(std::move(text));
  }
  return {found.begin(), found.end()};
}

}  // namespace bottle
