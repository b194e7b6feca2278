#include "bottle/backends/egress_commands.hpp"

namespace bottle {

// A host-side egress (or one whose engine relays the host's loopback) meets its
// parent proxy on the host's loopback.
std::string EgressCommands::parent_host_from(std::string_view) const { return "127.0.0.1"; }

}  // namespace bottle
