#include "bottle/credentials/host_refresh.hpp"

namespace bottle {

std::vector<std::string> host_refresh_argv(const HostRefreshRequest& request) {
  std::vector<std::string> argv = {request.program.string(),
                                   "ensure-fresh",
                                   "--kind",
                                   std::string(to_string(request.agent)),
                                   "--host-file",
                                   request.host_file.string(),
                                   "--min-valid",
                                   std::to_string(request.min_valid_s)};
  if (!request.upstream.proxy.empty()) argv.insert(argv.end(), {"--parent-proxy", request.upstream.proxy});
  if (!request.upstream.trusted_ca_file.empty())
    argv.insert(argv.end(), {"--upstream-ca", request.upstream.trusted_ca_file});
  return argv;
}

HostRefreshOutcome host_refresh_outcome(const ProcessResult& result) {
  if (result.outcome != ProcessResult::Outcome::exited) return HostRefreshOutcome::unavailable;
  if (result.code == host_refresh_exit_sign_in_again) return HostRefreshOutcome::sign_in_again;
  if (result.code != 0) return HostRefreshOutcome::unavailable;
  return result.out == "refreshed\n" ? HostRefreshOutcome::refreshed : HostRefreshOutcome::fresh;
}

bool host_token_expiring(std::int64_t expires_at_s, std::int64_t now_s, std::int64_t window_s) {
  return expires_at_s <= now_s + window_s;
}

}  // namespace bottle
