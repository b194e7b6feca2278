#pragma once
// pipelock configuration for one bottle: what pipelock must enforce (PipelockSettings)
// and the YAML text that tells it so, to the pipelock v2.3.0 schema
// (reference/pipelock-config.md). Both functions are pure: no files, no clock, no env.
//
//   auto settings = bottle::pipelock_settings_for(spec, {"api.anthropic.com"},
//                                                 {.tls_interception = false});
//   std::string yaml = bottle::render_pipelock_yaml(settings);
//
// Policy (pipelock_settings_for):
// - mode strict, so api_allowlist is enforced; the allowlist is the spec's allowlist,
//   the agent's hosts and the hosts of the spec's egress routes;
// - forward proxy on (HTTPS_PROXY needs it), header DLP on and blocking, and
//   dlp.scan_env off (pipelock's own environment must not become DLP patterns);
// - when spec.forward_host_credentials is on, egress injects a real bearer token for
//   the agent's hosts, so each agent host is listed *exactly* (a "*.x" entry never
//   matches the apex "x") in tls_interception.passthrough_domains: pipelock gates the
//   CONNECT but never decrypts those tunnels, so header DLP cannot flag the token. The
//   hosts of the spec's egress routes (when egress is enabled) are passthrough for the
//   same reason. With forwarding off the agent hosts are not passthrough.
//
// Output (render_pipelock_yaml): deterministic — fixed key order, sorted and
// de-duplicated host lists — and injection-proof: every string value is written as a
// YAML double-quoted scalar with every '"', '\', control character and non-ASCII code
// point escaped, so the text is pure ASCII and no value can add keys, comments,
// anchors, tags or documents.

#include <string>
#include <string_view>
#include <vector>

#include "bottle/spec/spec.hpp"

namespace bottle {

enum class PipelockMode { strict, balanced, audit };
std::string_view to_string(PipelockMode mode);

/// pipelock's default and bottle's listen address (the single proxy port).
inline constexpr std::string_view default_pipelock_listen = "127.0.0.1:8888";

/// Everything bottle sets in a pipelock config. Host lists are written in the given
/// order (pipelock_settings_for sorts them).
struct PipelockSettings {
  PipelockMode mode = PipelockMode::strict;
  std::string listen{default_pipelock_listen};  ///< fetch_proxy.listen, "host:port"
  std::vector<std::string> api_allowlist;
  std::vector<std::string> passthrough_domains;  ///< tls_interception.passthrough_domains
  bool tls_interception = false;
  std::string ca_cert;  ///< absolute path; written only when tls_interception is on
  std::string ca_key;   ///< absolute path, SEC1 EC key, mode 0600
  /// Per registrable domain, per minute. pipelock rewrites 0 to 60, so never 0.
  int max_requests_per_minute = 600;
  /// Absolute lifetime of every CONNECT tunnel (passthrough too); agent sessions
  /// stream for long, so far above pipelock's default of 300.
  int max_tunnel_seconds = 3600;
  int idle_timeout_seconds = 600;
  bool operator==(const PipelockSettings&) const = default;
};

/// What the caller decides for a bottle beyond its spec.
struct PipelockOptions {
  std::string listen{default_pipelock_listen};
  bool tls_interception = false;
  std::string ca_cert;  ///< required (absolute) when tls_interception is on
  std::string ca_key;   ///< required (absolute) when tls_interception is on
  int max_requests_per_minute = 600;
};

/// Settings for `spec` whose agent talks to `agent_hosts` (lowercase hostnames; a
/// "*.x" wildcard is allowed but covers only subdomains of x, so list the apex too).
/// Validates every input and throws Error(invalid_input) naming the field:
/// "$.allowlist[2]", "$.egress.routes[0].hosts[1]", "agent_hosts[0]", "listen",
/// "ca_cert", "ca_key", "max_requests_per_minute".
PipelockSettings pipelock_settings_for(const BottleSpec& spec, const std::vector<std::string>& agent_hosts,
                                       const PipelockOptions& options = {});

/// Check settings built by hand the way pipelock_settings_for checks its inputs.
/// Throws Error(invalid_input) naming the field ("api_allowlist[1]", "listen", ...).
void validate_pipelock_settings(const PipelockSettings& settings);

/// The YAML text (one document, pure ASCII, trailing newline). Does not validate
/// policy — call validate_pipelock_settings for that — but any string content, however
/// hostile, stays one inert scalar. Throws Error(invalid_input) naming the field only
/// when a string is not valid UTF-8 (YAML cannot carry it).
std::string render_pipelock_yaml(const PipelockSettings& settings);

}  // namespace bottle
