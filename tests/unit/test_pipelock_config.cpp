// pipelock config generation: the policy pipelock_settings_for derives from a spec,
// the exact YAML text, and that no value can change the YAML's structure.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "bottle/core/error.hpp"
#include "bottle/egress/pipelock_config.hpp"
#include "error_of.hpp"

using bottle::PipelockOptions;
using bottle::PipelockSettings;

namespace {

const std::vector<std::string> codex_hosts = {"chatgpt.com", "api.openai.com", "auth.openai.com"};
const std::vector<std::string> claude_hosts = {"api.anthropic.com", "console.anthropic.com"};

bottle::BottleSpec sample_spec() {
  bottle::BottleSpec spec;
  spec.name = "api-work";
  spec.agent = bottle::AgentKind::codex;
  spec.allowlist = {"github.com", "*.githubusercontent.com", "api.openai.com"};
  spec.forward_host_credentials = true;
  bottle::EgressRoute route;
  route.name = "gh";
  route.hosts = {"api.github.com"};
  route.dummy = "bottle-dummy-gh";
  route.value_file = "~/.config/gh/token";
  spec.egress.routes = {route};
  return spec;
}

PipelockOptions tls_options() {
  PipelockOptions o;
  o.tls_interception = true;
  o.ca_cert = "/var/lib/bottle/pipelock/ca.pem";
  o.ca_key = "/var/lib/bottle/pipelock/ca-key.pem";
  return o;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One double-quoted scalar and nothing else: every inner '"' escaped, every '\\'
// starting an escape. (Hand-written: std::regex recurses per character and overflows
// the stack on the 20000-character value below.)
bool is_quoted_scalar(const std::string& text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '"') return false;
    if (text[i] == '\\' && ++i + 1 >= text.size()) return false;
  }
  return true;
}

// Reads one YAML double-quoted scalar (the whole of `q`) back to its value, with the
// escapes YAML defines for the ones the generator uses.
std::string unquote(const std::string& q) {
  REQUIRE(is_quoted_scalar(q));
  std::string out;
  for (std::size_t i = 1; i + 1 < q.size(); ++i) {
    if (q[i] != '\\') {
      out += q[i];
      continue;
    }
    const char e = q[++i];
    const auto hex = [&](std::size_t n) {
      const auto cp = static_cast<std::uint32_t>(std::stoul(q.substr(i + 1, n), nullptr, 16));
      i += n;
      return cp;
    };
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '0': out += '\0'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'x': append_utf8(out, hex(2)); break;
      case 'u': append_utf8(out, hex(4)); break;
      case 'U': append_utf8(out, hex(8)); break;
      default: FAIL("unexpected escape \\" << e);
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every line is a fixed key with a literal or one quoted scalar, a list item holding
// one quoted scalar, or the header comment: nothing a value could have added.
bool is_known_line_shape(const std::string& line) {
  if (line.rfind("# ", 0) == 0) return true;
  const std::size_t indent = line.find_first_not_of(' ');
  if (indent == std::string::npos || indent % 2 != 0) return false;
  const std::string rest = line.substr(indent);
  if (rest.rfind("- ", 0) == 0) return indent > 0 && is_quoted_scalar(rest.substr(2));
  const std::size_t colon = rest.find(':');
  if (colon == 0 || colon == std::string::npos) return false;
  for (std::size_t i = 0; i < colon; ++i)
    if (!((rest[i] >= 'a' && rest[i] <= 'z') || rest[i] == '_')) return false;
  const std::string value = rest.substr(colon + 1);
  if (value.empty()) return true;
  if (value.rfind(' ', 0) != 0) return false;
  static const std::regex literal("true|false|[0-9]+|\\[\\]");
  return std::regex_match(value.substr(1), literal) || is_quoted_scalar(value.substr(1));
}

void require_only_known_line_shapes(const std::string& yaml) {
  for (const auto& line : lines_of(yaml)) {
    INFO(line.substr(0, 200));
    REQUIRE(is_known_line_shape(line));
  }
  REQUIRE(std::all_of(yaml.begin(), yaml.end(), [](char c) { return (c >= 0x20 && c < 0x7F) || c == '\n'; }));
}

// The values listed under `key:` (a list at any depth), decoded.
std::vector<std::string> list_under(const std::string& yaml, const std::string& key) {
  std::vector<std::string> values;
  bool in_list = false;
  for (const auto& line : lines_of(yaml)) {
    const auto start = line.find_first_not_of(' ');
    if (line.compare(start, key.size() + 1, key + ":") == 0) {
      in_list = true;
      continue;
    }
    if (in_list && line.compare(start, 2, "- ") == 0) values.push_back(unquote(line.substr(start + 2)));
    else in_list = false;
  }
  return values;
}

}  // namespace

TEST_CASE("pipelock YAML for a sample codex spec is exact", "[pipelock]") {
  const auto settings = bottle::pipelock_settings_for(sample_spec(), codex_hosts, tls_options());
  CHECK(bottle::render_pipelock_yaml(settings) ==
        R"(# pipelock configuration generated by bottle (pipelock v2.3.0 schema). Do not edit.
version: 1
mode: "strict"
enforce: true
api_allowlist:
  - "*.githubusercontent.com"
  - "api.github.com"
  - "api.openai.com"
  - "auth.openai.com"
  - "chatgpt.com"
  - "github.com"
fetch_proxy:
  listen: "127.0.0.1:8888"
  monitoring:
    max_requests_per_minute: 600
forward_proxy:
  enabled: true
  max_tunnel_seconds: 3600
  idle_timeout_seconds: 600
  sni_verification: true
request_body_scanning:
  enabled: true
  action: "block"
  scan_headers: true
  header_mode: "sensitive"
dlp:
  scan_env: false
tls_interception:
  enabled: true
  ca_cert: "/var/lib/bottle/pipelock/ca.pem"
  ca_key: "/var/lib/bottle/pipelock/ca-key.pem"
  passthrough_domains:
    - "api.github.com"
    - "api.openai.com"
    - "auth.openai.com"
    - "chatgpt.com"
  cert_ttl: "24h"
logging:
  format: "json"
  output: "stdout"
sentry:
  enabled: false
)");
}

TEST_CASE("pipelock output does not depend on input order", "[pipelock]") {
  auto spec = sample_spec();
  const auto a = bottle::render_pipelock_yaml(bottle::pipelock_settings_for(spec, codex_hosts));
  std::reverse(spec.allowlist.begin(), spec.allowlist.end());
  auto hosts = codex_hosts;
  std::reverse(hosts.begin(), hosts.end());
  hosts.push_back("chatgpt.com");  // duplicates collapse
  CHECK(bottle::render_pipelock_yaml(bottle::pipelock_settings_for(spec, hosts)) == a);
}

TEST_CASE("pipelock passthrough gets the agent hosts only when credentials are forwarded", "[pipelock]") {
  bottle::BottleSpec spec;
  spec.name = "b";
  spec.agent = bottle::AgentKind::claude;
  spec.allowlist = {"github.com", "*.anthropic.com"};

  SECTION("forwarding off: nothing is passthrough, the agent hosts are still allowed") {
    spec.forward_host_credentials = false;
    const auto s = bottle::pipelock_settings_for(spec, claude_hosts, tls_options());
    CHECK(s.passthrough_domains.empty());
    CHECK(s.api_allowlist ==
          std::vector<std::string>{"*.anthropic.com", "api.anthropic.com", "console.anthropic.com", "github.com"});
    const auto yaml = bottle::render_pipelock_yaml(s);
    CHECK(yaml.find("  passthrough_domains: []\n") != std::string::npos);
  }
  SECTION("forwarding on: exactly the agent hosts, by exact name, also allowlisted") {
    spec.forward_host_credentials = true;
    const auto s = bottle::pipelock_settings_for(spec, claude_hosts, tls_options());
    CHECK(s.passthrough_domains == std::vector<std::string>{"api.anthropic.com", "console.anthropic.com"});
    const auto yaml = bottle::render_pipelock_yaml(s);
    CHECK(list_under(yaml, "passthrough_domains") == s.passthrough_domains);
    for (const auto& host : claude_hosts) CHECK(std::count(s.api_allowlist.begin(), s.api_allowlist.end(), host) == 1);
    // The spec's own allowlist (github.com, the wildcard) is not passthrough.
    CHECK(yaml.find("- \"github.com\"") != std::string::npos);
    CHECK(list_under(yaml, "passthrough_domains").size() == 2);
  }
  SECTION("egress route hosts are passthrough; disabled egress adds none") {
    spec.forward_host_credentials = false;
    bottle::EgressRoute route;
    route.name = "gh";
    route.hosts = {"api.github.com"};
    route.dummy = "bottle-dummy-gh";
    route.value_file = "/tmp/t";
    spec.egress.routes = {route};
    CHECK(bottle::pipelock_settings_for(spec, claude_hosts).passthrough_domains ==
          std::vector<std::string>{"api.github.com"});
    spec.egress.enabled = false;
    CHECK(bottle::pipelock_settings_for(spec, claude_hosts).passthrough_domains.empty());
  }
}

TEST_CASE("pipelock settings keep strict mode, header DLP and a non-zero rate limit", "[pipelock]") {
  const auto s = bottle::pipelock_settings_for(sample_spec(), codex_hosts);
  CHECK(s.mode == bottle::PipelockMode::strict);
  CHECK(s.max_requests_per_minute > 0);
  CHECK_FALSE(s.tls_interception);
  const auto yaml = bottle::render_pipelock_yaml(s);
  CHECK(yaml.find("  scan_headers: true\n") != std::string::npos);
  CHECK(yaml.find("  scan_env: false\n") != std::string::npos);
  CHECK(yaml.find("ca_cert") == std::string::npos);  // only written with interception on
  require_only_known_line_shapes(yaml);
}

TEST_CASE("pipelock input errors name the field", "[pipelock]") {
  auto spec = sample_spec();
  PipelockOptions options;
  const auto error = [&](const std::vector<std::string>& hosts = codex_hosts) {
    return error_of([&] { bottle::pipelock_settings_for(spec, hosts, options); });
  };
  SECTION("spec allowlist") {
    spec.allowlist[1] = "evil\"\n  mode: audit";
    CHECK_THAT(error(), Catch::StartsWith("pipelock config: $.allowlist[1]: must be a bare lowercase hostname"));
    spec.allowlist[1] = "*.com";
    CHECK_THAT(error(), Catch::Contains("$.allowlist[1]: is a wildcard over a top-level domain"));
  }
  SECTION("agent hosts") {
    CHECK_THAT(error({"api.openai.com", "https://chatgpt.com"}), Catch::Contains("agent_hosts[1]:"));
    CHECK_THAT(error({"api.openai.com:443"}), Catch::Contains("agent_hosts[0]:"));
    CHECK_THAT(error({"API.openai.com"}), Catch::Contains("agent_hosts[0]:"));
    CHECK_THAT(error({""}), Catch::Contains("agent_hosts[0]: must be a hostname"));
    CHECK_THAT(error({}), Catch::Contains("agent_hosts: must name at least one host"));
  }
  SECTION("egress route hosts") {
    spec.egress.routes[0].hosts = {"api.github.com", "bad host"};
    CHECK_THAT(error(), Catch::Contains("$.egress.routes[0].hosts[1]:"));
  }
  SECTION("options") {
    options.max_requests_per_minute = 0;
    CHECK_THAT(error(), Catch::Contains("max_requests_per_minute: must be from 1"));
    options = {};
    options.listen = "127.0.0.1";
    CHECK_THAT(error(), Catch::Contains("listen: must be \"host:port\""));
    options.listen = "0.0.0.0:99999";
    CHECK_THAT(error(), Catch::Contains("listen: must end in a port"));
    options = {};
    options.tls_interception = true;
    options.ca_cert = "ca.pem";
    options.ca_key = "/k";
    CHECK_THAT(error(), Catch::Contains("ca_cert: must be an absolute path"));
    options.ca_cert = "/c";
    options.ca_key = "/k\n";
    CHECK_THAT(error(), Catch::Contains("ca_key: must not contain control characters"));
  }
  SECTION("hand-built settings") {
    PipelockSettings s;
    s.api_allowlist = {"a.example.com"};
    s.passthrough_domains = {"b.example.com"};
    CHECK_THAT(error_of([&] { bottle::validate_pipelock_settings(s); }),
               Catch::Contains("passthrough_domains[0]: must also be in api_allowlist"));
    s.api_allowlist = {"*.example.com"};  // covers b.example.com, as pipelock matches it
    CHECK_NOTHROW(bottle::validate_pipelock_settings(s));
    s.api_allowlist.clear();
    s.passthrough_domains.clear();
    CHECK_THAT(error_of([&] { bottle::validate_pipelock_settings(s); }),
               Catch::Contains("api_allowlist: must not be empty in strict mode"));
  }
}

TEST_CASE("pipelock YAML keeps hostile values inert", "[pipelock]") {
  const std::vector<std::string> hostile = {
      "evil\"\n  mode: audit",
      "x\"\nmode: \"audit",
      "# not a comment",
      "a: b",
      "&anchor",
      "*alias",
      "!!python/object:os.system",
      "---",
      "...",
      "- item",
      "{a: 1}",
      "[x]",
      "| block",
      "\\",
      "\\n literally",
      "tab\there\r\x01\x1f\x7f",
      std::string("nul\0byte", 8),
      "caf\xC3\xA9 \xE2\x98\x95 \xF0\x9D\x94\x98",
      "line\xE2\x80\xA8sep\xC2\x85nel\xEF\xBB\xBF",
      "\xC2\x9B c1 control",
      "",
      "  spaces  ",
      "null",
      "~",
      "true",
      "0x10",
      "%TAG ! tag:evil:",
      "? key",
      "@`'",
      std::string(10000, 'a') + "\"\n" + std::string(10000, 'b'),
  };
  PipelockSettings s;
  s.api_allowlist = hostile;
  s.passthrough_domains = {"ok.example.com", "evil\"\n  enabled: false"};
  s.listen = "127.0.0.1:8888\n  bogus: 1";
  s.tls_interception = true;
  s.ca_cert = "/tmp/ca\"\nmode: audit";
  s.ca_key = "/tmp/#key";
  const auto yaml = bottle::render_pipelock_yaml(s);

  require_only_known_line_shapes(yaml);
  CHECK(list_under(yaml, "api_allowlist") == hostile);
  CHECK(list_under(yaml, "passthrough_domains") == s.passthrough_domains);
  // The fixed keys appear exactly once each, at their own place.
  const auto lines = lines_of(yaml);
  CHECK(std::count(lines.begin(), lines.end(), "mode: \"strict\"") == 1);
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("mode:", 0) == 0; }) == 1);
  const auto starts_with_key = [&](const std::string& key) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.compare(l.find_first_not_of(' '), key.size(), key) == 0;
    });
  };
  CHECK(starts_with_key("enabled:") == 4);  // forward_proxy, request_body_scanning, tls, sentry
  CHECK(starts_with_key("mode:") == 1);
  for (const auto& line : lines) {
    if (line.rfind("  listen: ", 0) == 0) CHECK(unquote(line.substr(10)) == s.listen);
    if (line.rfind("  ca_cert: ", 0) == 0) CHECK(unquote(line.substr(11)) == s.ca_cert);
    if (line.rfind("  ca_key: ", 0) == 0) CHECK(unquote(line.substr(10)) == s.ca_key);
  }
}

TEST_CASE("pipelock YAML refuses text that is not UTF-8, naming the field", "[pipelock]") {
  PipelockSettings s;
  s.api_allowlist = {"a.example.com", "bad\xFF"};
  CHECK(error_of([&] { bottle::render_pipelock_yaml(s); }) == "pipelock config: api_allowlist[1]: is not valid UTF-8");
  s.api_allowlist = {"\xC0\xAF"};  // overlong '/'
  CHECK_THAT(error_of([&] { bottle::render_pipelock_yaml(s); }), Catch::Contains("api_allowlist[0]"));
  s.api_allowlist = {"\xED\xA0\x80"};  // a UTF-16 surrogate
  CHECK_THAT(error_of([&] { bottle::render_pipelock_yaml(s); }), Catch::Contains("api_allowlist[0]"));
  s.api_allowlist = {"ok.example.com"};
  s.passthrough_domains = {"\xE2\x98"};  // truncated sequence
  CHECK_THAT(error_of([&] { bottle::render_pipelock_yaml(s); }), Catch::Contains("passthrough_domains[0]"));
}
