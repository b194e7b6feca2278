// bottle-cli: everything it does lives in libbottle (run_cli); this only wires the
// real process runner, the real directories and the standard streams.
#include <cstdlib>
#include <exception>
#include <iostream>

#include "bottle/cli.hpp"
#include "bottle/error.hpp"

int main(int argc, char** argv) {
  try {
    bottle::SystemRunner runner;
    const char* engine_timeout = std::getenv("BOTTLE_ENGINE_TIMEOUT");
    bottle::CliContext ctx{.runner = runner, .dirs = bottle::StateDirs::from_environment(),
                           .out = std::cout, .err = std::cerr,
                           .backends = bottle::make_backend_factory(
                               bottle::engine_timeouts_from(engine_timeout ? engine_timeout : ""))};
    return bottle::run_cli(std::vector<std::string>(argv + 1, argv + argc), ctx);
  } catch (const bottle::Error& e) {
    std::cerr << "bottle-cli: error: " << e.what() << "\n";
    return bottle::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "bottle-cli: internal error: " << e.what() << "\n";
    return bottle::exit_code::failure;
  }
}
