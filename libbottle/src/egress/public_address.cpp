#include "bottle/egress/public_address.hpp"

#include <array>
#include <cstdint>
#include <utility>

namespace bottle {

namespace {

bool is_public_v4(const boost::asio::ip::address_v4& address) {
  // (network, prefix length) pairs that are not the public internet.
  static constexpr std::array<std::pair<std::uint32_t, int>, 11> blocked = {{
      {0x00000000, 8},   // "this" network
      {0x0A000000, 8},   // private
      {0x64400000, 10},  // carrier-grade NAT
      {0x7F000000, 8},   // loopback
      {0xA9FE0000, 16},  // link-local (cloud metadata)
      {0xAC100000, 12},  // private
      {0xC0000000, 24},  // IETF protocol assignments
      {0xC0A80000, 16},  // private
      {0xC6120000, 15},  // benchmarking
      {0xE0000000, 4},   // multicast
      {0xF0000000, 4},   // reserved, broadcast
  }};
  const std::uint32_t value = address.to_uint();
  for (const auto& [network, prefix] : blocked) {
    const std::uint32_t mask = ~std::uint32_t{0} << (32 - prefix);
    if ((value & mask) == network) return false;
  }
  return true;
}

}  // namespace

bool is_public_address(const boost::asio::ip::address& address) {
  if (address.is_v4()) return is_public_v4(address.to_v4());
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return is_public_v4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
  const auto bytes = v6.to_bytes();
  if (v6.is_unspecified() || v6.is_loopback() || v6.is_link_local() || v6.is_site_local() || v6.is_multicast())
    return false;
  if ((bytes[0] & 0xFE) == 0xFC) return false;  // unique local fc00::/7
  // IPv4-compatible ::a.b.c.d (deprecated) is judged like the IPv4 address.
  bool v4_compatible = true;
  for (int i = 0; i < 12; ++i) v4_compatible = v4_compatible && bytes[static_cast<std::size_t>(i)] == 0;
  if (v4_compatible) return false;
  return true;
}

}  // namespace bottle
