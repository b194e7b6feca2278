#include "bottle/egress/egress_proxy_options.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>

#include "bottle/core/error.hpp"
#include "bottle/core/host_port.hpp"

namespace bottle {

namespace {

[[noreturn]] void usage_error(const std::string& arg, const std::string& problem) {
  throw Error(ErrorKind::usage, arg, problem);
}

std::chrono::seconds seconds(const std::string& arg, const std::string& text) {
  return std::chrono::seconds(egress_option_number(arg, text, 1, 86400));
}

}  // namespace

void read_egress_options(const std::vector<std::string>& args, std::initializer_list<std::string_view> switches,
                         const std::function<void(const std::string& flag, const std::string& value)>& option) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (std::find(switches.begin(), switches.end(), arg) != switches.end()) {
      option(arg, "");
      continue;
    }
    if (!arg.starts_with("--")) usage_error(arg, "unexpected argument");
    if (i + 1 >= args.size()) usage_error(arg, "needs a value");
    option(arg, args[++i]);
  }
}

std::uint64_t egress_option_number(const std::string& flag, const std::string& text, std::uint64_t low,
                                   std::uint64_t high) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < low || value > high)
    usage_error(flag, fmt::format("must be a whole number from {} to {}", low, high));
  return value;
}

std::string egress_usage() {
  return "usage: bottle-egress --listen HOST:PORT --ca CA_PEM --routes ROUTES_JSON\n"
         "                     [--parent-proxy http://HOST:PORT] [--upstream-ca PEM]\n"
         "                     [--max-connections N] [--head-timeout S] [--idle-timeout S]\n"
         "                     [--upstream-timeout S] [--allow-private-upstreams] [--confdir DIR]\n"
         "                     [--audit-config FILE]\n"
         "       bottle-egress probe IPV4:PORT   (exit 0 when an egress listens there)\n"
         "       bottle-egress audit-drain --confdir DIR   (the audit records since the last drain)\n"
         "       bottle-egress ensure-fresh --kind codex|claude --host-file FILE --min-valid SECONDS\n"
         "                     [--parent-proxy http://HOST:PORT] [--upstream-ca PEM]\n";
}

Authority parse_parent_proxy(const std::string& arg, const std::string& value) {
  constexpr std::string_view scheme = "http://";
  std::string_view rest = value;
  if (rest.starts_with(scheme)) rest.remove_prefix(scheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  const auto authority = parse_authority(rest, 0);
  if (!authority) usage_error(arg, "must be http://HOST:PORT");
  return *authority;
}

bool egress_probe(const std::vector<std::string>& args) {
  if (args.size() != 1) usage_error("probe", "needs exactly one IPV4:PORT");
  const auto target = parse_authority(args[0], 0);
  if (!target || target->port == 0) usage_error(args[0], "must be IPV4:PORT");
  try {
    return port_accepts(target->host, target->port, std::chrono::seconds(1));
  } catch (const Error&) { usage_error(args[0], "must be IPV4:PORT"); }
}

ProxyOptions parse_egress_args(const std::vector<std::string>& args,
                               const std::optional<std::string>& env_upstream_ca) {
  ProxyOptions options;
  options.upstream_ca = env_upstream_ca;
  bool listen = false;
  read_egress_options(args, {"--allow-private-upstreams"}, [&](const std::string& arg, const std::string& value) {
    if (arg == "--allow-private-upstreams") {
      options.allow_private_upstreams = true;
    } else if (arg == "--listen") {
      const auto authority = parse_authority(value, 0);
      if (!authority || authority->host.starts_with('[')) usage_error(arg, "must be IPV4:PORT or NAME:PORT");
      options.listen_host = authority->host;
      options.listen_port = authority->port;
      listen = true;
    } else if (value.empty()) {
      usage_error(arg, "must not be empty");
    } else if (arg == "--ca") {
      options.ca_file = value;
    } else if (arg == "--routes") {
      options.routes_file = value;
    } else if (arg == "--parent-proxy") {
      options.parent_proxy = parse_parent_proxy(arg, value);
    } else if (arg == "--upstream-ca") {
      options.upstream_ca = value;
    } else if (arg == "--confdir") {
      options.confdir = value;
    } else if (arg == "--audit-config") {
      options.audit_config = value;
    } else if (arg == "--max-connections") {
      options.max_connections = egress_option_number(arg, value, 1, 65536);
    } else if (arg == "--head-timeout") {
      options.timeouts.head = seconds(arg, value);
    } else if (arg == "--idle-timeout") {
      options.timeouts.idle = seconds(arg, value);
    } else if (arg == "--upstream-timeout") {
      options.timeouts.upstream_idle = seconds(arg, value);
    } else {
      usage_error(arg, "unknown option");
    }
  });
  if (!listen) usage_error("--listen", "is required");
  if (options.ca_file.empty()) usage_error("--ca", "is required");
  if (options.routes_file.empty()) usage_error("--routes", "is required");
  if (options.audit_config && !options.confdir) usage_error("--audit-config", "needs --confdir, where the log goes");
  if (options.upstream_ca && options.upstream_ca->empty()) options.upstream_ca.reset();
  return options;
}

}  // namespace bottle
