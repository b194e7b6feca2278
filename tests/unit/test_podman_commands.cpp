// PodmanCommands: exact podman argvs, the pod on stdin (the kubernetes backend's
// agent pod with podman's volume names), `pod ps --format json` parsing (strict),
// the spec's podman refusals, and exit 125 for an engine CLI that cannot start.

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/backends/podman_commands.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/kube/pod_security.hpp"
#include "bottle/spec/spec_overrides.hpp"
#include "error_of.hpp"

using namespace bottle;
namespace json = boost::json;

namespace {

BottleSpec podman_spec() {
  BottleSpec s;
  s.name = "api";
  s.backend = BackendKind::podman;
  return s;
}

std::string pod_row(const std::string& bottle, const std::string& status, const std::string& name = "",
                    const std::string& role = "agent", const std::string& created = "2026-12-03T10:00:05.301205144Z") {
  return fmt::format(
      R"({{"Cgroup":"/libpod_parent","Containers":[],"Created":"{}","Id":"85a24c76aba0","InfraId":"9df82c30cda5",)"
      R"("Name":"{}","Namespace":"","Networks":[],"Status":"{}",)"
      R"("Labels":{{"io.bottle.managed":"1","io.bottle.name":"{}","io.bottle.role":"{}"}}}})",
      created, name.empty() ? "bottle-" + bottle + "-agent" : name, status, bottle, role);
}

std::string rows_of(const std::vector<std::string>& rows) {
  std::string joined;
  for (const auto& row : rows) joined += (joined.empty() ? "" : ",") + row;
  return "[" + joined + "]";
}

}  // namespace

TEST_CASE("podman argvs: kube play of stdin with no network, pod start/stop/rm, ls by label", "[podman][argv]") {
  const PodmanCommands podman;
  const BottleSpec spec = podman_spec();
  CHECK(podman.create_argvs(spec, {}) ==
        std::vector<Argv>{{"podman", "kube", "play", "--build=false", "--start=false", "--network", "none", "-"}});
  CHECK(podman.start_argv(spec) == Argv{"podman", "pod", "start", "bottle-api-agent"});
  CHECK(podman.start_stdin(spec) == std::nullopt);
  CHECK(podman.start_wait_argv(spec) == std::nullopt);
  CHECK(podman.stop_argv(spec) == Argv{"podman", "pod", "stop", "bottle-api-agent"});
  CHECK(podman.remove_argvs(spec) ==
        std::vector<Argv>{{"podman", "pod", "rm", "-f", "-i", "bottle-api-agent"},
                          {"podman", "volume", "rm", "-f", "bottle-api-home", "bottle-api-tmp"}});
  CHECK(podman.list_argv() == Argv{"podman", "pod", "ps", "--format", "json", "--filter", "label=io.bottle.managed=1"});
  CHECK(podman.list_argvs({spec}) == std::vector<Argv>{podman.list_argv()});
  const PodmanCommands custom(PodmanOptions{.podman = "/opt/podman", .objects = {}});
  CHECK(custom.start_argv(spec) == Argv{"/opt/podman", "pod", "start", "bottle-api-agent"});
}

TEST_CASE("podman exec: -i/-t, workdir and env as podman flags, the agent container, never a user switch",
          "[podman][argv]") {
  const PodmanCommands podman;
  const BottleSpec spec = podman_spec();
  CHECK(podman.container(spec) == "bottle-api-agent-agent");
  CHECK(podman.exec_argv(spec, {"true"}, {}) == Argv{"podman", "exec", "bottle-api-agent-agent", "true"});
  CHECK(podman.exec_argv(spec, {"cat"}, ExecOptions{.forward_stdin = true}) ==
        Argv{"podman", "exec", "-i", "bottle-api-agent-agent", "cat"});
  CHECK(podman.exec_argv(spec, {"sh"},
                         ExecOptions{.tty = true, .user = "root", .workdir = "/tmp", .env = {{"A", "b c"}}}) ==
        Argv{"podman", "exec", "-i", "-t", "-w", "/tmp", "-e", "A=b c", "bottle-api-agent-agent", "sh"});
  const AgentArgv agent = podman.agent_argv(spec, {"--resume"}, true);
  CHECK(agent.prefix == Argv{"podman", "exec", "-i", "-t", "bottle-api-agent-agent"});
  CHECK(agent.tail == Argv{"claude", "--resume"});
  CHECK(podman.agent_argv(spec, {}, false).prefix == Argv{"podman", "exec", "bottle-api-agent-agent"});
}

TEST_CASE("podman plays the kubernetes backend's agent pod, with per-bottle volume names", "[podman][objects]") {
  const PodmanCommands podman;
  BottleSpec spec = podman_spec();
  const auto objects = podman.objects(spec);
  REQUIRE(objects.size() == 1);
  const json::object& pod = objects[0];
  CHECK(pod.at("kind") == "Pod");
  CHECK(pod.at("metadata").at("name") == "bottle-api-agent");
  CHECK_FALSE(pod.at("metadata").as_object().contains("namespace"));
  CHECK(check_pod_security_restricted(pod).empty());
  CHECK(podman.create_stdin(spec, 0) == kube_yaml_stream(objects));
  CHECK(podman.create_stdin(spec, 1) == std::nullopt);

  // The same pod the kubernetes backend applies, but for the emptyDir names.
  BottleSpec kube_spec = spec;
  kube_spec.backend = BackendKind::kubernetes;
  json::object kube_pod = KubernetesCommands().objects(kube_spec).back();
  kube_pod.at("metadata").as_object().erase("namespace");
  json::object& kube_pod_spec = kube_pod.at("spec").as_object();
  kube_pod_spec.at("volumes") =
      json::parse(R"([{"name":"bottle-api-home","emptyDir":{}},{"name":"bottle-api-tmp","emptyDir":{}}])");
  kube_pod_spec.at("containers").as_array()[0].as_object().at("volumeMounts") = json::parse(
      R"([{"name":"bottle-api-home","mountPath":"/home/node"},{"name":"bottle-api-tmp","mountPath":"/tmp"}])");
  CHECK(pod == kube_pod);

  // Egress on or off, the pod is the same: no proxy variables, no CA volume.
  spec.egress.enabled = true;
  CHECK(podman.objects(spec) == objects);
  CHECK(podman.egress() == nullptr);
  CHECK_THAT(podman.egress_unavailable_reason(), Catch::Contains("podman backend does not run egress"));
}

TEST_CASE("podman ls: pod statuses map to states, times carry fractions and offsets", "[podman][list]") {
  const PodmanCommands podman;
  const auto rows = podman.parse_list(
      rows_of({pod_row("api", "Running"), pod_row("web", "Created"), pod_row("done", "Exited"),
               pod_row("half", "Degraded"), pod_row("off", "Stopped", "", "agent", "2026-12-03T11:00:05+01:00")}));
  REQUIRE(rows.size() == 5);
  CHECK(rows[0] == BottleInfo{.name = "api",
                              .backend = BackendKind::podman,
                              .state = EngineState::running,
                              .created_unix = 1796292005,
                              .egress_state = std::nullopt,
                              .other_state = ""});
  CHECK(rows[1].name == "done");
  CHECK(rows[1].state == EngineState::stopped);
  CHECK(rows[2].name == "half");
  CHECK(rows[2].state_text() == "degraded");
  CHECK(rows[3].name == "off");
  CHECK(rows[3].state == EngineState::stopped);
  CHECK(rows[3].created_unix == 1796292005);
  CHECK(rows[4].name == "web");
  CHECK(rows[4].state == EngineState::created);
  CHECK(podman.parse_list("[]").empty());
}

TEST_CASE("podman ls: malformed output is Error(backend) naming the item, never the value", "[podman][list]") {
  const PodmanCommands podman;
  const auto error = [&](const std::string& output) {
    return error_of([&] { podman.parse_list(output); }, ErrorKind::backend);
  };
  CHECK_THAT(error("not json"), Catch::Contains("not a JSON array"));
  CHECK_THAT(error("null"), Catch::Contains("not a JSON array"));
  CHECK_THAT(error(rows_of({pod_row("api", "Dancing")})), Catch::Contains("[0]: Status is not a pod status"));
  CHECK_THAT(error(rows_of({pod_row("api", "Running"), pod_row("web", "Running", "bottle-evil")})),
             Catch::Contains("[1]: Name is not the name"));
  CHECK_THAT(error(rows_of({pod_row("Bad;Name", "Running")})), Catch::Contains("io.bottle.name] is not a bottle name"));
  const std::string hostile = error(rows_of({pod_row("api", "Running", "", "sidecar\\u001b[31m")}));
  CHECK_THAT(hostile, Catch::Contains("io.bottle.role] is not agent"));
  CHECK(hostile.find("sidecar") == std::string::npos);
  CHECK_THAT(error(rows_of({pod_row("api", "Running", "", "agent", "yesterday")})),
             Catch::Contains("Created is not an RFC 3339 time"));
  CHECK_THAT(error(rows_of({pod_row("api", "Running", "", "agent", "2026-12-03T10:00:05.Z")})),
             Catch::Contains("Created is not"));
  CHECK_THAT(error(rows_of({pod_row("api", "Running"), pod_row("api", "Exited")})),
             Catch::Contains("[1]: names a bottle another pod already has"));
  CHECK_THAT(error(R"([{"Name":"bottle-api-agent","Status":"Running"}])"), Catch::Contains("[0]: Labels is missing"));
}

TEST_CASE("podman is_gone reads podman's no such pod/container/volume", "[podman]") {
  const PodmanCommands podman;
  CHECK(podman.is_gone(exited(125, "", "Error: no pod with name or ID bottle-api-agent found: no such pod\n")));
  CHECK(podman.is_gone(exited(125, "", "Error: no container with name or ID \"x\" found: no such container\n")));
  CHECK_FALSE(podman.is_gone(exited(125, "", "Error: cannot connect to the Podman socket\n")));
}

TEST_CASE("Backend runs podman kube play with the pod on stdin, then pod start", "[podman][backend]") {
  RecordingRunner runner;
  Backend backend(runner, std::make_unique<PodmanCommands>());
  const BottleSpec spec = podman_spec();
  backend.create(spec, {});
  backend.start(spec);
  const auto& commands = runner.commands();
  REQUIRE(commands.size() == 2);
  const PodmanCommands podman;
  CHECK(commands[0].argv == podman.create_argvs(spec, {})[0]);
  CHECK(commands[0].stdin_data == podman.create_stdin(spec, 0));
  CHECK(commands[1].argv == podman.start_argv(spec));
  CHECK(commands[1].stdin_data == std::nullopt);
  for (const auto& command : commands) CHECK(command.timeout.has_value());
}

TEST_CASE("an engine CLI that cannot start is Error(program_missing), exit 125, naming the program",
          "[podman][kubernetes][backend]") {
  for (const std::string program : {"podman", "kubectl"}) {
    RecordingRunner runner;
    ProcessResult missing;
    missing.outcome = ProcessResult::Outcome::failed_to_start;
    missing.start_error = program + ": not found on PATH";
    runner.push_result(missing);
    std::unique_ptr<EngineCommands> commands;
    BottleSpec spec = podman_spec();
    if (program == "podman") {
      commands = std::make_unique<PodmanCommands>();
    } else {
      commands = std::make_unique<KubernetesCommands>();
      spec.backend = BackendKind::kubernetes;
    }
    Backend backend(runner, std::move(commands));
    try {
      backend.create(spec, {});
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::program_missing);
      CHECK(exit_code_for(e.kind()) == 125);
      CHECK(std::string(e.what()) == fmt::format("create api: could not run {0}: {0}: not found on PATH", program));
    }
  }
}

TEST_CASE("spec: the podman backend round-trips and refuses host workspaces and prompt files", "[spec][podman]") {
  const BottleSpec parsed = parse_spec(R"({"name":"api","backend":"podman"})");
  CHECK(parsed.backend == BackendKind::podman);
  CHECK(to_string(parsed.backend) == "podman");
  CHECK(parse_spec(spec_to_json(parsed)) == parsed);
  CHECK_THAT(
      error_of([] { parse_spec(R"({"name":"a","backend":"podman","workspaces":[{"host":"/src","guest":"/w"}]})"); },
               ErrorKind::invalid_input),
      Catch::Contains("$.workspaces: the podman backend does not mount host directories yet"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"podman","prompt_file":"/p.md"})"); },
                      ErrorKind::invalid_input),
             Catch::Contains("$.prompt_file: the podman backend cannot install a prompt file yet"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"podman","kubernetes":{"namespace":"x"}})"); }),
             Catch::Contains("$.kubernetes: is only for the kubernetes backend"));

  SpecOverrides overrides;
  const std::vector<std::string> args{"--backend", "podman"};
  for (std::size_t i = 0; i < args.size(); ++i) REQUIRE(overrides.consume(args, i));
  CHECK(apply_overrides(BottleSpec{.name = "api"}, overrides, "/").backend == BackendKind::podman);
}
