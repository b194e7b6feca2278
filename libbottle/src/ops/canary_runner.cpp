// run_canaries: the one place canary probes run, through the backend's exec.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "bottle/credentials/claude_credentials.hpp"
#include "bottle/credentials/codex_credentials.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "bottle/ops/bottles.hpp"
#include "bottle/ops/canaries.hpp"
#include "bottle/ops/start_check.hpp"

namespace bottle {

namespace {

std::string random_nonce() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

void add_secret(std::vector<SecretNeedle>& secrets, std::string label, const std::string& value) {
  // A short value would match by accident.
  if (value.size() >= 8) secrets.push_back({std::move(label), value});
}

CanaryResult workspace_canary(Bottles& bottles, const std::string& name) {
  try {
    const auto changes = bottles.workspace_changes(name);
    const auto unprotected = bottles.unprotected_paths(name);
    if (!changes.empty())
      return {"workspace", CanaryStatus::fail,
              fmt::format("{} protected path(s) changed, first: {}", changes.size(), format_change(changes.front()))};
    if (!unprotected.empty())
      return {"workspace", CanaryStatus::fail,
              fmt::format("{} path(s) not protected in the running bottle, first: {}", unprotected.size(),
                          unprotected.front())};
    return {"workspace", CanaryStatus::pass, "no protected path changed, every one is still protected"};
  } catch (const Error& e) {
    return {"workspace", CanaryStatus::unchecked, fmt::format("could not check: {}", e.what())};
  }
}

CanaryResult egress_canary(const Host& host, Runner& runner, Bottles& bottles, const BottleSpec& spec,
                           const BottleRow& row) {
  switch (row.egress) {
    case EgressState::off: return {"egress", CanaryStatus::skipped, "egress is off: the bottle has no network"};
    case EgressState::none:
      return {"egress", CanaryStatus::skipped, "this backend runs no egress here: the bottle has no network"};
    case EgressState::on: break;
    default: return {"egress", CanaryStatus::fail, fmt::format("egress is {}", to_string(row.egress))};
  }
  try {
    if (const auto pipelock = managed_pipelock_of(host, bottles.store().dirs(), spec)) {
      const ProcessResult r = runner.run({.argv = pipelock->health_argv(), .timeout = std::chrono::seconds(10)});
      if (!r.ok())
        return {"egress", CanaryStatus::fail,
                fmt::format("egress runs, its pipelock ({}) is not healthy", pipelock->listen)};
      return {"egress", CanaryStatus::pass, fmt::format("egress runs, its pipelock ({}) is healthy", pipelock->listen)};
    }
  } catch (const Error& e) {
    return {"egress", CanaryStatus::fail, fmt::format("egress runs, its pipelock cannot: {}", e.what())};
  }
  return {"egress", CanaryStatus::pass, "egress runs"};
}

// The real value each route swaps in, read as egress reads it: the JSON pointer's
// string, else the whole file trimmed. A route whose file cannot be read adds none.
void add_route_values(std::vector<SecretNeedle>& secrets, const std::vector<EgressRoute>& routes) {
  for (const auto& route : routes) {
    try {
      const std::string text = read_file(route.value_file);
      std::string value;
      if (route.value_json_pointer.empty()) {
        const auto first = text.find_first_not_of(" \t\r\n");
        const auto last = text.find_last_not_of(" \t\r\n");
        if (first != std::string::npos) value = text.substr(first, last - first + 1);
      } else {
        const boost::json::value doc = boost::json::parse(text);
        std::error_code ec;
        const auto* found = doc.find_pointer(route.value_json_pointer, ec);
        if (found != nullptr && found->is_string()) value = std::string(found->as_string());
      }
      add_secret(secrets, fmt::format("real value of route {}", route.name), value);
    } catch (const std::exception&) {}
  }
}

}  // namespace

std::vector<SecretNeedle> host_real_tokens(const Host& host) {
  std::vector<SecretNeedle> secrets;
  // A login that does not parse holds nothing this check could compare with.
  try {
    if (const auto path = codex_auth_path_from_environment(host); std::filesystem::is_regular_file(path)) {
      const CodexHostAuth auth = parse_codex_auth(read_file(path));
      add_secret(secrets, "Codex access token", auth.access_token);
      add_secret(secrets, "Codex refresh token", auth.refresh_token);
      add_secret(secrets, "Codex id token", auth.id_token);
      add_secret(secrets, "OpenAI API key", auth.api_key);
    }
  } catch (const std::exception&) {}
  try {
    if (const auto path = claude_credentials_path_from_environment(host); std::filesystem::is_regular_file(path)) {
      const ClaudeHostCredentials creds = parse_claude_credentials(read_file(path));
      add_secret(secrets, "Claude access token", creds.access_token);
      add_secret(secrets, "Claude refresh token", creds.refresh_token);
    }
  } catch (const std::exception&) {}
  return secrets;
}

std::vector<CanaryResult> run_canaries(const Host& host, Runner& runner, Bottles& bottles, const std::string& name,
                                       const CanaryOptions& options) {
  const BottleSpec spec = bottles.spec(name);
  Backend& backend = bottles.backend(spec.backend);
  std::optional<BottleRow> row;
  for (auto& r : bottles.list())
    if (r.name == name && r.managed) row = r;
  if (!row || row->state != EngineState::running)
    throw Error(ErrorKind::conflict, fmt::format("bottle \"{}\" is not running ({}); start it first", name,
                                                 row ? row->state_text() : "missing"));

  // The engine's own overhead on top of the probe's limit.
  const auto deadline = std::chrono::seconds(options.timeout_s) + std::chrono::seconds(20);
  // Every probe runs as root with the system directories first on its PATH. The agent
  // user owns its home and maybe directories on its own PATH, where a shim named node
  // or nc could answer "timeout" for a probe; root sees the same network.
  auto guest_command = [&](const Argv& command, std::optional<std::string> input = std::nullopt) {
    const ExecOptions exec_options{
        .forward_stdin = input.has_value(), .user = "root", .env = {{"PATH", std::string(canary_probe_path)}}};
    return Command{.argv = backend.commands().exec_argv(spec, command, exec_options),
                   .stdin_data = std::move(input),
                   .timeout = deadline};
  };
  auto in_guest = [&](const Argv& command, std::optional<std::string> input = std::nullopt) {
    return runner.run(guest_command(command, std::move(input)));
  };

  std::vector<std::string> addresses = host_ipv4_addresses();
  if (spec.backend == BackendKind::docker) {
    try {
      const std::string gateway = backend.egress_parent_host();
      if (std::find(addresses.begin(), addresses.end(), gateway) == addresses.end()) addresses.push_back(gateway);
    } catch (const Error&) {
      // The gateway is one of the host's addresses when there is one; nothing is lost.
    }
  }
  const GuestEgress egress = resolved_guest_egress(runner, backend, spec);

  // A silent target costs the whole limit, so the probes that wait on the network
  // run at the same time: the DNS lookup in an exec of its own, begun first, and
  // every public, host and egress target in one more (as the start probe does),
  // each judged on its own as before.
  const std::string nonce = options.nonce.empty() ? random_nonce() : options.nonce;
  std::unique_ptr<RunningProcess> dns_probe;
  std::optional<ProcessResult> dns_result;
  try {
    dns_probe = runner.start(guest_command(dns_probe_argv(unique_canary_name(nonce), options.timeout_s)));
  } catch (const std::exception& e) {
    dns_result = ProcessResult{.outcome = ProcessResult::Outcome::failed_to_start, .start_error = e.what()};
  }
  const StartProbePlan plan = start_probe_plan(addresses, egress);
  std::vector<CanaryResult> results =
      judge_start_probe(plan, in_guest(tcp_probe_argv(plan.targets, options.timeout_s)));
  if (!dns_result) {
    dns_result = dns_probe->wait_for(deadline);
    if (!dns_result) {
      dns_probe->kill_group();
      dns_result = dns_probe->wait();
      dns_result->outcome = ProcessResult::Outcome::timed_out;
    }
  }
  results.push_back(judge_dns(*dns_result));

  std::vector<std::string> dummies = bottles.bottle_dummies(spec);
  for (const auto& route : bottles.egress_routes(spec))
    if (!route.dummy.empty()) dummies.push_back(route.dummy);
  if (!egress.enabled) results.push_back({"dummy", CanaryStatus::skipped, "the bottle has no egress"});
  else if (dummies.empty()) results.push_back({"dummy", CanaryStatus::skipped, "the bottle holds no dummy"});
  else
    results.push_back(judge_dummy(
        in_guest(dummy_probe_argv(egress.proxy_url, options.timeout_s), dummy_probe_stdin(dummies.front()))));

  std::vector<SecretNeedle> secrets = host_real_tokens(host);
  add_route_values(secrets, bottles.egress_routes(spec));
  results.push_back(judge_tokens(in_guest(token_scan_argv()), backend.guest_env(spec), secrets));
  results.push_back(workspace_canary(bottles, name));
  results.push_back(egress_canary(host, runner, bottles, spec, *row));
  return results;
}

}  // namespace bottle
