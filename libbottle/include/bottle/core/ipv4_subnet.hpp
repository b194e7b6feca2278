#pragma once
// An IPv4 network in CIDR form ("10.89.3.0/24"), the shape of a bottle network's
// subnet on engines where bottle records it (Podman). Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bottle {

struct Ipv4Subnet {
  std::uint32_t network = 0;  ///< host byte order, host bits zero
  int prefix = 0;             ///< 0..32
  /// The n-th address of the network ("10.89.3.2" for n = 2).
  std::string address(std::uint32_t n) const;
  std::string text() const;  ///< "10.89.3.0/24"
  bool operator==(const Ipv4Subnet&) const = default;
};

/// "a.b.c.d/p" with four decimal octets (no leading zeros), a prefix of 0-32 and
/// every host bit zero; nullopt for anything else.
std::optional<Ipv4Subnet> parse_ipv4_subnet(std::string_view text);

}  // namespace bottle
