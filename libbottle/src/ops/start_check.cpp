#include "bottle/ops/start_check.hpp"

#include <fmt/format.h>

#include "bottle/core/error.hpp"
#include "bottle/core/host_interface.hpp"

namespace bottle {

namespace {

// On top of the targets' own limit: the engine's exec and the guest's node start.
// Past it the probe is killed and the bottle counts as "could not check".
constexpr std::chrono::seconds start_probe_overhead{20};

std::optional<std::vector<TcpProbe>> slice(const std::optional<std::vector<TcpProbe>>& probes, std::size_t from,
                                           std::size_t count) {
  if (!probes) return std::nullopt;
  const auto first = probes->begin() + static_cast<std::ptrdiff_t>(from);
  return std::vector<TcpProbe>(first, first + static_cast<std::ptrdiff_t>(count));
}

}  // namespace

GuestEgress resolved_guest_egress(Runner& runner, const Backend& backend, const BottleSpec& spec) {
  GuestEgress egress = backend.guest_egress(spec);
  if (!egress.enabled || !egress.address_in_guest) return egress;
  const ExecOptions options{.user = "root", .env = {{"PATH", std::string(canary_probe_path)}}};
  const ProcessResult r = runner.run(
      Command{.argv = backend.commands().exec_argv(spec, {"sh", "-c", "printf '%s' \"$HTTPS_PROXY\""}, options),
              .timeout = start_probe_overhead});
  if (r.ok() && r.out.rfind("http://", 0) == 0 && proxy_tcp_target(r.out)) {
    egress.proxy_url = r.out;
    egress.address_in_guest = false;
  }
  return egress;
}

StartProbePlan start_probe_plan(const std::vector<std::string>& host_addresses, const GuestEgress& egress) {
  StartProbePlan plan;
  plan.targets = canary_public_targets();
  plan.public_count = plan.targets.size();
  const std::vector<TcpTarget> host = canary_host_targets(host_addresses);
  plan.host_count = host.size();
  plan.targets.insert(plan.targets.end(), host.begin(), host.end());
  if (!egress.enabled) {
    plan.egress_ports = CanaryResult{"egress-ports", CanaryStatus::skipped, "the bottle has no egress"};
  } else if (const auto proxy = proxy_tcp_target(egress.proxy_url); !proxy) {
    plan.egress_ports =
        CanaryResult{"egress-ports", CanaryStatus::unchecked, "could not check: the proxy URL has no host:port"};
  } else {
    plan.proxy = proxy;
    const std::vector<TcpTarget> ports = canary_egress_targets(*proxy);
    plan.targets.insert(plan.targets.end(), ports.begin(), ports.end());
  }
  return plan;
}

Argv start_probe_argv(const StartProbePlan& plan, std::chrono::milliseconds timeout) {
  return tcp_probe_argv(plan.targets, timeout);
}

std::vector<CanaryResult> judge_start_probe(const StartProbePlan& plan, const ProcessResult& result) {
  const auto probes = parse_tcp_probe(result, plan.targets);
  std::vector<CanaryResult> results{
      judge_unreachable("public-network", "public address", slice(probes, 0, plan.public_count)),
      judge_unreachable("host", "host address", slice(probes, plan.public_count, plan.host_count))};
  if (plan.egress_ports) results.push_back(*plan.egress_ports);
  else {
    const std::size_t from = plan.public_count + plan.host_count;
    results.push_back(judge_egress_ports(*plan.proxy, slice(probes, from, plan.targets.size() - from)));
  }
  // The judges only know that the probe did not run; say why.
  if (!probes) {
    const std::size_t probed = plan.egress_ports ? 2 : 3;
    for (std::size_t i = 0; i < probed; ++i) results[i].reason = probe_unchecked_reason(result);
  }
  return results;
}

std::optional<CanaryResult> first_failed_canary(const std::vector<CanaryResult>& results) {
  for (const auto& r : results)
    if (r.status == CanaryStatus::fail || r.status == CanaryStatus::unchecked) return r;
  return std::nullopt;
}

std::string start_refused_message(const std::string& name, const CanaryResult& failed, bool removed) {
  const std::string again =
      removed ? "create it with --no-check" : fmt::format("`bottle-cli start --no-check {}`", name);
  return fmt::format(
      "bottle {} did not pass its network check, so it was {}: canary {} {}: {} ({}, then `bottle-cli "
      "check {}` shows every canary)",
      name, removed ? "removed" : "stopped", failed.name,
      failed.status == CanaryStatus::fail ? "failed" : "could not be checked", failed.reason, again, name);
}

StartProbe::StartProbe(Runner& runner, const Backend& backend, const BottleSpec& spec)
    : plan_(start_probe_plan(host_ipv4_addresses(), resolved_guest_egress(runner, backend, spec))) {
  // As root with the system PATH, like `check`: the agent user may own a
  // directory on its own PATH, where a shim could answer for the probe.
  const ExecOptions options{.user = "root", .env = {{"PATH", std::string(canary_probe_path)}}};
  try {
    child_ = runner.start(Command{.argv = backend.commands().exec_argv(spec, start_probe_argv(plan_), options),
                                  .timeout = start_probe_timeout + start_probe_overhead});
  } catch (const std::exception& e) {
    failed_to_start_ = ProcessResult{.outcome = ProcessResult::Outcome::failed_to_start, .start_error = e.what()};
  }
}

std::vector<CanaryResult> StartProbe::results() {
  if (failed_to_start_) return judge_start_probe(plan_, *failed_to_start_);
  std::optional<ProcessResult> result = child_->wait_for(start_probe_timeout + start_probe_overhead);
  if (!result) {
    child_->kill_group();
    result = child_->wait();
    result->outcome = ProcessResult::Outcome::timed_out;
  }
  return judge_start_probe(plan_, *result);
}

std::filesystem::path unchecked_marker_path(const StateDirs& dirs, const std::string& name) {
  return dirs.bottle_state_dir(name) / "unchecked";
}

void set_unchecked_marker(const StateDirs& dirs, const std::string& name, bool unchecked) {
  const std::filesystem::path marker = unchecked_marker_path(dirs, name);
  if (unchecked) {
    write_file_atomic(marker, "started with --no-check: the network canaries did not run\n", 0600);
    return;
  }
  std::error_code ec;
  std::filesystem::remove(marker, ec);
  if (ec) throw Error(ErrorKind::io, fmt::format("cannot remove {}: {}", marker.string(), ec.message()));
}

bool has_unchecked_marker(const StateDirs& dirs, const std::string& name) {
  std::error_code ec;
  return std::filesystem::exists(unchecked_marker_path(dirs, name), ec);
}

}  // namespace bottle
