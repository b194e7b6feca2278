#include "bottle/egress/pipelock_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "bottle/core/error.hpp"
#include "core/json_reader.hpp"
#include "core/yaml_text.hpp"

namespace bottle {
namespace {

constexpr std::string_view what = "pipelock config";
constexpr int max_rate_limit = 1'000'000;
constexpr std::size_t max_path_length = 4096;

[[noreturn]] void field_error(std::string_view field, std::string_view problem) {
  detail::throw_field_error(what, field, problem);
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// pipelock v2.3 does not validate api_allowlist or passthrough_domains: a malformed
// entry loads and silently never matches. So bottle is strict here: lowercase DNS
// names only, and a wildcard must sit over at least two labels ("*.com" would open a
// whole TLD, and 3.x refuses wildcards over public suffixes).
void check_host(std::string_view host, std::string_view field) {
  std::string_view rest = host;
  const bool wildcard = rest.substr(0, 2) == "*.";
  if (wildcard) rest.remove_prefix(2);
  if (rest.empty() || host.size() > 253)
    field_error(field, "must be a hostname of 1-253 characters (e.g. \"api.example.com\" or \"*.example.com\")");
  std::size_t label = 0;
  std::size_t labels = 1;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '.') {
      if (label == 0 || rest[i - 1] == '-') field_error(field, "must not have empty labels or labels ending in '-'");
      label = 0;
      ++labels;
      continue;
    }
    if (!is_lower_alnum(c) && !(c == '-' && label > 0))
      field_error(field,
                  "must be a bare lowercase hostname (letters, digits, '-' and '.'; "
                  "no scheme, port, path, spaces or inner '*')");
    if (++label > 63) field_error(field, "has a label longer than 63 characters");
  }
  if (label == 0) field_error(field, "must not end with '.'");
  if (rest.back() == '-') field_error(field, "must not have labels ending in '-'");
  if (wildcard && labels < 2) field_error(field, "is a wildcard over a top-level domain (too broad)");
}

void check_hosts(const std::vector<std::string>& hosts, std::string_view field) {
  for (std::size_t i = 0; i < hosts.size(); ++i) check_host(hosts[i], fmt::format("{}[{}]", field, i));
}

// "host:port" with a hostname, dotted IPv4 or [IPv6] host (empty host means all
// interfaces, as in Go's ":8888") and a port in 1-65535.
void check_listen(std::string_view listen, std::string_view field) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) field_error(field, "must be \"host:port\"");
  const std::string_view host = listen.substr(0, colon);
  const std::string_view port = listen.substr(colon + 1);
  int number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || end != port.data() + port.size() || port.front() == '0' || number < 1 || number > 65535)
    field_error(field, "must end in a port from 1 to 65535");
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  const bool ok = std::all_of(host.begin(), host.end(), [&](char c) {
    return is_lower_alnum(c) || c == '.' || c == '-' ||
           (bracketed && (c == ':' || c == '[' || c == ']' || (c >= 'A' && c <= 'F')));
  });
  if (!ok) field_error(field, "must be \"host:port\" with a hostname, IPv4 or [IPv6] host");
}

void check_ca_path(std::string_view path, std::string_view field) {
  if (path.empty() || path.front() != '/')
    field_error(field,
                "must be an absolute path when TLS interception is on "
                "(pipelock resolves relative paths against the config's directory)");
  if (path.size() > max_path_length) field_error(field, "is too long");
  if (std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    field_error(field, "must not contain control characters");
}

// pipelock's MatchDomain: "*.x" covers x and every subdomain of x; a wildcard `host`
// is covered by an equal or broader wildcard.
bool allowlist_covers(const std::vector<std::string>& allowlist, std::string_view host) {
  const bool host_wildcard = host.substr(0, 2) == "*.";
  const std::string_view bare = host_wildcard ? host.substr(2) : host;
  return std::any_of(allowlist.begin(), allowlist.end(), [&](const std::string& entry) {
    if (entry == host) return true;
    if (entry.substr(0, 2) != "*.") return false;
    const std::string_view domain = std::string_view(entry).substr(2);
    return bare == domain ||
           (bare.size() > domain.size() && bare.ends_with(domain) && bare[bare.size() - domain.size() - 1] == '.');
  });
}

void add_sorted_unique(std::vector<std::string>& into, const std::vector<std::string>& hosts) {
  into.insert(into.end(), hosts.begin(), hosts.end());
  std::sort(into.begin(), into.end());
  into.erase(std::unique(into.begin(), into.end()), into.end());
}

// ---- rendering ----

class YamlWriter {
 public:
  void key(int depth, std::string_view name) { indent(depth), out_ += name, out_ += ":\n"; }
  void boolean(int depth, std::string_view name, bool value) { line(depth, name, value ? "true" : "false"); }
  void integer(int depth, std::string_view name, long long value) { line(depth, name, fmt::format("{}", value)); }
  void string(int depth, std::string_view name, std::string_view value, std::string_view field) {
    line(depth, name, detail::yaml_quoted(value, field));
  }
  void strings(int depth, std::string_view name, const std::vector<std::string>& values, std::string_view field) {
    if (values.empty()) return line(depth, name, "[]");
    key(depth, name);
    for (std::size_t i = 0; i < values.size(); ++i) {
      indent(depth + 1);
      out_ += "- ";
      out_ += detail::yaml_quoted(values[i], fmt::format("{}[{}]", field, i));
      out_ += '\n';
    }
  }
  void comment(std::string_view text) { out_ += "# ", out_ += text, out_ += '\n'; }
  std::string take() { return std::move(out_); }

 private:
  void indent(int depth) { out_.append(static_cast<std::size_t>(depth) * 2, ' '); }
  void line(int depth, std::string_view name, std::string_view value) {
    indent(depth), out_ += name, out_ += ": ", out_ += value, out_ += '\n';
  }
  std::string out_;
};

}  // namespace

std::string_view to_string(PipelockMode mode) {
  switch (mode) {
    case PipelockMode::strict: return "strict";
    case PipelockMode::balanced: return "balanced";
    case PipelockMode::audit: return "audit";
  }
  return "strict";
}

void validate_pipelock_settings(const PipelockSettings& s) {
  check_listen(s.listen, "listen");
  check_hosts(s.api_allowlist, "api_allowlist");
  check_hosts(s.passthrough_domains, "passthrough_domains");
  if (s.mode == PipelockMode::strict && s.api_allowlist.empty())
    field_error("api_allowlist", "must not be empty in strict mode (pipelock rejects it)");
  // Strict mode gates every CONNECT on the allowlist, passthrough ones included: a
  // passthrough host missing from it could never be reached.
  if (s.mode == PipelockMode::strict)
    for (std::size_t i = 0; i < s.passthrough_domains.size(); ++i)
      if (!allowlist_covers(s.api_allowlist, s.passthrough_domains[i]))
        field_error(fmt::format("passthrough_domains[{}]", i), "must also be in api_allowlist in strict mode");
  if (s.tls_interception) {
    check_ca_path(s.ca_cert, "ca_cert");
    check_ca_path(s.ca_key, "ca_key");
  }
  // 0 (or less) is silently rewritten to 60 by pipelock, never "unlimited".
  if (s.max_requests_per_minute < 1 || s.max_requests_per_minute > max_rate_limit)
    field_error("max_requests_per_minute",
                fmt::format("must be from 1 to {} (pipelock turns 0 into 60)", max_rate_limit));
  if (s.max_tunnel_seconds < 1) field_error("max_tunnel_seconds", "must be at least 1");
  if (s.idle_timeout_seconds < 1) field_error("idle_timeout_seconds", "must be at least 1");
}

PipelockSettings pipelock_settings_for(const BottleSpec& spec, const std::vector<std::string>& agent_hosts,
                                       const PipelockOptions& options) {
  if (agent_hosts.empty()) field_error("agent_hosts", "must name at least one host the agent needs");
  check_hosts(spec.allowlist, "$.allowlist");
  check_hosts(agent_hosts, "agent_hosts");
  check_listen(options.listen, "listen");
  if (options.tls_interception) {
    check_ca_path(options.ca_cert, "ca_cert");
    check_ca_path(options.ca_key, "ca_key");
  }
  if (options.max_requests_per_minute < 1 || options.max_requests_per_minute > max_rate_limit)
    field_error("max_requests_per_minute",
                fmt::format("must be from 1 to {} (pipelock turns 0 into 60)", max_rate_limit));

  PipelockSettings s;
  s.mode = PipelockMode::strict;
  s.listen = options.listen;
  s.tls_interception = options.tls_interception;
  if (options.tls_interception) s.ca_cert = options.ca_cert, s.ca_key = options.ca_key;
  s.max_requests_per_minute = options.max_requests_per_minute;

  add_sorted_unique(s.api_allowlist, spec.allowlist);
  add_sorted_unique(s.api_allowlist, agent_hosts);
  // egress injects real credentials on its route hosts: pipelock must let them through
  // (allowlist) without decrypting them (passthrough), or header DLP blocks the token.
  if (spec.egress.enabled) {
    for (std::size_t r = 0; r < spec.egress.routes.size(); ++r) {
      const auto& hosts = spec.egress.routes[r].hosts;
      check_hosts(hosts, fmt::format("$.egress.routes[{}].hosts", r));
      add_sorted_unique(s.api_allowlist, hosts);
      add_sorted_unique(s.passthrough_domains, hosts);
    }
  }
  // Forwarded host credentials are injected on the agent hosts, which are not in
  // egress.routes, so they are added here explicitly, each as its exact name.
  if (spec.forward_host_credentials) add_sorted_unique(s.passthrough_domains, agent_hosts);
  validate_pipelock_settings(s);
  return s;
}

std::string render_pipelock_yaml(const PipelockSettings& s) {
  YamlWriter w;
  w.comment("pipelock configuration generated by bottle (pipelock v2.3.0 schema). Do not edit.");
  w.integer(0, "version", 1);
  w.string(0, "mode", to_string(s.mode), "mode");
  w.boolean(0, "enforce", true);
  w.strings(0, "api_allowlist", s.api_allowlist, "api_allowlist");

  w.key(0, "fetch_proxy");
  w.string(1, "listen", s.listen, "listen");
  w.key(1, "monitoring");
  w.integer(2, "max_requests_per_minute", s.max_requests_per_minute);

  w.key(0, "forward_proxy");
  w.boolean(1, "enabled", true);  // HTTPS_PROXY (CONNECT) needs it
  w.integer(1, "max_tunnel_seconds", s.max_tunnel_seconds);
  w.integer(1, "idle_timeout_seconds", s.idle_timeout_seconds);
  w.boolean(1, "sni_verification", true);

  // Header DLP lives in request_body_scanning; "warn" would only log.
  w.key(0, "request_body_scanning");
  w.boolean(1, "enabled", true);
  w.string(1, "action", "block", "action");
  w.boolean(1, "scan_headers", true);
  w.string(1, "header_mode", "sensitive", "header_mode");

  // Otherwise every long, high-entropy variable of pipelock's own environment becomes
  // a literal DLP pattern and legitimate credentials trip header DLP.
  w.key(0, "dlp");
  w.boolean(1, "scan_env", false);

  w.key(0, "tls_interception");
  w.boolean(1, "enabled", s.tls_interception);
  if (s.tls_interception) {
    w.string(1, "ca_cert", s.ca_cert, "ca_cert");
    w.string(1, "ca_key", s.ca_key, "ca_key");
  }
  // Written even with interception off: harmless, and turning interception on later
  // then cannot decrypt a credential-carrying host by accident.
  w.strings(1, "passthrough_domains", s.passthrough_domains, "passthrough_domains");
  w.string(1, "cert_ttl", "24h", "cert_ttl");

  w.key(0, "logging");
  w.string(1, "format", "json", "format");
  w.string(1, "output", "stdout", "output");

  // Sentry defaults to enabled; a sandbox firewall must not phone home.
  w.key(0, "sentry");
  w.boolean(1, "enabled", false);
  return w.take();
}

}  // namespace bottle
