#include "schema.hpp"

namespace fake_pipelock {
namespace {

using K = Kind;

// A struct type is declared as its field array plus the Type naming it, leaves first.
#define FAKE_PIPELOCK_TYPE(ident, go, ...)          \
  constexpr Field ident##_fields[] = {__VA_ARGS__}; \
  constexpr Type ident { go, ident##_fields }

// ---- fetch_proxy (§3.1) ----
FAKE_PIPELOCK_TYPE(monitoring, "Monitoring", {"max_url_length", K::integer}, {"entropy_threshold", K::number},
                   {"subdomain_entropy_threshold", K::number}, {"max_requests_per_minute", K::integer},
                   {"max_data_per_minute", K::integer}, {"blocklist", K::strings},
                   {"subdomain_entropy_exclusions", K::strings});
FAKE_PIPELOCK_TYPE(fetch_proxy, "FetchProxy", {"listen", K::string}, {"timeout_seconds", K::integer},
                   {"max_response_mb", K::integer}, {"user_agent", K::string}, {"monitoring", K::object, &monitoring});

// ---- forward / websocket / reverse proxies (§5.1, §2) ----
FAKE_PIPELOCK_TYPE(forward_proxy, "ForwardProxy", {"enabled", K::boolean}, {"max_tunnel_seconds", K::integer},
                   {"idle_timeout_seconds", K::integer}, {"sni_verification", K::boolean},
                   {"redirect_websocket_hosts", K::strings});
FAKE_PIPELOCK_TYPE(websocket_proxy, "WebSocketProxy", {"enabled", K::boolean}, {"strip_compression", K::boolean});
FAKE_PIPELOCK_TYPE(reverse_proxy, "ReverseProxy", {"enabled", K::boolean}, {"listen", K::string},
                   {"upstream", K::string});

// ---- DLP (§3.4) ----
FAKE_PIPELOCK_TYPE(dlp_pattern, "DLPPattern", {"name", K::string}, {"regex", K::string}, {"severity", K::string},
                   {"validator", K::string}, {"exempt_domains", K::strings}, {"action", K::string});
FAKE_PIPELOCK_TYPE(dlp, "DLP", {"scan_env", K::boolean}, {"secrets_file", K::string},
                   {"min_env_secret_length", K::integer}, {"include_defaults", K::boolean},
                   {"patterns", K::objects, &dlp_pattern}, {"action", K::string});
FAKE_PIPELOCK_TYPE(canary_token, "CanaryToken", {"name", K::string}, {"value", K::string}, {"env_var", K::string});
FAKE_PIPELOCK_TYPE(canary_tokens, "CanaryTokens", {"enabled", K::boolean}, {"tokens", K::objects, &canary_token});
FAKE_PIPELOCK_TYPE(suppress, "SuppressEntry", {"rule", K::string}, {"path", K::string}, {"reason", K::string});

// ---- request body + header DLP (§4.1) ----
FAKE_PIPELOCK_TYPE(request_body_scanning, "RequestBodyScanning", {"enabled", K::boolean}, {"action", K::string},
                   {"max_body_bytes", K::integer}, {"scan_headers", K::boolean}, {"header_mode", K::string},
                   {"sensitive_headers", K::strings}, {"ignore_headers", K::strings});

// ---- response scanning, sessions, adaptive enforcement (§2, §4.3) ----
FAKE_PIPELOCK_TYPE(sse_streaming, "SSEStreaming", {"enabled", K::boolean});
FAKE_PIPELOCK_TYPE(response_scanning, "ResponseScanning", {"enabled", K::boolean}, {"action", K::string},
                   {"exempt_domains", K::strings}, {"sse_streaming", K::object, &sse_streaming});
FAKE_PIPELOCK_TYPE(session_profiling, "SessionProfiling", {"enabled", K::boolean});
FAKE_PIPELOCK_TYPE(adaptive_enforcement, "AdaptiveEnforcement", {"enabled", K::boolean},
                   {"exempt_domains", K::strings});
FAKE_PIPELOCK_TYPE(entropy_budget, "EntropyBudget", {"enabled", K::boolean}, {"exempt_domains", K::strings});
FAKE_PIPELOCK_TYPE(fragment_reassembly, "FragmentReassembly", {"enabled", K::boolean});
FAKE_PIPELOCK_TYPE(cross_request_detection, "CrossRequestDetection", {"enabled", K::boolean},
                   {"entropy_budget", K::object, &entropy_budget},
                   {"fragment_reassembly", K::object, &fragment_reassembly});

// ---- TLS interception (§5.3) ----
FAKE_PIPELOCK_TYPE(tls_interception, "TLSInterception", {"enabled", K::boolean}, {"ca_cert", K::string},
                   {"ca_key", K::string}, {"passthrough_domains", K::strings}, {"cert_ttl", K::string},
                   {"cert_cache_size", K::integer}, {"max_response_bytes", K::integer});

// ---- operations (§2) ----
FAKE_PIPELOCK_TYPE(logging, "LoggingConfig", {"format", K::string}, {"output", K::string}, {"file", K::string},
                   {"include_allowed", K::boolean}, {"include_blocked", K::boolean});
FAKE_PIPELOCK_TYPE(kill_switch, "KillSwitch", {"enabled", K::boolean}, {"api_listen", K::string},
                   {"api_token", K::string}, {"allowlist_ips", K::strings});
FAKE_PIPELOCK_TYPE(sentry, "SentryConfig", {"enabled", K::boolean}, {"dsn", K::string}, {"environment", K::string},
                   {"sample_rate", K::number}, {"debug", K::boolean});
FAKE_PIPELOCK_TYPE(scan_api_auth, "ScanAPIAuth", {"bearer_tokens", K::strings});
FAKE_PIPELOCK_TYPE(scan_api_rate_limit, "ScanAPIRateLimit", {"requests_per_minute", K::integer}, {"burst", K::integer});
FAKE_PIPELOCK_TYPE(scan_api_kinds, "ScanAPIKinds", {"url", K::boolean}, {"dlp", K::boolean},
                   {"prompt_injection", K::boolean}, {"tool_call", K::boolean});
FAKE_PIPELOCK_TYPE(scan_api, "ScanAPI", {"listen", K::string}, {"auth", K::object, &scan_api_auth},
                   {"rate_limit", K::object, &scan_api_rate_limit}, {"kinds", K::object, &scan_api_kinds});
FAKE_PIPELOCK_TYPE(ssrf, "SSRFConfig", {"ip_allowlist", K::strings});
FAKE_PIPELOCK_TYPE(agent_rate_limit, "AgentRateLimit", {"max_requests_per_minute", K::integer});
FAKE_PIPELOCK_TYPE(agent_profile, "AgentProfile", {"mode", K::string}, {"api_allowlist", K::strings},
                   {"rate_limit", K::object, &agent_rate_limit});

// ---- features this use case leaves off (§2: "not needed"); only the keys the
// reference names ----
FAKE_PIPELOCK_TYPE(enabled_only, "FeatureToggle", {"enabled", K::boolean});
FAKE_PIPELOCK_TYPE(mcp_tool_policy, "MCPToolPolicy", {"enabled", K::boolean}, {"rules", K::objects, &enabled_only});
FAKE_PIPELOCK_TYPE(mcp_tool_provenance, "MCPToolProvenance", {"enabled", K::boolean}, {"offline_only", K::boolean});
FAKE_PIPELOCK_TYPE(git_protection, "GitProtection", {"enabled", K::boolean}, {"pre_push_scan", K::boolean});
FAKE_PIPELOCK_TYPE(file_sentry, "FileSentry", {"enabled", K::boolean}, {"watch_paths", K::strings});
FAKE_PIPELOCK_TYPE(flight_recorder, "FlightRecorder", {"enabled", K::boolean}, {"redact", K::boolean},
                   {"sign_checkpoints", K::boolean});
FAKE_PIPELOCK_TYPE(behavioral_baseline, "BehavioralBaseline", {"enabled", K::boolean},
                   {"poison_resistance", K::boolean});
FAKE_PIPELOCK_TYPE(a2a_scanning, "A2AScanning", {"enabled", K::boolean}, {"scan_agent_cards", K::boolean},
                   {"detect_card_drift", K::boolean}, {"session_smuggling_detection", K::boolean},
                   {"scan_raw_parts", K::boolean});
FAKE_PIPELOCK_TYPE(taint, "TaintConfig", {"enabled", K::boolean}, {"policy", K::string});
FAKE_PIPELOCK_TYPE(emit, "EmitConfig", {"webhook", K::object, &enabled_only}, {"syslog", K::object, &enabled_only},
                   {"otlp", K::object, &enabled_only});

// ---- top level (§2) ----
FAKE_PIPELOCK_TYPE(
    config, "Config", {"version", K::integer}, {"mode", K::string}, {"enforce", K::boolean},
    {"explain_blocks", K::boolean}, {"api_allowlist", K::strings}, {"suppress", K::objects, &suppress},
    {"fetch_proxy", K::object, &fetch_proxy}, {"forward_proxy", K::object, &forward_proxy},
    {"websocket_proxy", K::object, &websocket_proxy}, {"dlp", K::object, &dlp},
    {"canary_tokens", K::object, &canary_tokens}, {"response_scanning", K::object, &response_scanning},
    {"mcp_input_scanning", K::object, &enabled_only}, {"mcp_tool_scanning", K::object, &enabled_only},
    {"mcp_tool_policy", K::object, &mcp_tool_policy}, {"mcp_session_binding", K::object, &enabled_only},
    {"mcp_ws_listener", K::object, &enabled_only}, {"mcp_binary_integrity", K::object, &enabled_only},
    {"mcp_tool_provenance", K::object, &mcp_tool_provenance}, {"git_protection", K::object, &git_protection},
    {"logging", K::object, &logging}, {"session_profiling", K::object, &session_profiling},
    {"adaptive_enforcement", K::object, &adaptive_enforcement},
    {"request_body_scanning", K::object, &request_body_scanning}, {"kill_switch", K::object, &kill_switch},
    {"sentry", K::object, &sentry}, {"metrics_listen", K::string}, {"emit", K::object, &emit},
    {"tool_chain_detection", K::object, &enabled_only}, {"tls_interception", K::object, &tls_interception},
    {"cross_request_detection", K::object, &cross_request_detection}, {"reverse_proxy", K::object, &reverse_proxy},
    {"scan_api", K::object, &scan_api}, {"address_protection", K::object, &enabled_only},
    {"seed_phrase_detection", K::object, &enabled_only}, {"rules", K::object, &enabled_only},
    {"file_sentry", K::object, &file_sentry}, {"sandbox", K::object, &enabled_only},
    {"flight_recorder", K::object, &flight_recorder}, {"behavioral_baseline", K::object, &behavioral_baseline},
    {"airlock", K::object, &enabled_only}, {"browser_shield", K::object, &enabled_only},
    {"media_policy", K::object, &enabled_only}, {"a2a_scanning", K::object, &a2a_scanning},
    {"taint", K::object, &taint}, {"mediation_envelope", K::object, &enabled_only},
    {"redaction", K::object, &enabled_only}, {"agents", K::named, &agent_profile},
    {"default_agent_identity", K::string}, {"bind_default_agent_identity", K::boolean}, {"license_key", K::string},
    {"license_file", K::string}, {"license_public_key", K::string}, {"internal", K::strings},
    {"trusted_domains", K::strings}, {"ssrf", K::object, &ssrf});

#undef FAKE_PIPELOCK_TYPE

}  // namespace

const Type& config_type() { return config; }

std::string go_type_name(const Field& field) {
  switch (field.kind) {
    case Kind::integer: return "int";
    case Kind::number: return "float64";
    case Kind::boolean: return "bool";
    case Kind::string: return "string";
    case Kind::strings: return "[]string";
    case Kind::object: return "config." + std::string(field.type->go_name);
    case Kind::objects: return "[]config." + std::string(field.type->go_name);
    case Kind::named: return "map[string]config." + std::string(field.type->go_name);
  }
  return "?";
}

}  // namespace fake_pipelock
