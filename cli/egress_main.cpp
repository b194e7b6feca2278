// bottle-egress: the native egress engine (egress_proxy.hpp). Everything it does
// lives in libbottle; this only reads the arguments and the environment, prints the
// ready line once listening, and maps errors to exit codes.
#include <exception>
#include <iostream>

#include "bottle/core/error.hpp"
#include "bottle/core/host.hpp"
#include "bottle/core/host_daemon.hpp"
#include "bottle/egress/audit_drain.hpp"
#include "bottle/egress/egress_proxy.hpp"
#include "bottle/egress/ensure_fresh.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
      std::cout << bottle::egress_usage();
      return bottle::exit_code::ok;
    }
    if (!args.empty() && args[0] == "probe")
      return bottle::egress_probe({args.begin() + 1, args.end()}) ? bottle::exit_code::ok : bottle::exit_code::failure;
    if (!args.empty() && args[0] == "audit-drain") {
      std::cout << bottle::drain_audit_log(bottle::parse_audit_drain_args({args.begin() + 1, args.end()}));
      return bottle::exit_code::ok;
    }
    const bottle::Host host = bottle::Host::from_process();
    if (!args.empty() && args[0] == "ensure-fresh") {
      const bottle::EnsureFreshResult result = bottle::ensure_fresh_host_login(bottle::parse_ensure_fresh_args(
          {args.begin() + 1, args.end()}, host.env(bottle::Var::bottle_egress_upstream_ca)));
      switch (result.outcome) {
        case bottle::HostRefreshOutcome::fresh: std::cout << "fresh\n"; return bottle::exit_code::ok;
        case bottle::HostRefreshOutcome::refreshed: std::cout << "refreshed\n"; return bottle::exit_code::ok;
        case bottle::HostRefreshOutcome::sign_in_again:
          std::cerr << "bottle-egress: the host session is dead, sign in again on the host: " << result.reason << "\n";
          return bottle::host_refresh_exit_sign_in_again;
        case bottle::HostRefreshOutcome::unavailable:
          std::cerr << "bottle-egress: could not refresh the host login now: " << result.reason << "\n";
          return bottle::host_refresh_exit_transient;
      }
    }
    bottle::EgressProxy proxy(bottle::parse_egress_args(args, host.env(bottle::Var::bottle_egress_upstream_ca)));
    const std::string listening = proxy.listen();
    std::cout << bottle::egress_ready_line(listening) << std::endl;
    bottle::notify_ready(host);
    proxy.run();
    return bottle::exit_code::ok;
  } catch (const bottle::Error& e) {
    std::cerr << "bottle-egress: error: " << e.what() << "\n";
    if (e.kind() == bottle::ErrorKind::usage) std::cerr << bottle::egress_usage();
    return bottle::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "bottle-egress: internal error: " << e.what() << "\n";
    return bottle::exit_code::failure;
  }
}
