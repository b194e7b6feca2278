#pragma once
// TCP ports on a host address for proxies that run on the host (egress of
// smolmachines bottles, bottle-run pipelock). Checking a port and then starting a
// server on it can race with another process; what listens is confirmed afterwards
// (egress's readiness addon fails closed when its own listen fails; pipelock must
// pass its health check).

#include <chrono>
#include <cstdint>
#include <string_view>

namespace bottle {

/// A port on `ipv4` that nothing listens on right now (the kernel's pick).
/// Throws Error(io) when no socket can be bound there, Error(invalid_input) when
/// `ipv4` is not a dotted IPv4 address.
std::uint16_t pick_free_port(std::string_view ipv4 = "127.0.0.1");

/// Whether `ipv4`:`port` can be bound right now.
bool port_free(std::string_view ipv4, std::uint16_t port);

/// Whether something accepts a TCP connection on `ipv4`:`port` within `timeout`
/// (the connection is closed at once). Throws Error(invalid_input) when `ipv4` is not
/// a dotted IPv4 address.
bool port_accepts(std::string_view ipv4, std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace bottle
