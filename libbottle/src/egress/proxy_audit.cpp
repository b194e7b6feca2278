// bottle-egress's audit records: one per request, the same fields and actions the
// Python addon (tests/oracle/egress-addon/bottle_egress.py, bottle_audit.py) records.
#include <fmt/format.h>
#include <ctime>

#include "bottle/egress/credential_swap.hpp"
#include "egress/proxy_internal.hpp"

namespace bottle::egress_proxy {

namespace {

std::string utc_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::string read_real(ProxyState& state, std::size_t index) {
  std::string real = state.values.at(index)->read();
  if (state.reals.size() < state.routes.size()) state.reals.resize(state.routes.size());
  state.reals[index] = real;
  return real;
}

ExchangeAudit::ExchangeAudit(ProxyState& state, const RequestHead& head)
    : state_(state), start_(std::chrono::steady_clock::now()) {
  if (!state_.audit) return;
  record_.time_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  record_.time = utc_time(record_.time_ms);
  record_.method = head.method;
  record_.host = lowercase(head.authority.host);
  record_.port = head.authority.port;
  record_.path = head.method == "CONNECT" ? "" : std::string(audit_bare_path(head.path));
  record_.action = "tunneled";
  record_.reason = "forwarded unchanged";
}

ExchangeAudit::~ExchangeAudit() {
  try {
    if (!written_) interrupted("connection closed");
  } catch (const std::exception&) {
    // Out of memory while unwinding: the record is lost, never the process.
  }
}

void ExchangeAudit::decide(std::string action, std::string reason, std::string route) {
  record_.action = std::move(action);
  record_.reason = std::move(reason);
  record_.route = std::move(route);
}

void ExchangeAudit::finish() { write(); }

void ExchangeAudit::interrupted(std::string_view why) {
  if (written_) return;
  // The Python addon: no answer at all is "refused"; an answer cut short keeps its action.
  if (record_.status == 0 && record_.action != "blocked") {
    record_.action = "refused";
    record_.reason = std::string(why);
  } else {
    record_.reason += "; interrupted: " + std::string(why);
  }
  write();
}

void ExchangeAudit::write() {
  if (written_) return;
  written_ = true;
  if (!state_.audit) return;
  record_.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
  std::vector<std::string> secrets;
  for (const SwapRoute& route : state_.routes) {
    secrets.insert(secrets.end(), route.dummies.begin(), route.dummies.end());
    secrets.insert(secrets.end(), route.guarded.begin(), route.guarded.end());
  }
  secrets.insert(secrets.end(), state_.reals.begin(), state_.reals.end());
  for (std::string* field : {&record_.method, &record_.host, &record_.path, &record_.reason})
    *field = redact_secrets(std::move(*field), secrets);
  state_.audit->write(std::move(record_));
}

}  // namespace bottle::egress_proxy
