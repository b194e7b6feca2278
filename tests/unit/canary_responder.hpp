#pragma once
// Answers the canaries' TCP probe (tcp_probe_argv, wherever it sits in an exec's
// argv) for a RecordingRunner: one "HOST PORT OUTCOME" line per target it names,
// the outcome chosen per target. Anything else is left to the runner's other rules.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"

namespace canary_responder {

/// The outcome word ("timeout", "connected", "refused", ...) for target `index`
/// of `targets` (each "HOST:PORT").
using Outcomes = std::function<std::string(const std::vector<std::string>& targets, std::size_t index)>;

inline bool is_tcp_probe(const bottle::Argv& argv) {
  const auto marker = std::find(argv.begin(), argv.end(), "bottle-canary");
  // tcp_probe_argv: sh -c SCRIPT bottle-canary SECONDS HOST:PORT...; the DNS and
  // dummy probes carry a name or URL there instead.
  if (marker == argv.end() || marker == argv.begin() || argv.end() - marker < 3) return false;
  return (marker - 1)->find("nc -w") != std::string::npos;
}

inline bottle::RecordingRunner::Responder tcp_probe(Outcomes outcomes) {
  return [outcomes = std::move(outcomes)](const bottle::Command& command) -> std::optional<bottle::ProcessResult> {
    if (!is_tcp_probe(command.argv)) return std::nullopt;
    const std::vector<std::string> targets(std::find(command.argv.begin(), command.argv.end(), "bottle-canary") + 2,
                                           command.argv.end());
    std::string out;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const auto colon = targets[i].rfind(':');
      out += targets[i].substr(0, colon) + " " + targets[i].substr(colon + 1) + " " + outcomes(targets, i) + "\n";
    }
    return bottle::exited(0, out);
  };
}

inline std::string host_of(const std::string& endpoint) { return endpoint.substr(0, endpoint.rfind(':')); }

/// Egress's proxy among `targets`: the first target on the host that is also tried
/// on port 9090 (only egress-ports tries that port); "" when there is none.
inline std::string proxy_of(const std::vector<std::string>& targets) {
  for (const auto& t : targets)
    if (t.size() > 5 && t.compare(t.size() - 5, 5, ":9090") == 0)
      for (const auto& u : targets)
        if (host_of(u) == host_of(t)) return u;
  return {};
}

/// What a bottle whose fences hold answers: egress's proxy accepts a connection,
/// its other ports refuse, everything else (public and host addresses) times out.
inline std::string healthy_outcome(const std::vector<std::string>& targets, std::size_t i) {
  const std::string proxy = proxy_of(targets);
  if (!proxy.empty() && targets[i] == proxy) return "connected";
  if (!proxy.empty() && host_of(targets[i]) == host_of(proxy)) return "refused";
  return "timeout";
}

inline bottle::RecordingRunner::Responder healthy() { return tcp_probe(healthy_outcome); }

/// Healthy, except that `endpoint` answers with `outcome`.
inline bottle::RecordingRunner::Responder healthy_except(std::string endpoint, std::string outcome) {
  return tcp_probe([endpoint = std::move(endpoint), outcome = std::move(outcome)](
                       const std::vector<std::string>& targets, std::size_t i) {
    return targets[i] == endpoint ? outcome : healthy_outcome(targets, i);
  });
}

}  // namespace canary_responder
