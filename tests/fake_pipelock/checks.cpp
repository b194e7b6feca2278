#include "checks.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <regex>
#include <vector>

#include "decode.hpp"

namespace fake_pipelock {
namespace {

namespace fs = std::filesystem;

struct Failure {
  std::string message;
};
[[noreturn]] void fail(const std::string& message) { throw Failure{message}; }

bool one_of(const std::string& value, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return value == a; });
}

std::string mode_text(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777u);
  return buf;
}

// Go's time.ParseDuration: [-+]? then one or more <decimal><unit> with units
// ns us µs ms s m h; "0" alone is allowed. Returns seconds.
std::optional<double> go_duration(const std::string& text) {
  static const std::regex whole("[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\xC2\xB5s|ms|s|m|h))+|[-+]?0");
  if (!std::regex_match(text, whole)) return std::nullopt;
  static const std::regex part("([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|\xC2\xB5s|ms|s|m|h)");
  double total = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), part), end; it != end; ++it) {
    const double n = std::strtod((*it)[1].str().c_str(), nullptr);
    const std::string unit = (*it)[3].str();
    const double scale = unit == "h"    ? 3600
                         : unit == "m"  ? 60
                         : unit == "s"  ? 1
                         : unit == "ms" ? 1e-3
                         : unit == "ns" ? 1e-9
                                        : 1e-6;
    total += n * scale;
  }
  return text.front() == '-' ? -total : total;
}

fs::path resolve(const std::string& path, const fs::path& dir) {
  if (!path.empty() && path.front() == '~') {
    const char* home = std::getenv("HOME");
    return fs::path(home ? home : "") / path.substr(path.size() > 1 ? 2 : 1);
  }
  const fs::path p(path);
  return p.is_absolute() ? p : dir / p;
}

// A secret-bearing file must exist and have none of `forbidden` in its mode.
void check_secret_file(const std::string& field, const fs::path& path, unsigned forbidden, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(field + ": " + what + " not found at " + path.string());
  if ((st.st_mode & forbidden) != 0)
    fail(field + ": " + what + " " + path.string() + " is too permissive (mode " + mode_text(st.st_mode) +
         "; must not have bits " + mode_text(forbidden) + ")");
}

bool dns_label_text(const std::string& s) {
  static const std::regex host("([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");
  return std::regex_match(s, host);
}

// ValidateTrustedDomains (§2.1): no URL, no host:port, no bare "*", no "*.tld", no
// wildcard other than a "*." prefix.
void check_host_patterns(const std::string& field, const std::vector<std::string>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string& e = entries[i];
    const std::string at = field + "[" + std::to_string(i) + "]: " + go_quote(e);
    if (e.find("://") != std::string::npos || e.find('/') != std::string::npos)
      fail(at + " must be a hostname, not a URL");
    if (e.find(':') != std::string::npos) fail(at + " must be a hostname without a port");
    if (e == "*") fail(at + ": bare \"*\" is not allowed");
    const bool wildcard = e.rfind("*.", 0) == 0;
    const std::string rest = wildcard ? e.substr(2) : e;
    if (rest.find('*') != std::string::npos) fail(at + ": wildcards are only allowed as a \"*.\" prefix");
    if (wildcard && rest.find('.') == std::string::npos) fail(at + ": wildcard over a top-level domain is too broad");
    if (rest.empty() || rest.find(' ') != std::string::npos) fail(at + " is not a hostname");
  }
}

// passthrough_domains: exact host or "*." prefix, nothing else (no scheme, port, path,
// spaces, empty entries, bare "*", double trailing dot, "*.tld"). v2.3.0 itself loads
// such entries and they never match (§5.3); 3.x rejects them (§9). The fake rejects
// them so an inert entry can never pass as OK.
void check_passthrough(const std::vector<std::string>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string e = entries[i];
    const std::string at = "tls_interception.passthrough_domains[" + std::to_string(i) + "]: " + go_quote(e);
    if (e.empty()) fail(at + ": empty entry");
    if (e == "*") fail(at + ": bare \"*\" is not allowed");
    if (e.find("://") != std::string::npos) fail(at + " is not a bare hostname (has a URL scheme)");
    if (e.find('/') != std::string::npos) fail(at + " is not a bare hostname (has a path)");
    if (e.find(':') != std::string::npos) fail(at + " is not a bare hostname (has a port)");
    if (e.find_first_of(" \t\r\n") != std::string::npos) fail(at + " is not a bare hostname (has spaces)");
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (e.size() >= 2 && e.compare(e.size() - 2, 2, "..") == 0) fail(at + ": double trailing dot");
    if (!e.empty() && e.back() == '.') e.pop_back();
    const bool wildcard = e.rfind("*.", 0) == 0;
    const std::string rest = wildcard ? e.substr(2) : e;
    if (!dns_label_text(rest) || rest.size() > 253)
      fail(at + " is not a bare hostname (exact host or \"*.\" prefix; DNS characters only)");
    if (wildcard && rest.find('.') == std::string::npos) fail(at + ": wildcard over a public suffix");
  }
}

struct Cidr {
  bool ok = false;
  int bits = 0;
  bool host_bits = false;
};
Cidr parse_cidr(const std::string& text) {
  Cidr c;
  const auto slash = text.find('/');
  if (slash == std::string::npos) return c;
  const std::string addr = text.substr(0, slash);
  const std::string len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3 || !std::all_of(len.begin(), len.end(), ::isdigit)) return c;
  unsigned char bytes[16] = {};
  int width = 0;
  if (::inet_pton(AF_INET, addr.c_str(), bytes) == 1) width = 32;
  else if (::inet_pton(AF_INET6, addr.c_str(), bytes) == 1) width = 128;
  else return c;
  c.bits = std::stoi(len);
  if (c.bits > width) return c;
  for (int b = c.bits; b < width; ++b)
    if (bytes[b / 8] & (0x80 >> (b % 8))) c.host_bits = true;
  c.ok = true;
  return c;
}

std::string port_of(const std::string& listen) {
  const auto colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(colon + 1);
}

bool enabled(const YAML::Node& doc, const char* section) { return bool_or(lookup(doc, {section, "enabled"}), false); }

void validate(const YAML::Node& doc, const fs::path& dir) {
  // mode and allowlist (§2, §3.1)
  const std::string mode = string_or(lookup(doc, {"mode"}), "balanced");
  if (!mode.empty() && !one_of(mode, {"strict", "balanced", "audit"}))
    fail("invalid mode " + go_quote(mode) + ": must be strict, balanced, or audit");
  if (mode == "strict" && strings_of(lookup(doc, {"api_allowlist"})).empty())
    fail("api_allowlist: strict mode requires a non-empty api_allowlist");

  // fetch_proxy (§3.1, §3.2): values <= 0 become defaults, negatives are rejected.
  for (const char* key : {"max_requests_per_minute", "max_data_per_minute", "max_url_length"})
    if (int_or(lookup(doc, {"fetch_proxy", "monitoring", key}), 0) < 0)
      fail(std::string("fetch_proxy.monitoring.") + key + " must not be negative");
  check_host_patterns("fetch_proxy.monitoring.subdomain_entropy_exclusions",
                      strings_of(lookup(doc, {"fetch_proxy", "monitoring", "subdomain_entropy_exclusions"})));
  const std::string listen = string_or(lookup(doc, {"fetch_proxy", "listen"}), "127.0.0.1:8888");

  // tls_interception (§2.1, §5.3). passthrough entries are checked even when off.
  check_passthrough(strings_of(lookup(doc, {"tls_interception", "passthrough_domains"})));
  if (enabled(doc, "tls_interception")) {
    std::string ttl = string_or(lookup(doc, {"tls_interception", "cert_ttl"}), "");
    if (ttl.empty()) ttl = "24h";
    const auto seconds = go_duration(ttl);
    if (!seconds) fail("tls_interception.cert_ttl: invalid duration " + go_quote(ttl));
    if (*seconds <= 0) fail("tls_interception.cert_ttl must be greater than 0");
    if (int_or(lookup(doc, {"tls_interception", "cert_cache_size"}), 10000) < 0)
      fail("tls_interception.cert_cache_size must be greater than 0");
    if (int_or(lookup(doc, {"tls_interception", "max_response_bytes"}), 5242880) < 0)
      fail("tls_interception.max_response_bytes must be greater than 0");
    std::string cert = string_or(lookup(doc, {"tls_interception", "ca_cert"}), "");
    std::string key = string_or(lookup(doc, {"tls_interception", "ca_key"}), "");
    const fs::path cert_path = resolve(cert.empty() ? "~/.pipelock/ca.pem" : cert, dir);
    const fs::path key_path = resolve(key.empty() ? "~/.pipelock/ca-key.pem" : key, dir);
    struct stat st {};
    if (::stat(cert_path.c_str(), &st) != 0)
      fail("tls_interception.ca_cert: CA cert not found at " + cert_path.string() + " (run 'pipelock tls init')");
    if (::stat(key_path.c_str(), &st) != 0)
      fail("tls_interception.ca_key: CA key not found at " + key_path.string() + " (run 'pipelock tls init')");
    check_secret_file("tls_interception.ca_key", key_path, 0137, "CA key");
  }

  // dlp (§3.4)
  if (!string_or(lookup(doc, {"dlp", "action"}), "").empty()) fail("dlp.action is reserved and must be empty");
  if (const std::string secrets = string_or(lookup(doc, {"dlp", "secrets_file"}), ""); !secrets.empty())
    check_secret_file("dlp.secrets_file", resolve(secrets, dir), 0037, "secrets file");
  const YAML::Node patterns = lookup(doc, {"dlp", "patterns"});
  for (std::size_t i = 0; patterns.IsSequence() && i < patterns.size(); ++i) {
    const YAML::Node p = patterns[i];
    const std::string at = "dlp.patterns[" + std::to_string(i) + "]";
    const std::string name = string_or(p["name"], "");
    const std::string regex = string_or(p["regex"], "");
    if (name.empty()) fail(at + ".name is required");
    if (regex.empty()) fail(at + " " + go_quote(name) + ": regex is required");
    // RE2 has no lookaround and no backreferences.
    if (std::regex_search(regex, std::regex(R"(\(\?<?[=!]|\\[1-9])")))
      fail(at + " " + go_quote(name) + ": invalid regex (RE2 has no lookaround or backreferences)");
    if (!one_of(string_or(p["action"], ""), {"", "warn"}))
      fail(at + " " + go_quote(name) + ": action must be empty or \"warn\"");
    if (!one_of(string_or(p["validator"], ""), {"", "luhn", "mod97", "aba", "wif"}))
      fail(at + " " + go_quote(name) + ": validator must be luhn, mod97, aba or wif");
    check_host_patterns(at + ".exempt_domains", strings_of(p["exempt_domains"]));
  }

  // request_body_scanning (§4.1); omitted or null `enabled` means true.
  if (bool_or(lookup(doc, {"request_body_scanning", "enabled"}), true)) {
    std::string action = string_or(lookup(doc, {"request_body_scanning", "action"}), "");
    if (!one_of(action, {"", "warn", "block"}))
      fail("request_body_scanning.action must be warn or block, got " + go_quote(action));
    if (int_or(lookup(doc, {"request_body_scanning", "max_body_bytes"}), 0) < 0)
      fail("request_body_scanning.max_body_bytes must be greater than 0");
    const std::string header_mode = string_or(lookup(doc, {"request_body_scanning", "header_mode"}), "");
    if (!one_of(header_mode, {"", "sensitive", "all"}))
      fail("request_body_scanning.header_mode must be sensitive or all, got " + go_quote(header_mode));
  }

  // Other host-pattern lists (§2.1).
  check_host_patterns("trusted_domains", strings_of(lookup(doc, {"trusted_domains"})));
  check_host_patterns("response_scanning.exempt_domains",
                      strings_of(lookup(doc, {"response_scanning", "exempt_domains"})));
  check_host_patterns("adaptive_enforcement.exempt_domains",
                      strings_of(lookup(doc, {"adaptive_enforcement", "exempt_domains"})));
  check_host_patterns("cross_request_detection.entropy_budget.exempt_domains",
                      strings_of(lookup(doc, {"cross_request_detection", "entropy_budget", "exempt_domains"})));

  // CIDR lists.
  const auto ssrf = strings_of(lookup(doc, {"ssrf", "ip_allowlist"}));
  for (std::size_t i = 0; i < ssrf.size(); ++i) {
    const Cidr c = parse_cidr(ssrf[i]);
    const std::string at = "ssrf.ip_allowlist[" + std::to_string(i) + "]: " + go_quote(ssrf[i]);
    if (!c.ok) fail(at + " is not a CIDR");
    if (c.bits == 0) fail(at + ": /0 is not allowed");
    if (c.host_bits) fail(at + " has host bits set");
  }
  const auto internal = strings_of(lookup(doc, {"internal"}));
  for (std::size_t i = 0; i < internal.size(); ++i)
    if (!parse_cidr(internal[i]).ok)
      fail("internal[" + std::to_string(i) + "]: " + go_quote(internal[i]) + " is not a CIDR");

  // Ports and tokens (§2.1).
  const std::string api_listen = string_or(lookup(doc, {"kill_switch", "api_listen"}), "");
  if (!api_listen.empty()) {
    if (port_of(api_listen) == port_of(listen))
      fail("kill_switch.api_listen must not share a port with fetch_proxy.listen");
    if (string_or(lookup(doc, {"kill_switch", "api_token"}), "").empty())
      fail("kill_switch.api_listen requires kill_switch.api_token");
  }
  const std::string metrics = string_or(lookup(doc, {"metrics_listen"}), "");
  if (!metrics.empty() && port_of(metrics) == port_of(listen))
    fail("metrics_listen must not share a port with fetch_proxy.listen");
  if (!string_or(lookup(doc, {"scan_api", "listen"}), "").empty() &&
      strings_of(lookup(doc, {"scan_api", "auth", "bearer_tokens"})).empty())
    fail("scan_api.auth.bearer_tokens is required when scan_api.listen is set");
  if (const std::string license = string_or(lookup(doc, {"license_file"}), ""); !license.empty())
    check_secret_file("license_file", resolve(license, dir), 0037, "license file");
  if (bool_or(lookup(doc, {"bind_default_agent_identity"}), false) &&
      string_or(lookup(doc, {"default_agent_identity"}), "").empty())
    fail("bind_default_agent_identity requires default_agent_identity");

  // suppress entries
  const YAML::Node suppress = lookup(doc, {"suppress"});
  for (std::size_t i = 0; suppress.IsSequence() && i < suppress.size(); ++i)
    if (string_or(suppress[i]["rule"], "").empty() || string_or(suppress[i]["path"], "").empty())
      fail("suppress[" + std::to_string(i) + "]: rule and path are required");

  // logging (§2)
  const std::string format = string_or(lookup(doc, {"logging", "format"}), "");
  if (!one_of(format, {"", "json", "text"})) fail("logging.format must be json or text, got " + go_quote(format));
  const std::string output = string_or(lookup(doc, {"logging", "output"}), "");
  if (!one_of(output, {"", "stdout", "file", "both"}))
    fail("logging.output must be stdout, file or both, got " + go_quote(output));
  if ((output == "file" || output == "both") && string_or(lookup(doc, {"logging", "file"}), "").empty())
    fail("logging.file is required when logging.output is " + output);

  // Feature dependencies (§2.1).
  if (enabled(doc, "websocket_proxy") && !bool_or(lookup(doc, {"websocket_proxy", "strip_compression"}), true))
    fail("websocket_proxy.strip_compression: false is not allowed when the WebSocket proxy is enabled");
  if (enabled(doc, "adaptive_enforcement") && !enabled(doc, "session_profiling"))
    fail("adaptive_enforcement.enabled requires session_profiling.enabled");
  if (enabled(doc, "airlock") && !enabled(doc, "session_profiling"))
    fail("airlock.enabled requires session_profiling.enabled");
  if (enabled(doc, "mcp_session_binding") && !enabled(doc, "mcp_tool_scanning"))
    fail("mcp_session_binding.enabled requires mcp_tool_scanning.enabled");
  if (const YAML::Node rules = lookup(doc, {"mcp_tool_policy", "rules"});
      enabled(doc, "mcp_tool_policy") && (!rules.IsSequence() || rules.size() == 0))
    fail("mcp_tool_policy.enabled requires at least one rule");
  if (enabled(doc, "redaction") && !bool_or(lookup(doc, {"request_body_scanning", "enabled"}), true))
    fail("redaction.enabled requires request_body_scanning.enabled");
  if (enabled(doc, "cross_request_detection") &&
      !bool_or(lookup(doc, {"cross_request_detection", "entropy_budget", "enabled"}), false) &&
      !bool_or(lookup(doc, {"cross_request_detection", "fragment_reassembly", "enabled"}), false))
    fail("cross_request_detection is enabled but no sub-feature is enabled");
}

}  // namespace

std::optional<std::string> validate_config(const YAML::Node& document, const fs::path& config_dir) {
  try {
    validate(document, config_dir);
  } catch (const Failure& failure) { return failure.message; }
  return std::nullopt;
}

}  // namespace fake_pipelock
