#include "bottle/spec/guest_env.hpp"

#include <fmt/format.h>

#include "bottle/core/error.hpp"

namespace bottle {

namespace {

std::map<std::string, std::string> agent_defaults(const BottleSpec& spec) {
  std::map<std::string, std::string> env;
  if (spec.agent == AgentKind::claude) {
    // An auto-update would replace the pinned CLI from inside the bottle, and the
    // nonessential traffic (telemetry, bug reports) has nowhere useful to go.
    env["DISABLE_AUTOUPDATER"] = "1";
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
    // Claude refuses --dangerously-skip-permissions as root unless told it is
    // sandboxed; a bottle is exactly that.
    if (spec.user == "root") env["IS_SANDBOX"] = "1";
  }
  return env;
}

void validate_egress(const GuestEgress& egress) {
  // Scheme-less or https:// proxy URLs made Codex's wss connections fail and fall
  // back to slow HTTPS retries (§A6), so only plain http:// is accepted.
  constexpr std::string_view scheme = "http://";
  if (egress.proxy_url.size() <= scheme.size() || egress.proxy_url.compare(0, scheme.size(), scheme) != 0)
    throw Error(ErrorKind::invalid_input, "egress proxy URL: must start with http:// and name a host");
  if (egress.ca_bundle_path.empty() || egress.ca_bundle_path.front() != '/')
    throw Error(ErrorKind::invalid_input, "egress CA bundle path: must be an absolute guest path");
}

}  // namespace

std::map<std::string, std::string> guest_environment(const BottleSpec& spec, const GuestEgress& egress) {
  std::map<std::string, std::string> env = agent_defaults(spec);
  for (const auto& [key, value] : spec.env) env[key] = value;
  if (!egress.enabled) return env;

  validate_egress(egress);
  // Variables that would send traffic around egress, or switch a client's proxy
  // support off, are dropped rather than overridden: they have no safe value.
  for (const char* key : {"ALL_PROXY", "all_proxy", "CODEX_SANDBOX"}) env.erase(key);
  // Both spellings: Node and curl read the lower-case ones first, some tools only
  // the upper-case ones.
  for (const char* key : {"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"}) env[key] = egress.proxy_url;
  env["NO_PROXY"] = std::string(guest_no_proxy);
  env["no_proxy"] = std::string(guest_no_proxy);
  // One bundle serves every consumer: SSL_CERT_FILE replaces the root store, so it
  // must hold the system roots too (hosts pipelock passes through unintercepted
  // still present real certificates); the other two are additive and do not mind.
  env["SSL_CERT_FILE"] = egress.ca_bundle_path;
  env["NODE_EXTRA_CA_CERTS"] = egress.ca_bundle_path;
  if (spec.agent == AgentKind::codex) env["CODEX_CA_CERTIFICATE"] = egress.ca_bundle_path;
  return env;
}

}  // namespace bottle
