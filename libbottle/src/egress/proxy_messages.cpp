#include "bottle/egress/proxy_messages.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>
#include <algorithm>

namespace bottle {

namespace {

bool is_hop_by_hop(std::string_view name) {
  for (std::string_view hop :
       {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"})
    if (field_name_is(name, hop)) return true;
  return false;
}

// The field names a Connection header lists (comma-separated, optional whitespace).
std::vector<std::string> connection_options(const std::vector<HttpField>& fields) {
  std::vector<std::string> out;
  for (const HttpField& field : fields) {
    if (!field_name_is(field.name, "Connection")) continue;
    std::string_view rest = field.value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

}  // namespace

std::string_view status_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

std::string refusal_response(int status, std::string_view message) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: "
      "close\r\n\r\n{}\n",
      status, status_reason(status), message.size() + 1, message);
}

std::string upstream_request_head(const RequestHead& request, const std::vector<HttpField>& fields,
                                  std::optional<std::uint64_t> body_length, TargetForm form) {
  const Authority& to = request.authority;
  std::string out = form == TargetForm::origin
                        ? fmt::format("{} {} HTTP/1.1\r\n", request.method, request.path)
                        : fmt::format("{} http://{}{}{} HTTP/1.1\r\n", request.method, to.host,
                                      to.port == 80 ? std::string() : ":" + std::to_string(to.port), request.path);
  for (const HttpField& field : fields) {
    if (field_name_is(field.name, "Expect") || field_name_is(field.name, "Content-Length")) continue;
    out += fmt::format("{}: {}\r\n", field.name, field.value);
  }
  if (body_length) out += fmt::format("Content-Length: {}\r\n", *body_length);
  out += "\r\n";
  return out;
}

ClientResponsePlan client_response_head(const ResponseHead& response, bool rewrite_body, bool keep_alive,
                                        int client_minor_version,
                                        const std::function<std::string(std::string_view)>& scrub) {
  using Framing = ResponseHead::Framing;
  ClientResponsePlan plan;
  bool keep_length = true;
  switch (response.framing) {
    case Framing::none: break;
    case Framing::content_length: keep_length = !rewrite_body; [[fallthrough]];
    case Framing::chunked:
      if (response.framing == Framing::chunked || !keep_length) {
        keep_length = false;
        if (client_minor_version >= 1) plan.chunked = true;
        else plan.close_after = true;
      }
      break;
    case Framing::until_close:
      keep_length = false;
      plan.close_after = true;
      break;
  }
  const std::vector<std::string> named = connection_options(response.fields);
  plan.head = fmt::format("HTTP/1.1 {} {}\r\n", response.status, response.reason);
  for (const HttpField& field : response.fields) {
    if (is_hop_by_hop(field.name)) continue;
    if (std::any_of(named.begin(), named.end(), [&](const std::string& n) { return field_name_is(field.name, n); }))
      continue;
    if (!keep_length && field_name_is(field.name, "Content-Length")) continue;
    plan.head += fmt::format("{}: {}\r\n", field.name, scrub(field.value));
  }
  if (plan.chunked) plan.head += "Transfer-Encoding: chunked\r\n";
  if (plan.close_after || !keep_alive) {
    plan.close_after = true;
    plan.head += "Connection: close\r\n";
  }
  plan.head += "\r\n";
  return plan;
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  // std::to_chars, not fmt::format_to: a fmt buffer template instantiated here would
  // interpose on libfmt's own and fail UBSan's vptr check in every fmt::format call.
  std::array<char, 16> size{};
  const auto end = std::to_chars(size.data(), size.data() + size.size(), data.size(), 16).ptr;
  out.append(size.data(), end).append("\r\n").append(data).append("\r\n");
}

}  // namespace bottle
