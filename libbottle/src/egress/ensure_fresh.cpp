#include "bottle/egress/ensure_fresh.hpp"

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
  read_egress_options(args, {}, [&](const std::string& arg, const std::string& value) {
    if (value.empty()) throw Error(ErrorKind::usage, arg, "must not be empty");
    if (arg == "--kind") {
      if (value == "codex") request.agent = AgentKind::codex;
      else if (value == "claude") request.agent = AgentKind::claude;
      else throw Error(ErrorKind::usage, arg, "must be codex or claude");
      kind = true;
    } else if (arg == "--host-file") {
      request.host_file = value;
      host_file = true;
    } else if (arg == "--min-valid") {
      request.min_valid_s = static_cast<std::int64_t>(egress_option_number(arg, value, 0, 86400));
      min_valid = true;
    } else if (arg == "--parent-proxy") {
      request.parent_proxy = parse_parent_proxy(arg, value);
    } else if (arg == "--upstream-ca") {
      request.upstream_ca = value;
    } else {
      throw Error(ErrorKind::usage, arg, "unknown option");
    }
  });
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
