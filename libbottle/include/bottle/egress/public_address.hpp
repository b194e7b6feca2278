#pragma once
// Which addresses bottle-egress may connect to when it has no parent proxy: public
// ones only, so a bottle cannot reach the host, the local network or a cloud metadata
// service through egress. Egress resolves a name once, keeps the public addresses and
// connects to exactly those (no second lookup, so no DNS-rebinding window).

#include <boost/asio/ip/address.hpp>

namespace bottle {

/// False for IPv4 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24,
/// 192.168/16, 198.18/15, 224/4, 240/4 (broadcast included); for IPv6 ::, ::1,
/// fe80::/10, fec0::/10, fc00::/7, ff00::/8 and IPv4-compatible ::a.b.c.d; an
/// IPv4-mapped ::ffff:a.b.c.d is judged as a.b.c.d.
bool is_public_address(const boost::asio::ip::address& address);

}  // namespace bottle
