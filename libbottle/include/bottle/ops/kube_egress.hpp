#pragma once
// What a bottle's egress in a cluster carries from the host (KubeInputs,
// kube_objects.hpp), and the one rule that makes it safe to carry: the host stays
// the only refresher of every login (the owner "(a)").
//
//   KubeInputs in = bottle::kube_egress_inputs(host, dirs, spec);
//
// Routes are the spec's plus credential forwarding's (forwarded state). A route's
// value file travels as a COPY: for a file some broker refreshes, the copy has that
// broker's refresh token removed (login_copy_for_cluster), so a cluster never holds
// what could fork the host's refresh chain; each such broker is marked
// host_refreshes, so egress mints from the copy and never asks the vendor. The host
// refreshes the login (ensure-fresh) and pushes a new copy (the Secret, applied
// again) at every start and attach, and from `bottle-cli broker run`
// (Bottles::push_logins).
//
// The egress CA (key and certificate) and the upstream CA are read from the host;
// BOTTLE_EGRESS_UPSTREAM becomes egress's parent proxy. Errors name the file, never
// a value in it.

#include <string>
#include <string_view>

#include "bottle/core/host.hpp"
#include "bottle/core/state.hpp"
#include "bottle/kube/kube_objects.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// `text` (a host login, a JSON object) without the member at `refresh_pointer`
/// (RFC 6901), every other byte of meaning kept. A missing member is fine (nothing
/// to remove). Throws Error(invalid_input) naming `file` when the text is not a
/// JSON object or the pointer runs through something that is not an object. Pure.
std::string login_copy_for_cluster(std::string_view text, std::string_view refresh_pointer, const std::string& file);

/// The KubeInputs of `spec`'s egress (empty when spec.egress is off). Reads the
/// routes' value files, the bottle's forwarded state, the egress CA under `dirs`
/// (which create makes first), the system roots and BOTTLE_EGRESS_UPSTREAM(_CA).
KubeInputs kube_egress_inputs(const Host& host, const StateDirs& dirs, const BottleSpec& spec);

}  // namespace bottle
