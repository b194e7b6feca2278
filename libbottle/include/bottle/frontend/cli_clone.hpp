#pragma once
// bottle-cli's clone-mode commands: `fetch` and `diff` (see ops/clone_ops.hpp).
// run_cli dispatches to them; their argument parsing is separate and testable.

#include <string>
#include <vector>

#include "bottle/frontend/cli.hpp"
#include "bottle/ops/clone_ops.hpp"

namespace bottle {

/// Parse `fetch NAME [--into BRANCH] [--include-uncommitted]`; sets `name`.
/// Error(usage) for unknown or repeated options, a missing NAME or value;
/// Error(invalid_input) for a bad NAME or --into branch name.
FetchOptions parse_fetch_args(const std::vector<std::string>& args, std::string& name);

/// `bottle-cli fetch`: exit 0 when fetched (or nothing to fetch); uncommitted
/// work left in the bottle is reported on stderr.
int cli_fetch(const std::vector<std::string>& args, CliContext& ctx);
/// `bottle-cli diff NAME`: fetch (when the bottle runs), then the agent's branch
/// against its base.
int cli_diff(const std::vector<std::string>& args, CliContext& ctx);

}  // namespace bottle
