#pragma once
// Refreshing the host's login before a bottle's dummies are minted from it (auth
// reference C4, rule 4). A dummy carries the real token's expiry; minted from a host
// token about to lapse, it would send the agent straight into a refresh. The refresh
// itself is the token broker's (`bottle-egress ensure-fresh`, ensure_fresh.hpp): the
// same lock, re-read and atomic write-back as when egress answers a bottle's refresh,
// so there is one implementation of it. Real tokens never appear in the argv or the output.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_setup.hpp"
#include "bottle/spec/spec.hpp"

namespace bottle {

/// A host access token that expires within this many seconds is refreshed before
/// minting (twice egress's own 5-minute window, so a new bottle starts with time).
inline constexpr std::int64_t host_refresh_window_s = 600;

/// ensure-fresh's exit statuses (2 is a usage error).
inline constexpr int host_refresh_exit_sign_in_again = 3;
inline constexpr int host_refresh_exit_transient = 4;

struct HostRefreshRequest {
  std::filesystem::path program;  ///< bottle-egress (locate_bottle_egress)
  AgentKind agent = AgentKind::codex;
  std::filesystem::path host_file;  ///< the host login file, refreshed in place
  std::int64_t min_valid_s = host_refresh_window_s;
  /// The parent proxy and its CA, as egress's broker would use them (empty: direct).
  EgressUpstream upstream;
};

/// PROGRAM ensure-fresh --kind codex|claude --host-file FILE --min-valid N
///   [--parent-proxy URL] [--upstream-ca FILE]. Pure.
std::vector<std::string> host_refresh_argv(const HostRefreshRequest& request);

enum class HostRefreshOutcome {
  fresh,          ///< valid long enough, nothing was done
  refreshed,      ///< refreshed upstream and written back to the host file
  sign_in_again,  ///< the host session is dead: the user must log in on the host
  unavailable,    ///< could not refresh now (network, upstream, bottle-egress missing, ...)
};

/// What a run of host_refresh_argv() came to. Pure.
HostRefreshOutcome host_refresh_outcome(const ProcessResult& result);

/// Whether a token expiring at `expires_at_s` must be refreshed at `now_s`. Pure.
bool host_token_expiring(std::int64_t expires_at_s, std::int64_t now_s, std::int64_t window_s = host_refresh_window_s);

}  // namespace bottle
