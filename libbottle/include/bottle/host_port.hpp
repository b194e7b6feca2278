#pragma once
// Loopback TCP ports for proxies that run on the host (egress of smolmachines
// bottles). Checking a port and then starting a server on it can race with another
// process; what listens is confirmed afterwards (the egress readiness addon fails
// closed when its own listen fails).

#include <cstdint>

namespace bottle {

/// A port on 127.0.0.1 that nothing listens on right now (the kernel's pick).
/// Throws Error(io) when no socket can be bound.
std::uint16_t pick_free_loopback_port();

/// Whether 127.0.0.1:`port` can be bound right now.
bool loopback_port_free(std::uint16_t port);

}  // namespace bottle
