#include "bottle/frontend/cli_clone.hpp"

#include <fmt/format.h>
#include <ostream>

#include "bottle/core/error.hpp"
#include "bottle/frontend/terminal_text.hpp"
#include "core/json_reader.hpp"
#include "frontend/cli_args.hpp"

namespace bottle {

namespace {

[[noreturn]] void usage(const std::string& message) { throw Error(ErrorKind::usage, message); }

}  // namespace

FetchOptions parse_fetch_args(const std::vector<std::string>& args, std::string& name) {
  FetchOptions options;
  bool into_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--include-uncommitted") {
      options.include_uncommitted = true;
    } else if (arg == "--into") {
      if (into_seen) usage("fetch: --into given twice");
      if (i + 1 >= args.size()) usage("fetch: --into needs a BRANCH");
      options.into = args[++i];
      into_seen = true;
      try {
        validate_branch_name(options.into, "--into");
      } catch (const Error& e) { throw e.relabeled("--into"); }
    } else if (!arg.empty() && arg.front() == '-') {
      usage(fmt::format("fetch: unknown option '{}'", detail::printable(arg)));
    } else if (!name.empty()) {
      usage(fmt::format("fetch: takes one bottle name, got '{}' too", detail::printable(arg)));
    } else {
      name = arg;
    }
  }
  if (name.empty()) usage("fetch: missing bottle NAME");
  validate_bottle_name(name, "NAME");
  return options;
}

int cli_fetch(const std::vector<std::string>& args, CliContext& ctx) {
  std::string name;
  const FetchOptions options = parse_fetch_args(args, name);
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  const BottleSpec spec = bottles.spec(name);
  const FetchReport report = fetch_clone(ctx.runner, bottles.backend(spec.backend), spec, ctx.dirs, options);
  ctx.out << describe_fetch(spec, report);
  if (!options.into.empty()) ctx.out << fmt::format("created branch {}\n", options.into);
  if (report.uncommitted > 0)
    ctx.err << fmt::format(
        "bottle-cli: warning: bottle {} has {} uncommitted path{} that were not fetched (commit them in the bottle, "
        "or fetch with --include-uncommitted)\n",
        name, report.uncommitted, report.uncommitted == 1 ? "" : "s");
  return exit_code::ok;
}

int cli_diff(const std::vector<std::string>& args, CliContext& ctx) {
  const std::string name = detail::single_bottle_name(args, "diff");
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  const BottleSpec spec = bottles.spec(name);
  if (!spec.repo) throw Error(ErrorKind::conflict, fmt::format("diff: bottle \"{}\" is not in clone mode", name));
  if (bottles.engine_state(spec) == EngineState::running) {
    const FetchReport report = fetch_clone(ctx.runner, bottles.backend(spec.backend), spec, ctx.dirs, {});
    if (report.uncommitted > 0)
      ctx.err << fmt::format("bottle-cli: warning: bottle {} has {} uncommitted path{}, not in this diff\n", name,
                             report.uncommitted, report.uncommitted == 1 ? "" : "s");
  }
  // The agent wrote every byte of it: shown, never obeyed by the terminal.
  ctx.out << terminal_safe(clone_diff(ctx.runner, spec));
  return exit_code::ok;
}

}  // namespace bottle
