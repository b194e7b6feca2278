#include "bottle/frontend/broker_cli.hpp"

#include <fmt/format.h>

#include <ostream>

#include "bottle/core/error.hpp"
#include "bottle/ops/bottles.hpp"
#include "core/json_reader.hpp"

namespace bottle {

namespace {

[[noreturn]] void usage(const std::string& message) { throw Error(ErrorKind::usage, message); }

constexpr std::int64_t max_interval_s = 86400;

}  // namespace

BrokerRunOptions parse_broker_args(const std::vector<std::string>& args) {
  if (args.empty()) usage("broker: missing subcommand (run)");
  if (args.front() != "run") usage(fmt::format("broker: unknown subcommand '{}'", detail::printable(args.front())));
  BrokerRunOptions options;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--once") {
      options.once = true;
    } else if (arg == "--interval") {
      if (i + 1 >= args.size()) usage("broker run: --interval needs SECONDS");
      const std::string& value = args[++i];
      std::int64_t seconds = 0;
      const bool digits =
          !value.empty() && value.size() <= 6 && value.find_first_not_of("0123456789") == std::string::npos;
      if (digits) seconds = std::stoll(value);
      if (!digits || seconds < 1 || seconds > max_interval_s)
        throw Error(ErrorKind::invalid_input, "--interval",
                    fmt::format("must be a whole number of seconds from 1 to {}", max_interval_s));
      options.interval = std::chrono::seconds(seconds);
    } else if (!arg.empty() && arg.front() == '-') {
      usage(fmt::format("broker run: unknown option '{}'", detail::printable(arg)));
    } else {
      validate_bottle_name(arg, "NAME");
      options.names.push_back(arg);
    }
  }
  return options;
}

int cli_broker(const std::vector<std::string>& args, CliContext& ctx) {
  const BrokerRunOptions options = parse_broker_args(args);
  Bottles bottles(ctx.host, ctx.runner, ctx.dirs, ctx.backends);
  bottles.on_warning([&](const std::string& message) { ctx.err << "bottle-cli: warning: " << message << "\n"; });
  while (true) {
    std::vector<std::string> names = options.names;
    if (names.empty())
      for (const auto& spec : bottles.store().load_all()) names.push_back(spec.name);
    bool failed = false;
    for (const auto& name : names) {
      // One bottle's trouble (a removed bottle, an unreachable cluster) does not stop
      // the others' pushes, nor one step the other.
      const auto attempt = [&](const auto& step) {
        try {
          step();
        } catch (const Error& e) {
          failed = true;
          ctx.err << fmt::format("bottle-cli: error: broker: {}: {}\n", name, e.what());
        }
      };
      attempt([&] {
        if (bottles.push_logins(name)) ctx.out << fmt::format("pushed the host's logins to {}'s egress\n", name);
      });
      // A cluster egress's audit records reach the host's log (and the dashboard) on
      // the same beat.
      attempt([&] { bottles.drain_egress_audit(name); });
    }
    ctx.out.flush();
    if (options.once) return failed ? exit_code::failure : exit_code::ok;
    ctx.host.clock().sleep_for(options.interval);
  }
}

}  // namespace bottle
