// bottle-cli: everything it does lives in libbottle (run_cli); this only wires the
// real process runner, the real directories and the standard streams.
#include <exception>
#include <iostream>

#include "bottle/core/error.hpp"
#include "bottle/frontend/cli.hpp"

int main(int argc, char** argv) {
  try {
    bottle::SystemRunner runner;
    const bottle::Host host = bottle::Host::from_process();
    bottle::CliContext ctx{.runner = runner,
                           .dirs = bottle::StateDirs::from_environment(host),
                           .out = std::cout,
                           .err = std::cerr,
                           .host = host};
    return bottle::run_cli(std::vector<std::string>(argv + 1, argv + argc), ctx);
  } catch (const bottle::Error& e) {
    std::cerr << "bottle-cli: error: " << e.what() << "\n";
    return bottle::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "bottle-cli: internal error: " << e.what() << "\n";
    return bottle::exit_code::failure;
  }
}
