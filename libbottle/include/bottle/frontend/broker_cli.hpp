#pragma once
// `bottle-cli broker run`: the host's loop that keeps the logins of bottles whose
// egress runs in a cluster fresh. The host is the only refresher of those logins
// (kube_egress.hpp): every interval it refreshes each one that is about to lapse
// (ensure-fresh) and pushes the copies to the bottle's egress (Bottles::push_logins).
// `start` and `attach` push too; the loop covers agents that run for hours.
//
//   bottle-cli broker run [--interval SECONDS] [--once] [NAME...]
//
// Without NAMEs, every stored bottle (others are skipped: nothing to push). One
// line on stdout per push; a bottle that fails is reported on stderr and the loop
// goes on. --once: one pass, exit 1 when any bottle failed.

#include <chrono>
#include <string>
#include <vector>

#include "bottle/frontend/cli.hpp"

namespace bottle {

struct BrokerRunOptions {
  std::chrono::seconds interval{120};  ///< 1..86400
  bool once = false;
  std::vector<std::string> names;  ///< empty: every stored bottle
  bool operator==(const BrokerRunOptions&) const = default;
};

/// Parse `run [--interval SECONDS] [--once] [NAME...]` (the words after `broker`).
/// Error(usage) for a missing or unknown subcommand or option, or a missing value;
/// Error(invalid_input) naming --interval or NAME for a bad value.
BrokerRunOptions parse_broker_args(const std::vector<std::string>& args);

/// `bottle-cli broker ...`.
int cli_broker(const std::vector<std::string>& args, CliContext& ctx);

}  // namespace bottle
