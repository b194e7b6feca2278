// bottle-egress: the native egress engine (egress_proxy.hpp). Everything it does
// lives in libbottle; this only reads the arguments and the environment, prints the
// ready line once listening, and maps errors to exit codes.
#include <exception>
#include <iostream>

#include "bottle/core/error.hpp"
#include "bottle/core/host.hpp"
#include "bottle/egress/egress_proxy.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
      std::cout << bottle::egress_usage();
      return bottle::exit_code::ok;
    }
    const bottle::Host host = bottle::Host::from_process();
    bottle::EgressProxy proxy(bottle::parse_egress_args(args, host.env(bottle::Var::bottle_egress_upstream_ca)));
    const std::string listening = proxy.listen();
    std::cout << bottle::egress_ready_line(listening) << std::endl;
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
