#pragma once
// bottle-cli's whole behaviour, as a library function so that it is testable
// in-process (with a RecordingRunner) and the executable stays a thin main().

#include <iosfwd>
#include <string>
#include <vector>

#include "bottle/ops/bottles.hpp"

namespace bottle {

struct CliContext {
  Runner& runner;
  StateDirs dirs;
  std::ostream& out;
  std::ostream& err;
  BackendFactory backends = {};  ///< empty: default_backends(host)
  std::string cwd;               ///< for resolving relative paths in flags; empty: the process cwd
  /// The environment, clock and ports every operation uses (main: Host::from_process()).
  Host host = {};
};

/// Run `bottle-cli ARGS...` (args excludes argv[0]). Returns the exit code; never
/// throws for user errors (they are printed to ctx.err as "bottle-cli: error: ...").
int run_cli(const std::vector<std::string>& args, CliContext& ctx);

}  // namespace bottle
