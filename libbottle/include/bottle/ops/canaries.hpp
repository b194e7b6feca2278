#pragma once
// Canaries: `bottle-cli check NAME` proves, inside the running bottle, that its
// fences hold right now. Each canary is a pure guest probe (an argv run in the
// bottle, optionally with stdin) and a pure judge of its output that yields a
// CanaryResult; run_canaries() is the one place that executes them, through
// Backend::exec. A probe that cannot run (no tool in a custom image, a malformed
// answer) is `unchecked`, which counts as a failure, never as a pass.
//
// The guest probes prefer node (in the agent image), then busybox/Debian tools
// (nc or bash's /dev/tcp, getent or nslookup, curl or wget).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/core/host.hpp"
#include "bottle/core/host_interface.hpp"
#include "bottle/core/subprocess.hpp"

namespace bottle {

class Bottles;

enum class CanaryStatus {
  pass,
  fail,
  unchecked,  ///< could not check: counts as a failure
  skipped,    ///< does not apply to this bottle (e.g. egress is off); not a failure
};
/// "pass", "fail", "could not check", "skipped".
std::string_view to_string(CanaryStatus status);

struct CanaryResult {
  std::string name;  ///< "public-network", "host", "egress-ports", "dns", "dummy", "tokens", "workspace", "egress"
  CanaryStatus status = CanaryStatus::unchecked;
  std::string reason;  ///< one line, never a secret
  bool operator==(const CanaryResult&) const = default;
};

/// True when no result is fail or unchecked.
bool canaries_pass(const std::vector<CanaryResult>& results);

// ---- TCP reachability -----------------------------------------------------------
struct TcpTarget {
  std::string host;  ///< IPv4 address or a name the guest resolves
  int port = 0;
  bool operator==(const TcpTarget&) const = default;
};

/// What a connection attempt from the guest ended with. `refused` means a packet
/// reached the target (it answered with a reset), so it counts as reachable.
enum class TcpOutcome { connected, refused, unreachable, timeout, unresolved, error };

struct TcpProbe {
  TcpTarget target;
  TcpOutcome outcome = TcpOutcome::error;
  bool operator==(const TcpProbe&) const = default;
};

/// `sh -c SCRIPT bottle-canary SECONDS HOST:PORT...`: tries every target (in
/// parallel with node), each for at most `timeout_s`, and prints one line
/// "HOST PORT OUTCOME" per target, or "no-tool".
Argv tcp_probe_argv(const std::vector<TcpTarget>& targets, int timeout_s);
/// The same with a limit finer than a second ("0.300"), for the probes start runs.
/// Without node the guest's nc waits whole seconds: the fraction is rounded up.
Argv tcp_probe_argv(const std::vector<TcpTarget>& targets, std::chrono::milliseconds timeout);
/// The probes of tcp_probe_argv's output, in `targets` order; nullopt when the
/// probe could not run (status, "no-tool", a missing or malformed line).
std::optional<std::vector<TcpProbe>> parse_tcp_probe(const ProcessResult& result,
                                                     const std::vector<TcpTarget>& targets);
/// Why a probe's result could not be judged: "could not check: ...".
std::string probe_unchecked_reason(const ProcessResult& result);
/// Pass when nothing was reached (every outcome unreachable, timeout or unresolved):
/// "public-network" and "host". `what` names the targets in the reason.
CanaryResult judge_unreachable(std::string name, std::string_view what,
                               const std::optional<std::vector<TcpProbe>>& probes);
/// "egress-ports": egress must accept `proxy` and refuse (or drop) every other target.
CanaryResult judge_egress_ports(const TcpTarget& proxy, const std::optional<std::vector<TcpProbe>>& probes);

/// What the network canaries try: public addresses of big anycast services
/// ("public-network"); every host address on two ports ("host": a reachable host
/// answers even a closed port, with a reset); and egress's proxy port followed by
/// the other ports a proxy image might serve ("egress-ports").
const std::vector<TcpTarget>& canary_public_targets();
std::vector<TcpTarget> canary_host_targets(const std::vector<std::string>& host_addresses);
std::vector<TcpTarget> canary_egress_targets(const TcpTarget& proxy);
/// host:port of an "http://HOST[:PORT][/...]" proxy URL; nullopt for anything else.
std::optional<TcpTarget> proxy_tcp_target(const std::string& proxy_url);

// ---- DNS ------------------------------------------------------------------------
/// `sh -c SCRIPT bottle-canary SECONDS NAME`: looks NAME up with the guest's
/// resolver and prints "resolved ADDRESS", "unresolved CODE" or "no-tool".
Argv dns_probe_argv(const std::string& unique_name, int timeout_s);
/// "dns": pass when the unique name did not resolve.
CanaryResult judge_dns(const ProcessResult& result);
/// A name no resolver can have cached: "bottle-canary-NONCE.invalid".
std::string unique_canary_name(std::string_view nonce);

// ---- A dummy sent to a host it is not bound to -------------------------------------
/// Where the dummy probe sends its request (nobody may serve this name).
inline constexpr std::string_view canary_unbound_url = "http://bottle-canary.invalid/";
/// `sh -c SCRIPT bottle-canary SECONDS PROXY_URL URL`: a GET for URL through the
/// proxy with the header line read from stdin ("Authorization: Bearer DUMMY"); prints
/// "status CODE", "error WHAT" or "no-tool". The dummy never enters the host's argv.
Argv dummy_probe_argv(const std::string& proxy_url, int timeout_s);
/// What dummy_probe_argv reads on stdin.
std::string dummy_probe_stdin(const std::string& dummy);
/// "dummy": pass when egress answered 403.
CanaryResult judge_dummy(const ProcessResult& result);

// ---- Real tokens --------------------------------------------------------------------
/// A host secret to look for; `value` is never printed.
struct SecretNeedle {
  std::string label;  ///< "codex access token"
  std::string value;
};
/// Run as root: prints every process's environment and the agent credential files
/// under /root and /home/*, each after a "==> PATH" line, then "==> end".
Argv token_scan_argv();
/// "tokens": fail naming the secret's label and where it was found (never the value);
/// `guest_env` is what every exec in the bottle gets. Unchecked without "==> end".
CanaryResult judge_tokens(const ProcessResult& result, const std::map<std::string, std::string>& guest_env,
                          const std::vector<SecretNeedle>& secrets);
/// The real tokens of the host's agent logins (Codex auth.json, Claude
/// .credentials.json) found through `host`'s environment; empty when none parse.
std::vector<SecretNeedle> host_real_tokens(const Host& host);

// ---- The runner -----------------------------------------------------------------------
/// The PATH every probe runs with (as root): the image's system directories before
/// /usr/local, none of them the agent user's.
inline constexpr std::string_view canary_probe_path = "/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin";

struct CanaryOptions {
  int timeout_s = 2;  ///< per probe
  std::string nonce;  ///< for the DNS name; empty: random
};

/// Run every canary in bottle `name`, each probe as root with canary_probe_path. Throws Error(not_found) for no such
/// bottle and Error(conflict) when it is not running.
std::vector<CanaryResult> run_canaries(const Host& host, Runner& runner, Bottles& bottles, const std::string& name,
                                       const CanaryOptions& options = {});

/// "pass  public-network  no public address answered" lines, one per result.
std::string canaries_to_text(const std::vector<CanaryResult>& results);
/// {"bottle":NAME,"ok":BOOL,"canaries":[{"name":..,"status":..,"reason":..}]}
std::string canaries_to_json(const std::string& name, const std::vector<CanaryResult>& results);

}  // namespace bottle
