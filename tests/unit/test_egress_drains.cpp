// The dashboard's drains of a cluster egress's audit log (frontend/egress_drains):
// running bottles with egress only, once per interval, into the host's log as the
// bottle's own records, and a failed drain never stops the refresh.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/egress/egress_audit.hpp"
#include "bottle/frontend/egress_drains.hpp"
#include "bottle/ops/bottles.hpp"
#include "sample_specs.hpp"
#include "temp_dir.hpp"

using namespace bottle;

namespace {

const std::string record_line =
    R"({"action":"injected","bottle":"someone-else","bytes_down":512,"bytes_up":0,"duration_ms":12,)"
    R"("host":"chatgpt.com","method":"GET","path":"/models","port":443,"reason":"credential swapped",)"
    R"("route":"codex","status":200,"time":"2026-12-03T01:59:00.123Z"})";

BottleRow running_row(std::string name, BackendKind backend, EngineState state = EngineState::running) {
  BottleRow r;
  r.name = std::move(name);
  r.backend = backend;
  r.state = state;
  r.egress = EgressState::on;
  return r;
}

}  // namespace

TEST_CASE("egress drains: a running cluster bottle's log is drained once per interval into the host's log",
          "[dashboard][audit][kubernetes]") {
  TempDir home;
  const StateDirs dirs{home.path() / "config", home.path() / "state"};
  SpecStore store(dirs);
  for (const std::string name : {"api", "old"}) {
    BottleSpec cluster = minimal_docker_spec();
    cluster.name = name;
    cluster.backend = BackendKind::kubernetes;
    store.save(cluster);
  }
  BottleSpec web = minimal_docker_spec();
  web.name = "web";
  store.save(web);

  RecordingRunner runner;
  int drains = 0;
  bool fail = false;
  runner.respond([&](const Command& c) -> std::optional<ProcessResult> {
    if (c.argv.size() > 3 && c.argv[1] == "exec" && c.argv[3] == "egress") {
      ++drains;
      return fail ? exited(1, "", "error: the cluster is unreachable") : exited(0, record_line + "\nnot a record\n");
    }
    return std::nullopt;
  });
  const BackendFactory factory = [](BackendKind kind, Runner& r) -> std::unique_ptr<Backend> {
    if (kind == BackendKind::kubernetes) return std::make_unique<Backend>(r, std::make_unique<KubernetesCommands>());
    return std::make_unique<Backend>(r, std::make_unique<DockerCommands>());
  };
  Bottles bottles(Host(), runner, dirs, factory);
  std::vector<std::string> warnings;
  bottles.on_warning([&](const std::string& w) { warnings.push_back(w); });
  const std::vector<BottleRow> rows{running_row("api", BackendKind::kubernetes),
                                    running_row("old", BackendKind::kubernetes, EngineState::stopped),
                                    running_row("web", BackendKind::docker)};
  EgressDrains cache(std::chrono::seconds(10));
  const auto t0 = EgressDrains::Clock::time_point{} + std::chrono::hours(1);

  cache.drain(bottles, rows, t0);
  CHECK(drains == 1);  // api only: old is stopped, web's egress writes the host's log itself
  CHECK(runner.commands().size() == 1);
  auto records = recent_egress_records(dirs, "api");
  REQUIRE(records.size() == 1);
  CHECK(records[0].bottle == "api");  // the bottle's own, whatever the pod wrote
  CHECK(records[0].path == "/models");
  CHECK(warnings ==
        std::vector<std::string>{"egress audit log of api: skipped 1 line from egress (not an audit record)"});

  cache.drain(bottles, rows, t0 + std::chrono::seconds(9));
  CHECK(drains == 1);  // within the interval
  fail = true;
  cache.drain(bottles, rows, t0 + std::chrono::seconds(10));  // a failure does not throw
  CHECK(drains == 2);
  CHECK(recent_egress_records(dirs, "api").size() == 1);
  fail = false;
  cache.drain(bottles, rows, t0 + std::chrono::seconds(20));
  CHECK(drains == 3);
  CHECK(recent_egress_records(dirs, "api").size() == 2);
}
