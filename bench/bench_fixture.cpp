// bench_fixture: set-up steps for bench/run.sh that must match what bottle itself writes,
// so they go through libbottle rather than being re-typed in shell.
//
//   bench_fixture specs HOME N PREFIX docker|smolmachines
//       store N specs (PREFIX000, PREFIX001, ...) under BOTTLE_HOME=HOME, each with a
//       workspace, as `bottle-cli create` would store them (no engine is touched).
//   bench_fixture egress ROUTES_OUT PORT CONFDIR ADDON PARENT_PROXY PARENT_CA HOST DUMMY VALUE_FILE [--no-addon]
//       write the egress routes file bottle renders for forwarded credentials (the
//       "codex-chatgpt" route bound to HOST with DUMMY, reading /tokens/access_token of
//       VALUE_FILE, plus "claude-oauth" bound to api.anthropic.com reading
//       /claudeAiOauth/accessToken, both with their token brokers) and print, one word a
//       line, the mitmdump command line bottle ran egress with before bottle-egress
//       (--no-addon: the same command without the addon, to measure mitmproxy alone),
//       kept so the benchmarks can still set the two side by side.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "bottle/core/state.hpp"
#include "bottle/egress/egress_config.hpp"

using namespace bottle;

namespace {

// The option the addon read its routes file from.
constexpr const char* egress_routes_option = "bottle_routes";

struct MitmdumpLaunch {
  std::string port, confdir, addon_path, routes_path, upstream_proxy, upstream_trusted_ca;
};

std::vector<std::string> mitmdump_argv(const MitmdumpLaunch& launch) {
  return {"mitmdump",      "--quiet",
          "--listen-host", "127.0.0.1",
          "--listen-port", launch.port,
          "--set",         "confdir=" + launch.confdir,
          "--set",         "block_global=false",
          "--set",         "flow_detail=0",
          "--scripts",     launch.addon_path,
          "--set",         std::string(egress_routes_option) + "=" + launch.routes_path,
          "--mode",        "upstream:" + launch.upstream_proxy,
          "--set",         "ssl_verify_upstream_trusted_ca=" + launch.upstream_trusted_ca};
}

int usage() {
  std::fprintf(stderr,
               "usage: bench_fixture specs HOME N PREFIX docker|smolmachines\n"
               "       bench_fixture egress ROUTES_OUT PORT CONFDIR ADDON PARENT_PROXY PARENT_CA HOST DUMMY "
               "VALUE_FILE [--no-addon]\n");
  return 2;
}

int specs(const std::vector<std::string>& a) {
  const StateDirs dirs{std::string(a[0]) + "/config", std::string(a[0]) + "/state"};
  SpecStore store(dirs);
  const int n = std::atoi(a[1].c_str());
  for (int i = 0; i < n; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%03d", i);
    BottleSpec spec;
    spec.name = a[2] + suffix;
    spec.backend = a[3] == "smolmachines" ? BackendKind::smolmachines : BackendKind::docker;
    spec.workspaces = {{"/src/project-" + std::to_string(i), "/workspace", false}};
    validate_spec(spec);
    store.save(spec);
  }
  return 0;
}

int egress(const std::vector<std::string>& a) {
  const std::vector<EgressRoute> routes = {
      {.name = "codex-chatgpt",
       .hosts = {a[6]},
       .header = "Authorization",
       .dummy = a[7],
       .value_file = a[8],
       .value_json_pointer = "/tokens/access_token"},
      {.name = "claude-oauth",
       .hosts = {"api.anthropic.com"},
       .header = "Authorization",
       .dummy = "sk-ant-oat01-bench-dummy-claude-0000",
       .value_file = a[8],
       .value_json_pointer = "/claudeAiOauth/accessToken"},
  };
  std::ofstream(a[0], std::ios::binary) << render_egress_routes(routes);
  const std::vector<std::string> argv = mitmdump_argv({.port = a[1],
                                                       .confdir = a[2],
                                                       .addon_path = a[3],
                                                       .routes_path = a[0],
                                                       .upstream_proxy = a[4],
                                                       .upstream_trusted_ca = a[5]});
  const bool no_addon = a.size() > 9 && a[9] == "--no-addon";
  for (std::size_t i = 0; i < argv.size(); ++i) {
    // Without the addon mitmdump has no bottle_routes option: drop the script and it.
    if (no_addon && (argv[i] == "--scripts" || argv[i].rfind(std::string(egress_routes_option) + "=", 0) == 0)) {
      if (argv[i] == "--scripts") ++i;
      continue;
    }
    if (no_addon && argv[i] == "--set" && i + 1 < argv.size() &&
        argv[i + 1].rfind(std::string(egress_routes_option) + "=", 0) == 0) {
      ++i;
      continue;
    }
    std::printf("%s\n", argv[i].c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string what = argv[1];
  const std::vector<std::string> a(argv + 2, argv + argc);
  try {
    if (what == "specs" && a.size() == 4) return specs(a);
    if (what == "egress" && (a.size() == 9 || a.size() == 10)) return egress(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_fixture: %s\n", e.what());
    return 1;
  }
  return usage();
}
