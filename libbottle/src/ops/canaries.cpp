#include "bottle/ops/canaries.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <set>
#include <sstream>

#include "core/json_reader.hpp"

namespace bottle {

namespace {

// Every script takes its values as positional parameters, never spliced into the
// text. The node programs use no single quote, so they sit in '...' as they are.
constexpr std::string_view tcp_script = R"SH(t="$1"; shift
if command -v node >/dev/null 2>&1; then
  exec node -e '
const net = require("net");
const ms = Number(process.argv[1]) * 1000, targets = process.argv.slice(2);
const codes = {ECONNREFUSED: "refused", ENETUNREACH: "unreachable", EHOSTUNREACH: "unreachable",
  ENOTFOUND: "unresolved", EAI_AGAIN: "unresolved"};
const lines = []; let left = targets.length;
if (left === 0) process.exit(0);
targets.forEach((t, i) => {
  const k = t.lastIndexOf(":"), host = t.slice(0, k), port = Number(t.slice(k + 1));
  const s = new net.Socket(); let done = false;
  const finish = (o) => {
    if (done) return; done = true; clearTimeout(timer); s.destroy(); lines[i] = host + " " + port + " " + o;
    if (--left === 0) { process.stdout.write(lines.join("\n") + "\n"); process.exit(0); }
  };
  const timer = setTimeout(() => finish("timeout"), ms);
  s.on("connect", () => finish("connected"));
  s.on("error", (e) => finish(codes[e.code] || "error"));
  s.connect(port, host);
});' "$t" "$@"
fi
classify() {
  case "$1" in
    *refused*) echo refused ;;
    *nreachable*|*"No route"*) echo unreachable ;;
    *"bad address"*|*resolve*|*"not known"*) echo unresolved ;;
    *"timed out"*) echo timeout ;;
    *) echo error ;;
  esac
}
if command -v nc >/dev/null 2>&1; then
  # nc gives up connecting after -w itself ("timed out"), but once connected it
  # waits for the server: only the outer limit ending it means it connected.
  # -w takes whole seconds, so a fraction is rounded up.
  w=${t%%.*}; case "$t" in *.*) w=$((${w:-0} + 1)) ;; esac
  probe() {
    err=$(timeout $(($w + 1)) nc -w "$w" "$1" "$2" </dev/null 2>&1 >/dev/null)
    case "$?" in 0|124|143) echo connected ;; *) classify "$err" ;; esac
  }
elif command -v bash >/dev/null 2>&1; then
  probe() {
    err=$(timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>&1)
    case "$?" in 0) echo connected ;; 124|143) echo timeout ;; *) classify "$err" ;; esac
  }
else echo no-tool; exit 0; fi
line() { echo "${1%:*} ${1##*:} $(probe "${1%:*}" "${1##*:}")"; }
# Every target at once, each into a file of its own, printed in target order: a
# guest without node would otherwise wait out the limit once per silent target.
# A missing file fails the probe; without a scratch dir, one target at a time.
if d=$(mktemp -d 2>/dev/null); then
  trap 'rm -rf "$d"' EXIT
  trap 'exit 1' HUP INT TERM
  i=0
  for target; do i=$((i + 1)); line "$target" >"$d/$i" & done
  wait
  i=0
  for target; do i=$((i + 1)); cat "$d/$i" || exit 1; done
else
  for target; do line "$target"; done
fi
)SH";

constexpr std::string_view dns_script = R"SH(t="$1"; name="$2"
if command -v node >/dev/null 2>&1; then
  timeout "$t" node -e '
require("dns").lookup(process.argv[1], (e, a) => console.log(e ? "unresolved " + e.code : "resolved " + a));' "$name" \
    || echo "unresolved timeout"
elif command -v getent >/dev/null 2>&1; then
  if out=$(timeout "$t" getent hosts "$name"); then echo "resolved ${out%% *}"; else echo "unresolved getent"; fi
elif command -v nslookup >/dev/null 2>&1; then
  if timeout "$t" nslookup "$name" >/dev/null 2>&1; then echo "resolved nslookup"; else echo "unresolved nslookup"; fi
else echo no-tool; fi
)SH";

// The header line comes on stdin. The fallbacks put it in the argv of a process in
// the guest only, which already holds the dummy in its files.
constexpr std::string_view dummy_script = R"SH(t="$1"; proxy="$2"; url="$3"
if command -v node >/dev/null 2>&1; then
  exec node -e '
const http = require("http"); const proxy = new URL(process.argv[2]), url = new URL(process.argv[3]);
let input = ""; process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const line = input.split("\n")[0], k = line.indexOf(":");
  const req = http.request({host: proxy.hostname, port: Number(proxy.port || 80), method: "GET", path: url.href,
    headers: {Host: url.host, [line.slice(0, k)]: line.slice(k + 1).trim()}});
  req.setTimeout(Number(process.argv[1]) * 1000, () => { console.log("error timeout"); process.exit(0); });
  req.on("response", (r) => { console.log("status " + r.statusCode); process.exit(0); });
  req.on("error", (e) => { console.log("error " + e.code); process.exit(0); });
  req.end();
});' "$t" "$proxy" "$url"
fi
if command -v curl >/dev/null 2>&1; then
  code=$(curl -s -o /dev/null -m "$t" -w "%{http_code}" --proxy "$proxy" -H @- "$url")
  case "$code" in 000|"") echo "error curl";; *) echo "status $code";; esac
elif command -v wget >/dev/null 2>&1; then
  IFS= read -r header
  err=$(http_proxy="$proxy" timeout "$t" wget -q -O /dev/null --header "$header" "$url" 2>&1) && { echo "status 200"; exit 0; }
  code=$(printf '%s\n' "$err" | sed -n 's/.*HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' | head -n 1)
  if [ -n "$code" ]; then echo "status $code"; else echo "error wget"; fi
else echo no-tool; fi
)SH";

// Run as root. Each section starts on a line of its own, so a file without a final
// newline cannot hide the next header.
constexpr std::string_view token_scan_script = R"SH(for f in /proc/[0-9]*/environ; do
  [ -r "$f" ] || continue; printf '\n==> %s\n' "$f"; cat "$f" 2>/dev/null
done
for h in /root /home/*; do
  for f in "$h/.codex/auth.json" "$h/.claude/.credentials.json" "$h/.claude.json"; do
    [ -f "$f" ] || continue; printf '\n==> %s\n' "$f"; cat "$f"
  done
done
printf '\n==> end\n'
)SH";

Argv script_argv(std::string_view script, std::initializer_list<std::string> args) {
  Argv argv{"sh", "-c", std::string(script), "bottle-canary"};
  argv.insert(argv.end(), args);
  return argv;
}

std::optional<TcpOutcome> outcome_of(std::string_view word) {
  if (word == "connected") return TcpOutcome::connected;
  if (word == "refused") return TcpOutcome::refused;
  if (word == "unreachable") return TcpOutcome::unreachable;
  if (word == "timeout") return TcpOutcome::timeout;
  if (word == "unresolved") return TcpOutcome::unresolved;
  if (word == "error") return TcpOutcome::error;
  return std::nullopt;
}

std::string_view outcome_text(TcpOutcome outcome) {
  switch (outcome) {
    case TcpOutcome::connected: return "connected";
    case TcpOutcome::refused: return "answered (refused)";
    case TcpOutcome::unreachable: return "unreachable";
    case TcpOutcome::timeout: return "timed out";
    case TcpOutcome::unresolved: return "unresolved";
    case TcpOutcome::error: return "error";
  }
  return "error";
}

std::string endpoint(const TcpTarget& t) { return fmt::format("{}:{}", t.host, t.port); }

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// The probe's one answer line, or "" when it did not run or said nothing.
std::string answer_line(const ProcessResult& result) {
  if (!result.ok()) return {};
  const auto lines = lines_of(result.out);
  return lines.size() == 1 ? lines.front() : std::string();
}

}  // namespace

std::string probe_unchecked_reason(const ProcessResult& result) {
  if (!result.started()) return "could not check: the engine could not be run";
  if (result.timed_out()) return "could not check: the probe timed out";
  if (!result.ok()) return fmt::format("could not check: the probe failed (status {})", result.shell_status());
  if (result.out.find("no-tool") != std::string::npos) return "could not check: no probe tool in the image";
  return "could not check: unexpected probe output";
}

std::string_view to_string(CanaryStatus status) {
  switch (status) {
    case CanaryStatus::pass: return "pass";
    case CanaryStatus::fail: return "fail";
    case CanaryStatus::unchecked: return "could not check";
    case CanaryStatus::skipped: return "skipped";
  }
  return "could not check";
}

bool canaries_pass(const std::vector<CanaryResult>& results) {
  return std::none_of(results.begin(), results.end(), [](const CanaryResult& r) {
    return r.status == CanaryStatus::fail || r.status == CanaryStatus::unchecked;
  });
}

Argv tcp_probe_argv(const std::vector<TcpTarget>& targets, int timeout_s) {
  Argv argv = script_argv(tcp_script, {std::to_string(timeout_s)});
  for (const auto& t : targets) argv.push_back(endpoint(t));
  return argv;
}

Argv tcp_probe_argv(const std::vector<TcpTarget>& targets, std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  Argv argv = script_argv(tcp_script, {fmt::format("{}.{:03}", ms / 1000, ms % 1000)});
  for (const auto& t : targets) argv.push_back(endpoint(t));
  return argv;
}

const std::vector<TcpTarget>& canary_public_targets() {
  // Answering one of these would mean a way out.
  static const std::vector<TcpTarget> targets = {{"1.1.1.1", 443}, {"8.8.8.8", 53}};
  return targets;
}

std::vector<TcpTarget> canary_host_targets(const std::vector<std::string>& host_addresses) {
  // Any port will do: a host that is reachable at all answers a closed port with a
  // reset, which the probe reports as `refused`.
  constexpr std::array<int, 2> host_ports = {22, 80};
  std::vector<TcpTarget> targets;
  for (const auto& address : host_addresses)
    for (const int port : host_ports) targets.push_back({address, port});
  return targets;
}

std::vector<TcpTarget> canary_egress_targets(const TcpTarget& proxy) {
  // Ports a proxy image might also serve (mitmproxy's web UI, SOCKS, other proxies).
  constexpr std::array<int, 9> other_ports = {22, 53, 80, 443, 1080, 3128, 8081, 8443, 9090};
  std::vector<TcpTarget> targets{proxy};
  for (const int port : other_ports)
    if (port != proxy.port) targets.push_back({proxy.host, port});
  return targets;
}

std::optional<TcpTarget> proxy_tcp_target(const std::string& proxy_url) {
  constexpr std::string_view scheme = "http://";
  if (proxy_url.rfind(scheme, 0) != 0) return std::nullopt;
  std::string rest = proxy_url.substr(scheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return TcpTarget{rest, 80};
  try {
    return TcpTarget{rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
  } catch (const std::exception&) { return std::nullopt; }
}

std::optional<std::vector<TcpProbe>> parse_tcp_probe(const ProcessResult& result,
                                                     const std::vector<TcpTarget>& targets) {
  if (!result.ok()) return std::nullopt;
  const auto lines = lines_of(result.out);
  if (lines.size() != targets.size()) return std::nullopt;
  std::vector<TcpProbe> probes;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string expected = fmt::format("{} {} ", targets[i].host, targets[i].port);
    if (lines[i].rfind(expected, 0) != 0) return std::nullopt;
    const auto outcome = outcome_of(std::string_view(lines[i]).substr(expected.size()));
    if (!outcome) return std::nullopt;
    probes.push_back({targets[i], *outcome});
  }
  return probes;
}

CanaryResult judge_unreachable(std::string name, std::string_view what,
                               const std::optional<std::vector<TcpProbe>>& probes) {
  if (!probes) return {std::move(name), CanaryStatus::unchecked, "could not check: the TCP probe did not run"};
  if (probes->empty()) return {std::move(name), CanaryStatus::skipped, fmt::format("no {} to try", what)};
  for (const auto& p : *probes) {
    if (p.outcome == TcpOutcome::connected || p.outcome == TcpOutcome::refused)
      return {std::move(name), CanaryStatus::fail,
              fmt::format("{} {} is reachable ({})", what, endpoint(p.target), outcome_text(p.outcome))};
    if (p.outcome == TcpOutcome::error)
      return {std::move(name), CanaryStatus::unchecked,
              fmt::format("could not check: connecting to {} failed oddly", endpoint(p.target))};
  }
  return {std::move(name), CanaryStatus::pass, fmt::format("no {} answered ({} tried)", what, probes->size())};
}

CanaryResult judge_egress_ports(const TcpTarget& proxy, const std::optional<std::vector<TcpProbe>>& probes) {
  const std::string name = "egress-ports";
  if (!probes) return {name, CanaryStatus::unchecked, "could not check: the TCP probe did not run"};
  bool proxy_seen = false;
  for (const auto& p : *probes) {
    if (p.target == proxy) {
      proxy_seen = true;
      // The control: a probe that never connects would pass everything else.
      if (p.outcome != TcpOutcome::connected)
        return {name, CanaryStatus::fail,
                fmt::format("egress's proxy port {} does not accept connections ({})", endpoint(p.target),
                            outcome_text(p.outcome))};
    } else if (p.outcome == TcpOutcome::connected) {
      return {name, CanaryStatus::fail, fmt::format("egress accepts connections on {}", endpoint(p.target))};
    } else if (p.outcome == TcpOutcome::error || p.outcome == TcpOutcome::unresolved) {
      return {name, CanaryStatus::unchecked,
              fmt::format("could not check: connecting to {} ended {}", endpoint(p.target), outcome_text(p.outcome))};
    }
  }
  if (!proxy_seen) return {name, CanaryStatus::unchecked, "could not check: the proxy port was not tried"};
  return {
      name, CanaryStatus::pass,
      fmt::format("only the proxy port {} accepts connections ({} other ports tried)", proxy.port, probes->size() - 1)};
}

Argv dns_probe_argv(const std::string& unique_name, int timeout_s) {
  return script_argv(dns_script, {std::to_string(timeout_s), unique_name});
}

CanaryResult judge_dns(const ProcessResult& result) {
  const std::string line = answer_line(result);
  if (line.rfind("unresolved", 0) == 0)
    return {"dns", CanaryStatus::pass,
            fmt::format("a unique name did not resolve ({})",
                        line.size() > 11 ? line.substr(11) : std::string("no answer"))};
  if (line.rfind("resolved", 0) == 0)
    return {"dns", CanaryStatus::fail, "a unique name resolved: the bottle's resolver answers from outside"};
  return {"dns", CanaryStatus::unchecked, probe_unchecked_reason(result)};
}

std::string unique_canary_name(std::string_view nonce) { return fmt::format("bottle-canary-{}.invalid", nonce); }

Argv dummy_probe_argv(const std::string& proxy_url, int timeout_s) {
  return script_argv(dummy_script, {std::to_string(timeout_s), proxy_url, std::string(canary_unbound_url)});
}

std::string dummy_probe_stdin(const std::string& dummy) { return fmt::format("Authorization: Bearer {}\n", dummy); }

CanaryResult judge_dummy(const ProcessResult& result) {
  const std::string line = answer_line(result);
  if (line == "status 403")
    return {"dummy", CanaryStatus::pass, "egress blocked a dummy sent to an unbound host (403)"};
  if (line.rfind("status ", 0) == 0)
    return {
        "dummy", CanaryStatus::fail,
        fmt::format("a dummy sent to an unbound host was not blocked (status {})", detail::printable(line.substr(7)))};
  if (line.rfind("error ", 0) == 0)
    return {"dummy", CanaryStatus::fail,
            fmt::format("the request did not get an answer from egress ({})", detail::printable(line.substr(6)))};
  return {"dummy", CanaryStatus::unchecked, probe_unchecked_reason(result)};
}

Argv token_scan_argv() { return script_argv(token_scan_script, {}); }

CanaryResult judge_tokens(const ProcessResult& result, const std::map<std::string, std::string>& guest_env,
                          const std::vector<SecretNeedle>& secrets) {
  for (const auto& s : secrets)
    for (const auto& [key, value] : guest_env)
      if (!s.value.empty() && value.find(s.value) != std::string::npos)
        return {"tokens", CanaryStatus::fail,
                fmt::format("the host's {} is in the bottle's environment ({})", s.label, key)};
  const std::string end_marker = "\n==> end\n";
  if (!result.ok() || result.out.size() < end_marker.size() ||
      result.out.compare(result.out.size() - end_marker.size(), end_marker.size(), end_marker) != 0)
    return {"tokens", CanaryStatus::unchecked, probe_unchecked_reason(result)};
  std::size_t sections = 0;
  std::size_t pos = 0;
  const std::string& out = result.out;
  while ((pos = out.find("\n==> ", pos)) != std::string::npos) {
    const std::size_t path_start = pos + 5;
    const std::size_t path_end = out.find('\n', path_start);
    const std::string path = out.substr(path_start, path_end - path_start);
    const std::size_t body_end = std::min(out.find("\n==> ", path_end), out.size());
    const std::string_view body = std::string_view(out).substr(path_end, body_end - path_end);
    for (const auto& s : secrets)
      if (!s.value.empty() && body.find(s.value) != std::string_view::npos)
        return {"tokens", CanaryStatus::fail,
                fmt::format("the host's {} is in the bottle ({})", s.label, detail::printable(path))};
    if (path != "end") ++sections;
    pos = path_end;
  }
  if (secrets.empty()) return {"tokens", CanaryStatus::skipped, "no host login to compare with"};
  return {"tokens", CanaryStatus::pass,
          fmt::format("none of the host's {} real tokens is in the bottle ({} places read)", secrets.size(), sections)};
}

std::string canaries_to_text(const std::vector<CanaryResult>& results) {
  std::string text;
  for (const auto& r : results)
    text += fmt::format("{:<15} {:<14} {}\n", to_string(r.status), r.name, detail::printable(r.reason, 400));
  return text;
}

std::string canaries_to_json(const std::string& name, const std::vector<CanaryResult>& results) {
  boost::json::array items;
  for (const auto& r : results)
    items.push_back(boost::json::object{{"name", r.name}, {"status", to_string(r.status)}, {"reason", r.reason}});
  return boost::json::serialize(
             boost::json::object{{"bottle", name}, {"ok", canaries_pass(results)}, {"canaries", std::move(items)}}) +
         "\n";
}

}  // namespace bottle
