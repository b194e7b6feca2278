#include "bottle/egress/http_request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/ascii_text.hpp"

namespace bottle {

namespace {

constexpr std::string_view crlf = "\r\n";

HttpRefusal refuse(int status, std::string reason) { return HttpRefusal{status, std::move(reason)}; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar); }

// field-value characters (RFC 9110 §5.5): VCHAR, obs-text, and SP/HTAB inside.
bool is_field_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == ' ' || c == '\t' || (u >= 0x21 && u != 0x7f);
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_dns_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

bool is_ipv4_literal(std::string_view host) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view part =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_digit)) return false;
    if (part.size() > 1 && part.front() == '0') return false;  // no octal-looking parts
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool is_ipv6_literal(std::string_view inside) {
  if (inside.size() < 2 || inside.size() > 45) return false;
  return std::all_of(inside.begin(), inside.end(),
                     [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.'; }) &&
         inside.find(':') != std::string_view::npos;
}

// Splits `head` into its lines (without CRLF); the last line is the empty one.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < head.size()) {
    const std::size_t end = head.find(crlf, start);
    if (end == std::string_view::npos) break;
    lines.push_back(head.substr(start, end - start));
    start = end + crlf.size();
  }
  return lines;
}

struct RequestLine {
  std::string_view method, target;
  int minor_version = 1;
};

std::variant<RequestLine, HttpRefusal> parse_request_line(std::string_view line, const HttpLimits& limits) {
  if (line.size() > limits.max_line_bytes) return refuse(414, "request line too long");
  const std::size_t first = line.find(' ');
  const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
    return refuse(400, "request line is not METHOD SP TARGET SP VERSION");
  RequestLine out{line.substr(0, first), line.substr(first + 1, second - first - 1)};
  const std::string_view version = line.substr(second + 1);
  if (!is_token(out.method)) return refuse(400, "method is not a token");
  if (out.target.empty() || !std::all_of(out.target.begin(), out.target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x21 && u <= 0x7e;
      }))
    return refuse(400, "request target has a character outside visible ASCII");
  if (version == "HTTP/1.1") out.minor_version = 1;
  else if (version == "HTTP/1.0") out.minor_version = 0;
  else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) && version[6] == '.' &&
           is_digit(version[7]))
    return refuse(505, "only HTTP/1.1 and HTTP/1.0 are served");
  else return refuse(400, "malformed HTTP version");
  return out;
}

std::variant<HttpField, HttpRefusal> parse_field_line(std::string_view line, const HttpLimits& limits) {
  if (line.size() > limits.max_line_bytes) return refuse(431, "header field line too long");
  if (line.front() == ' ' || line.front() == '\t') return refuse(400, "obs-fold (a folded header line)");
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return refuse(400, "header line without ':'");
  const std::string_view name = line.substr(0, colon);
  if (!is_token(name)) return refuse(400, "header field name is not a token");
  const std::string_view value = trim_ows(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), is_field_char))
    return refuse(400, fmt::format("header field {} has a control character in its value", name));
  return HttpField{std::string(name), std::string(value)};
}

// The comma-separated elements of a list field, trimmed, lowercased, empty ones
// skipped (RFC 9110 §5.6.1).
std::vector<std::string> list_elements(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = value.find(',', start);
    const std::string_view element =
        trim_ows(value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!element.empty()) out.push_back(ascii_lowercase(element));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string_view> values_of(const std::vector<HttpField>& fields, std::string_view name) {
  std::vector<std::string_view> out;
  for (const HttpField& field : fields)
    if (field_name_is(field.name, name)) out.push_back(field.value);
  return out;
}

// Where the request goes, from its target and place; sets head.authority and head.path.
std::optional<HttpRefusal> resolve_target(RequestHead& head, const RequestPlace& place) {
  const bool is_connect = head.method == "CONNECT";
  if (place.tunnel_authority) {
    if (is_connect) return refuse(405, "CONNECT inside a tunnel");
    if (head.target == "*" ? head.method != "OPTIONS" : head.target.front() != '/')
      return refuse(400, "request target in a tunnel must be origin-form");
    head.authority = *place.tunnel_authority;
    head.path = head.target;
    return std::nullopt;
  }
  if (is_connect) {
    auto authority = parse_authority(head.target, 0);
    if (!authority) return refuse(400, "CONNECT target is not host:port");
    head.authority = std::move(*authority);
    return std::nullopt;
  }
  constexpr std::string_view scheme = "http://";
  if (head.target.size() <= scheme.size() || ascii_lowercase(head.target.substr(0, scheme.size())) != scheme)
    return refuse(400, "a proxy request must be CONNECT or absolute-form http://");
  const std::string_view rest = std::string_view(head.target).substr(scheme.size());
  if (rest.find('#') != std::string_view::npos) return refuse(400, "request target has a fragment");
  const std::size_t path_start = rest.find_first_of("/?");
  auto authority = parse_authority(rest.substr(0, path_start), 80);
  if (!authority) return refuse(400, "request target has no valid host[:port]");
  head.authority = std::move(*authority);
  head.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (head.path.front() == '?') head.path = "/" + head.path;
  return std::nullopt;
}

std::optional<HttpRefusal> check_host(const RequestHead& head, bool in_tunnel) {
  const auto hosts = values_of(head.fields, "Host");
  if (hosts.size() > 1) return refuse(400, "more than one Host");
  if (hosts.empty()) {
    if (head.minor_version == 1 && head.method != "CONNECT") return refuse(400, "no Host in an HTTP/1.1 request");
    return std::nullopt;
  }
  // A Host without a port means the scheme's default: 443 in a TLS tunnel, 80 for an
  // absolute-form http:// request, the target's own port for CONNECT.
  const std::uint16_t default_port = in_tunnel ? 443 : head.method == "CONNECT" ? head.authority.port : 80;
  const auto host = parse_authority(hosts.front(), default_port);
  if (!host) return refuse(400, "Host is not a valid host[:port]");
  if (*host != head.authority) return refuse(400, "Host does not name where the request goes");
  return std::nullopt;
}

std::optional<HttpRefusal> resolve_framing(RequestHead& head) {
  const auto lengths = values_of(head.fields, "Content-Length");
  const auto codings = values_of(head.fields, "Transfer-Encoding");
  if (!codings.empty()) {
    if (!lengths.empty()) return refuse(400, "both Content-Length and Transfer-Encoding");
    if (head.minor_version == 0) return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (codings.size() != 1 || ascii_lowercase(codings.front()) != "chunked")
      return refuse(501, "the only transfer coding accepted is a single chunked");
    head.framing = BodyFraming::chunked;
  } else if (!lengths.empty()) {
    if (lengths.size() != 1) return refuse(400, "more than one Content-Length");
    const auto length = parse_decimal(lengths.front());
    if (!length) return refuse(400, "Content-Length is not a plain decimal number");
    head.framing = BodyFraming::content_length;
    head.content_length = *length;
  }
  if (head.method == "CONNECT" &&
      (head.framing == BodyFraming::chunked || (head.framing == BodyFraming::content_length && head.content_length)))
    return refuse(400, "a CONNECT request has no body");
  return std::nullopt;
}

std::optional<HttpRefusal> resolve_connection(RequestHead& head) {
  std::vector<std::string> tokens;
  for (std::string_view value : values_of(head.fields, "Connection"))
    for (std::string& token : list_elements(value)) {
      if (!is_token(token)) return refuse(400, "Connection lists something that is not a field name");
      // Dropping the fields Connection names must never change framing or authority.
      if (token == "host" || token == "content-length" || token == "transfer-encoding")
        return refuse(400, "Connection names a field egress cannot drop");
      tokens.push_back(std::move(token));
    }
  const auto has = [&](std::string_view t) { return std::find(tokens.begin(), tokens.end(), t) != tokens.end(); };
  head.keep_alive = head.minor_version == 1 ? !has("close") : has("keep-alive") && !has("close");
  const auto upgrades = values_of(head.fields, "Upgrade");
  head.websocket_upgrade = head.method == "GET" && has("upgrade") && upgrades.size() == 1 &&
                           ascii_lowercase(upgrades.front()) == "websocket" && head.framing == BodyFraming::none;
  const auto expects = values_of(head.fields, "Expect");
  if (!expects.empty()) {
    if (expects.size() != 1 || ascii_lowercase(expects.front()) != "100-continue")
      return refuse(417, "the only Expect accepted is 100-continue");
    head.expect_continue = true;
  }
  return std::nullopt;
}

}  // namespace

std::string Authority::text() const { return fmt::format("{}:{}", host, port); }

std::optional<Authority> parse_authority(std::string_view text, std::uint16_t default_port) {
  Authority out;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(0, close + 1);
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
    if (!is_ipv6_literal(ascii_lowercase(host.substr(1, host.size() - 2)))) return std::nullopt;
    out.is_ip_literal = true;
  } else {
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    const std::string lower_host = ascii_lowercase(host);
    if (lower_host.empty() || lower_host.size() > 253 ||
        !std::all_of(lower_host.begin(), lower_host.end(), is_dns_char))
      return std::nullopt;
    if (lower_host.front() == '.' || lower_host.find("..") != std::string::npos) return std::nullopt;
    out.is_ip_literal = is_ipv4_literal(lower_host);
    // All-digit-and-dot names that are not a canonical IPv4 literal ("1.2.3", "01.2.3.4")
    // are read as addresses by some resolvers: refuse them rather than guess.
    if (!out.is_ip_literal &&
        std::all_of(lower_host.begin(), lower_host.end(), [](char c) { return is_digit(c) || c == '.'; }))
      return std::nullopt;
  }
  out.host = ascii_lowercase(host);
  if (port.empty()) {
    if (default_port == 0) return std::nullopt;
    out.port = default_port;
  } else {
    if (port.size() > 5 || port.front() == '0') return std::nullopt;
    const auto value = parse_decimal(port);
    if (!value || *value < 1 || *value > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(*value);
  }
  return out;
}

bool field_name_is(std::string_view name, std::string_view other) {
  return name.size() == other.size() &&
         std::equal(name.begin(), name.end(), other.begin(), [](char a, char b) { return lower(a) == lower(b); });
}

std::optional<std::string_view> RequestHead::field(std::string_view name) const {
  for (const HttpField& f : fields)
    if (field_name_is(f.name, name)) return std::string_view(f.value);
  return std::nullopt;
}

HeadScan find_head_end(std::string_view buffered, const HttpLimits& limits) {
  const std::size_t scan = std::min(buffered.size(), limits.max_head_bytes);
  for (std::size_t i = 0; i < scan; ++i) {
    if (buffered[i] == '\n' && (i == 0 || buffered[i - 1] != '\r')) return {std::nullopt, refuse(400, "bare LF")};
    if (buffered[i] == '\r' && i + 1 < buffered.size() && buffered[i + 1] != '\n')
      return {std::nullopt, refuse(400, "bare CR")};
    // The head ends at the first empty line; a request starting with one is refused.
    if (buffered[i] == '\n' && i >= 3 && buffered.substr(i - 3, 4) == "\r\n\r\n") return {i + 1, std::nullopt};
    if (i == 1 && buffered.substr(0, 2) == crlf) return {std::nullopt, refuse(400, "empty line before the request")};
  }
  if (buffered.size() >= limits.max_head_bytes) return {std::nullopt, refuse(431, "request head too large")};
  return {};
}

std::variant<RequestHead, HttpRefusal> parse_request_head(std::string_view head, const RequestPlace& place,
                                                          const HttpLimits& limits) {
  const HeadScan scan = find_head_end(head, limits);
  if (scan.refusal) return *scan.refusal;
  if (!scan.end || *scan.end != head.size()) return refuse(400, "not exactly one complete request head");

  const std::vector<std::string_view> lines = head_lines(head);
  auto line = parse_request_line(lines.front(), limits);
  if (auto* refusal = std::get_if<HttpRefusal>(&line)) return *refusal;
  const RequestLine& request_line = std::get<RequestLine>(line);

  RequestHead out;
  out.method = std::string(request_line.method);
  out.target = std::string(request_line.target);
  out.minor_version = request_line.minor_version;
  // lines: request line, fields..., the final empty line.
  if (lines.size() - 2 > limits.max_fields) return refuse(431, "too many header fields");
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    auto field = parse_field_line(lines[i], limits);
    if (auto* refusal = std::get_if<HttpRefusal>(&field)) return *refusal;
    out.fields.push_back(std::move(std::get<HttpField>(field)));
  }

  if (auto refusal = resolve_target(out, place)) return *refusal;
  if (auto refusal = check_host(out, place.tunnel_authority.has_value())) return *refusal;
  if (auto refusal = resolve_framing(out)) return *refusal;
  if (auto refusal = resolve_connection(out)) return *refusal;
  return out;
}

std::vector<HttpField> forwarded_fields(const RequestHead& head) {
  static constexpr std::array<std::string_view, 8> hop_by_hop = {"connection", "proxy-connection",   "keep-alive",
                                                                 "te",         "transfer-encoding",  "upgrade",
                                                                 "trailer",    "proxy-authorization"};
  std::vector<std::string> dropped(hop_by_hop.begin(), hop_by_hop.end());
  for (std::string_view value : values_of(head.fields, "Connection"))
    for (std::string& token : list_elements(value)) dropped.push_back(std::move(token));

  std::vector<HttpField> out;
  for (const HttpField& field : head.fields) {
    const std::string name = ascii_lowercase(field.name);
    const bool keep_for_upgrade = head.websocket_upgrade && name == "upgrade";
    if (!keep_for_upgrade && std::find(dropped.begin(), dropped.end(), name) != dropped.end()) continue;
    out.push_back(field);
  }
  if (head.websocket_upgrade) out.push_back({"Connection", "Upgrade"});
  return out;
}

ChunkedDecoder::Step ChunkedDecoder::feed(std::string_view input, std::string& body) {
  Step step;
  const auto fail = [&](std::string reason) {
    state_ = State::failed;
    step.refusal = refuse(400, std::move(reason));
    return step;
  };
  if (state_ == State::failed) return fail("chunked body already refused");

  while (step.consumed < input.size() && state_ != State::done) {
    const char c = input[step.consumed];
    switch (state_) {
      case State::size_line: {
        ++step.consumed;
        if (c != '\n') {
          if (!line_.empty() && line_.back() == '\r') return fail("bare CR in a chunk-size line");
          if (line_.size() >= limits_.max_chunk_line_bytes) return fail("chunk-size line too long");
          line_.push_back(c);
          break;
        }
        if (line_.empty() || line_.back() != '\r') return fail("bare LF in a chunk-size line");
        line_.pop_back();
        const std::size_t digits = line_.find_first_not_of("0123456789abcdefABCDEF");
        const std::size_t count = digits == std::string::npos ? line_.size() : digits;
        if (count == 0 || count > 16) return fail("chunk size is not 1-16 hex digits");
        const std::string_view extension = trim_ows(std::string_view(line_).substr(count));
        if (!extension.empty() &&
            (extension.front() != ';' || !std::all_of(extension.begin(), extension.end(), is_field_char)))
          return fail("malformed chunk extension");
        remaining_ = std::stoull(line_.substr(0, count), nullptr, 16);
        line_.clear();
        state_ = remaining_ == 0 ? State::trailer : State::data;
        break;
      }
      case State::data: {
        const std::size_t take = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(input.size() - step.consumed)));
        body.append(input.substr(step.consumed, take));
        step.consumed += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_crlf;
        break;
      }
      case State::data_crlf:
      case State::trailer: {
        ++step.consumed;
        const char expected = line_.empty() ? '\r' : '\n';
        if (c != expected)
          return fail(state_ == State::trailer && line_.empty() ? "trailer fields are not accepted"
                                                                : "chunk data not followed by CRLF");
        if (line_.empty()) {
          line_.push_back(c);
          break;
        }
        line_.clear();
        state_ = state_ == State::trailer ? State::done : State::size_line;
        break;
      }
      case State::done:
      case State::failed: break;
    }
  }
  return step;
}

}  // namespace bottle
