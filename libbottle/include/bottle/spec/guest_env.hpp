#pragma once
// The environment the agent (and user commands) get inside a bottle: the spec's own
// `env`, sandbox defaults for the agent, and, when egress is on, the proxy and trust
// variables that route every HTTPS request through egress and make each client
// trust its CA. Pure: no files, no processes. EngineCommands::guest_env() applies
// it with the engine's own guest egress.
//
// Follows reference/codex-and-claude-auth.md §A5, §A6, §B5 and §C5.

#include <map>
#include <string>
#include <string_view>

#include "bottle/spec/spec.hpp"

namespace bottle {

/// Where the agent CA bundle (system roots + egress CA, see egress_ca.hpp) is
/// installed in a bottle.
inline constexpr std::string_view default_guest_ca_bundle_path = "/etc/bottle/ca-bundle.pem";

/// How the bottle reaches egress.
struct GuestEgress {
  bool enabled = false;        ///< false: no proxy or CA variables at all
  std::string proxy_url;       ///< "http://egress:8080"; must use http://
  std::string ca_bundle_path;  ///< absolute guest path of the agent CA bundle
  /// The proxy's address is known only inside the guest (a cluster's Service, from
  /// the kubelet's service-link variable in proxy_url): whoever probes it from the
  /// host reads the guest's HTTPS_PROXY first (resolved_guest_egress).
  bool address_in_guest = false;
};

/// No-proxy list set with egress: loopback only, so nothing else bypasses egress.
inline constexpr std::string_view guest_no_proxy = "localhost,127.0.0.1,::1";

/// The guest environment, built in three layers (later wins):
///  1. agent defaults a sandbox wants, which the spec may override:
///     claude: DISABLE_AUTOUPDATER=1, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
///             (updates, telemetry and bug reports off), and IS_SANDBOX=1 when the
///             user is root (else bypass-permissions mode refuses to run as root);
///     codex:  none (its telemetry and update switches are config.toml keys, written
///             by credential provisioning).
///  2. spec.env.
///  3. with egress enabled, bottle's variables, which the spec can NOT override
///     (a spec that could repoint the proxy or the trust store could route
///     around egress):
///       HTTPS_PROXY, HTTP_PROXY, https_proxy, http_proxy = proxy_url
///       NO_PROXY, no_proxy                               = guest_no_proxy
///       SSL_CERT_FILE       = ca_bundle_path (a full bundle: rustls and OpenSSL
///                             then load roots from that file only)
///       NODE_EXTRA_CA_CERTS = ca_bundle_path (Claude Code, and Node tools in any
///                             bottle; additive)
///       CODEX_CA_CERTIFICATE = ca_bundle_path (codex only; Codex ignores the
///                             system store and NODE_EXTRA_CA_CERTS)
///     and removes ALL_PROXY, all_proxy and CODEX_SANDBOX from the spec's env
///     (CODEX_SANDBOX=seatbelt makes Codex ignore every proxy variable).
/// The result never holds a credential: dummies live in files, not in the env.
/// Throws Error(invalid_input) when egress is enabled and proxy_url is not an
/// http:// URL (https:// proxy URLs break Codex's WebSockets) or ca_bundle_path is
/// not absolute.
std::map<std::string, std::string> guest_environment(const BottleSpec& spec, const GuestEgress& egress);

}  // namespace bottle
