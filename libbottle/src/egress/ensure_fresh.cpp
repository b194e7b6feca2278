#include "bottle/egress/ensure_fresh.hpp"

#include <charconv>
#include <exception>

#include "bottle/core/error.hpp"
#include "bottle/egress/egress_proxy_options.hpp"
#include "bottle/egress/token_broker.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle {

EnsureFreshRequest parse_ensure_fresh_args(const std::vector<std::string>& args,
                                           const std::optional<std::string>& env_upstream_ca) {
  EnsureFreshRequest request;
  request.upstream_ca = env_upstream_ca;
  bool kind = false, host_file = false, min_valid = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!arg.starts_with("--")) throw Error(ErrorKind::usage, arg, "unexpected argument");
    if (i + 1 >= args.size()) throw Error(ErrorKind::usage, arg, "needs a value");
    const std::string& value = args[++i];
    if (value.empty()) throw Error(ErrorKind::usage, arg, "must not be empty");
    if (arg == "--kind") {
      if (value != "codex" && value != "claude") throw Error(ErrorKind::usage, arg, "must be codex or claude");
      request.agent = parse_agent_kind(value, arg);
      kind = true;
    } else if (arg == "--host-file") {
      request.host_file = value;
      host_file = true;
    } else if (arg == "--min-valid") {
      std::int64_t seconds = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc() || end != value.data() + value.size() || seconds < 0 || seconds > 86400)
        throw Error(ErrorKind::usage, arg, "must be a whole number of seconds from 0 to 86400");
      request.min_valid_s = seconds;
      min_valid = true;
    } else if (arg == "--parent-proxy") {
      request.parent_proxy = parse_parent_proxy(arg, value);
    } else if (arg == "--upstream-ca") {
      request.upstream_ca = value;
    } else {
      throw Error(ErrorKind::usage, arg, "unknown option");
    }
  }
  if (!kind) throw Error(ErrorKind::usage, "--kind", "is required");
  if (!host_file) throw Error(ErrorKind::usage, "--host-file", "is required");
  if (!min_valid) throw Error(ErrorKind::usage, "--min-valid", "is required");
  return request;
}

EnsureFreshResult ensure_fresh_host_login(const EnsureFreshRequest& request) {
  ProxyOptions options;
  options.parent_proxy = request.parent_proxy;
  options.upstream_ca = request.upstream_ca;
  try {
    boost::asio::ssl::context client_tls(boost::asio::ssl::context::tls_client);
    egress_proxy::configure_client_tls(client_tls, options);
    const egress_proxy::UpstreamPath path{options, client_tls};
    TokenBroker broker(
        request.agent == AgentKind::codex ? codex_egress_broker() : claude_egress_broker(), request.host_file,
        TokenBrokerOptions{.fetch = [&](const std::string& url,
                                        const std::string& body) { return egress_proxy::post_token(path, url, body); },
                           .refresh_window_s = request.min_valid_s});
    const TokenBroker::HostLogin login = broker.current_host_login();
    return {login.refreshed ? HostRefreshOutcome::refreshed : HostRefreshOutcome::fresh, ""};
  } catch (const TokenBroker::Failure& failure) {
    return {failure.permanent ? HostRefreshOutcome::sign_in_again : HostRefreshOutcome::unavailable, failure.what()};
  } catch (const std::exception& e) {
    // An unreadable --upstream-ca, or anything else that is not the broker's verdict.
    return {HostRefreshOutcome::unavailable, e.what()};
  }
}

}  // namespace bottle
