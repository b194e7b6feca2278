// PodmanCommands: exact podman argvs, the pod on stdin (the kubernetes backend's
// agent pod with podman's volume names), egress on the bottle's own network,
// `ps -a --format json` parsing (strict), the spec's podman refusals, and exit 125
// for an engine CLI that cannot start.

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/backends/podman_commands.hpp"
#include "bottle/core/ipv4_subnet.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/kube/pod_security.hpp"
#include "bottle/spec/spec_overrides.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace json = boost::json;

namespace {

// Without egress: the pod alone, with no network.
BottleSpec podman_spec() {
  BottleSpec s;
  s.name = "api";
  s.backend = BackendKind::podman;
  s.egress.enabled = false;
  return s;
}

// With egress, once the engine gave the bottle's network its subnet.
BottleSpec podman_egress_spec() {
  BottleSpec s = podman_spec();
  s.egress.enabled = true;
  s.egress.subnet = "10.89.3.0/24";
  return s;
}

const EgressFiles egress_files{.run_dir = "/st/egress",
                               .conf_dir = "/st/egress/conf",
                               .routes_dir = "/st/egress/routes",
                               .host_mounts = {{"/home/u/.codex", "/run/bottle/host/0"}},
                               .agent_ca_dir = "/st/egress/agent-ca"};

// One container of `podman ps -a --format json`, as podman 4.3 prints it (trimmed).
std::string container_row(const std::string& bottle, const std::string& state, const std::string& name = "",
                          const std::string& role = "agent", const std::string& created = "1796292005") {
  const std::string named = !name.empty()     ? name
                            : role == "agent" ? "bottle-" + bottle + "-agent-agent"
                                              : "bottle-" + bottle + "-egress";
  return fmt::format(
      R"({{"AutoRemove":false,"Command":["/bin/sh"],"Created":{},"CreatedAt":"4 seconds ago","Id":"8752b0726818",)"
      R"("Image":"localhost/bottle-test:latest","Names":["{}"],"Pod":"7d20efe90e3f","PodName":"","State":"{}",)"
      R"("Labels":{{"io.bottle.managed":"1","io.bottle.name":"{}","io.bottle.role":"{}"}}}})",
      created, named, state, bottle, role);
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
  const std::vector<Argv> removal{{"podman", "pod", "rm", "-f", "-i", "bottle-api-agent"},
                                  {"podman", "rm", "-f", "-i", "bottle-api-egress"},
                                  {"podman", "volume", "rm", "-f", "bottle-api-home", "bottle-api-tmp"},
                                  {"podman", "network", "rm", "bottle-api-net"}};
  CHECK(podman.remove_argvs(spec) == removal);
  CHECK(podman.remove_argvs(podman_egress_spec()) == removal);
  CHECK(podman.network_steps(spec) == std::nullopt);
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
  const json::object pod = podman.pod(spec);
  CHECK(pod.at("kind") == "Pod");
  CHECK(pod.at("metadata").at("name") == "bottle-api-agent");
  CHECK_FALSE(pod.at("metadata").as_object().contains("namespace"));
  CHECK(check_pod_security_restricted(pod).empty());
  CHECK(podman.create_stdin(spec, {}, 0) == kube_yaml_stream({pod}));
  CHECK(podman.create_stdin(spec, {}, 1) == std::nullopt);

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
  CHECK(podman.egress() == &podman);
  CHECK(podman.egress_unavailable_reason().empty());
}

TEST_CASE("podman egress: the bottle's internal network first, then egress at .2 and the pod at .3", "[podman][argv]") {
  const PodmanCommands podman;
  BottleSpec spec = podman_egress_spec();
  spec.egress.subnet.clear();
  const auto steps = podman.network_steps(spec);
  REQUIRE(steps);
  CHECK(steps->create == Argv{"podman", "network", "create", "--internal", "--label", "io.bottle.managed=1", "--label",
                              "io.bottle.name=api", "bottle-api-net"});
  CHECK(steps->subnet_query ==
        Argv{"podman", "network", "inspect", "bottle-api-net", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}"});
  // A subnet the user chose is asked for.
  spec.egress.subnet = "10.200.0.0/16";
  CHECK(podman.network_steps(spec)->create == Argv{"podman", "network", "create", "--internal", "--label",
                                                   "io.bottle.managed=1", "--label", "io.bottle.name=api", "--subnet",
                                                   "10.200.0.0/16", "bottle-api-net"});

  spec = podman_egress_spec();
  // Nothing is played before egress exists: the pod mounts a host directory of it.
  CHECK(podman.create_argvs(spec, {}).empty());
  CHECK(podman.create_stdin(spec, {}, 0) == std::nullopt);
  const EgressUpstream upstream{.proxy = "http://10.88.0.1:8888", .trusted_ca_file = "/t/ca.pem"};
  const auto argvs = podman.egress_create_argvs(spec, egress_files, upstream);
  REQUIRE(argvs.size() == 3);
  CHECK(argvs[0] == egress_container_create_argv({.engine = "podman",
                                                  .name = "bottle-api-egress",
                                                  .bottle = "api",
                                                  .network = {"--network", "bottle-api-net", "--ip", "10.89.3.2"},
                                                  .image = "bottle-egress:latest",
                                                  .program = "/usr/local/bin/bottle-egress",
                                                  .port = 8080},
                                                 egress_files, upstream));
  CHECK(argvs[1] == Argv{"podman", "network", "connect", "podman", "bottle-api-egress"});
  CHECK(argvs[2] == Argv{"podman", "kube", "play", "--build=false", "--start=false", "--network", "bottle-api-net",
                         "--ip", "10.89.3.3", "-"});
  CHECK(podman.egress_create_stdin(spec, egress_files, {}, 0) == std::nullopt);
  CHECK(podman.egress_create_stdin(spec, egress_files, {}, 1) == std::nullopt);
  CHECK(podman.egress_create_stdin(spec, egress_files, {}, 2) ==
        kube_yaml_stream({podman.pod(spec, "/st/egress/agent-ca")}));

  CHECK(podman.egress_start_argv(spec, egress_files, upstream) == Argv{"podman", "start", "bottle-api-egress"});
  CHECK(podman.egress_stop_argv(spec, egress_files) == Argv{"podman", "stop", "bottle-api-egress"});
  const Argv probe = podman.egress_probe_argv(spec, egress_files);
  REQUIRE(probe.size() > 4);
  CHECK(Argv(probe.begin(), probe.begin() + 4) ==
        Argv{"podman", "exec", "bottle-api-egress", "/usr/local/bin/bottle-egress"});
  CHECK(podman.egress_placement() == EgressPlacement::container);
  CHECK(podman.agent_ca_from_host());
}

TEST_CASE("podman egress: the pod's proxy is egress's address and its CA bundle a read-only host directory",
          "[podman][objects]") {
  const PodmanCommands podman;
  const BottleSpec spec = podman_egress_spec();
  const GuestEgress guest = podman.guest_egress(spec);
  CHECK(guest.enabled);
  CHECK(guest.proxy_url == "http://10.89.3.2:8080");
  CHECK(guest.ca_bundle_path == "/etc/bottle/ca/ca-bundle.pem");
  CHECK(podman.guest_egress(podman_spec()).enabled == false);

  const json::object pod = podman.pod(spec, "/st/egress/agent-ca");
  // Restricted in everything but the one local-only volume: the CA bundle's
  // read-only host directory (a cluster never gets this pod).
  CHECK(check_pod_security_restricted(pod) ==
        std::vector<PodSecurityViolation>{
            {"spec.volumes[2].hostPath", "hostPathVolumes", "must not be used"},
            {"spec.volumes[2].hostPath", "restrictedVolumes", "is not an allowed volume type"}});
  const json::object& container = pod.at("spec").at("containers").as_array()[0].as_object();
  std::map<std::string, std::string> env;
  for (const auto& variable : container.at("env").as_array())
    env[std::string(variable.at("name").as_string())] = std::string(variable.at("value").as_string());
  // Exactly what `exec` gives every command (guest_env), so the pod and exec agree.
  CHECK(env == podman.guest_env(spec));
  CHECK(env.at("HTTPS_PROXY") == "http://10.89.3.2:8080");
  CHECK(env.at("SSL_CERT_FILE") == "/etc/bottle/ca/ca-bundle.pem");
  CHECK(pod.at("spec").at("volumes") == json::parse(R"([{"name":"bottle-api-home","emptyDir":{}},)"
                                                    R"({"name":"bottle-api-tmp","emptyDir":{}},)"
                                                    R"({"name":"agent-ca","hostPath":{"path":"/st/egress/agent-ca",)"
                                                    R"("type":"Directory"}}])"));
  CHECK(container.at("volumeMounts").as_array().back() ==
        json::parse(R"({"name":"agent-ca","mountPath":"/etc/bottle/ca","readOnly":true})"));

  // Without a recorded subnet, or without the CA directory, there is no pod.
  BottleSpec unrecorded = spec;
  unrecorded.egress.subnet.clear();
  CHECK_THAT(error_of([&] { podman.guest_egress(unrecorded); }, ErrorKind::internal),
             Catch::Contains("bottle api has no recorded network subnet"));
  CHECK_THAT(error_of([&] { podman.pod(spec); }, ErrorKind::internal), Catch::Contains("agent CA bundle"));
}

TEST_CASE("podman egress: the subnet and the host's gateway are read strictly from podman's output", "[podman][argv]") {
  const PodmanCommands podman;
  CHECK(podman.network_subnet_from("10.89.3.0/24 \n") == "10.89.3.0/24");
  CHECK(podman.network_subnet_from("fd00:1::/64 10.89.4.0/24 ") == "10.89.4.0/24");
  const auto bad = [&](const std::string& output) {
    return error_of([&] { podman.network_subnet_from(output); }, ErrorKind::backend);
  };
  CHECK_THAT(bad(""), Catch::Contains("has no IPv4 subnet"));
  CHECK_THAT(bad("10.89.3.1/24"), Catch::Contains("expected one IPv4 subnet"));
  CHECK_THAT(bad("10.89.3.0/24 10.89.4.0/24"), Catch::Contains("expected one IPv4 subnet"));
  CHECK_THAT(bad("<no value>"), Catch::Contains("expected one IPv4 subnet"));
  CHECK_THAT(bad("10.89.3.0/30"), Catch::Contains("not a /16 to /28"));
  REQUIRE(podman.parent_host_query());
  CHECK(*podman.parent_host_query() ==
        Argv{"podman", "network", "inspect", "podman", "--format", "{{range .Subnets}}{{.Gateway}} {{end}}"});
  CHECK(podman.parent_host_from("10.88.0.1 \n") == "10.88.0.1");
  CHECK(podman.parent_host_from("fd00::1 10.88.0.1") == "10.88.0.1");
  CHECK_THAT(error_of([&] { podman.parent_host_from(" \n"); }, ErrorKind::isolation),
             Catch::Contains("cannot find the gateway of podman's network \"podman\""));
}

TEST_CASE("ipv4 subnet: CIDR text with host bits zero, and its n-th address", "[podman][spec]") {
  CHECK(parse_ipv4_subnet("10.89.3.0/24") == Ipv4Subnet{.network = 0x0A590300, .prefix = 24});
  CHECK(parse_ipv4_subnet("0.0.0.0/0") == Ipv4Subnet{.network = 0, .prefix = 0});
  CHECK(parse_ipv4_subnet("10.89.3.0/24")->address(2) == "10.89.3.2");
  CHECK(parse_ipv4_subnet("192.168.255.240/28")->text() == "192.168.255.240/28");
  for (const char* bad : {"", "10.89.3.0", "10.89.3.1/24", "10.89.3.0/33", "10.89.03.0/24", "10.89.3.0/024",
                          "256.0.0.0/8", "10.89.3/24", "10.89.3.0.0/24", " 10.89.3.0/24", "10.89.3.0/24 ", "a.b.c.d/8"})
    CHECK_FALSE(parse_ipv4_subnet(bad));
}

TEST_CASE("podman: a host workspace is bound into the pod, each protected path bound read-only over it",
          "[podman][objects]") {
  const PodmanCommands podman;
  BottleSpec spec = podman_spec();
  spec.workspaces = {{"/src/api", "/workspace", false}};
  const std::vector<GuardMount> guard{{"/src/api/.git", "/workspace/.git", false},
                                      {"/src/api/.git/hooks", "/workspace/.git/hooks", true}};
  const json::object pod = podman.pod(spec, {}, guard);
  CHECK(pod.at("spec").at("volumes") ==
        json::parse(R"([{"name":"bottle-api-home","emptyDir":{}},{"name":"bottle-api-tmp","emptyDir":{}},)"
                    R"({"name":"ws0","hostPath":{"path":"/src/api","type":"Directory"}},)"
                    R"({"name":"guard0","hostPath":{"path":"/src/api/.git"}},)"
                    R"({"name":"guard1","hostPath":{"path":"/src/api/.git/hooks"}}])"));
  CHECK(pod.at("spec").at("containers").as_array()[0].at("volumeMounts") ==
        json::parse(
            R"([{"name":"bottle-api-home","mountPath":"/home/node"},{"name":"bottle-api-tmp","mountPath":"/tmp"},)"
            R"({"name":"ws0","mountPath":"/workspace"},)"
            R"({"name":"guard0","mountPath":"/workspace/.git"},)"
            R"({"name":"guard1","mountPath":"/workspace/.git/hooks","readOnly":true}])"));
  // The guard travels with the pod on stdin, with egress or without.
  CHECK(podman.create_stdin(spec, guard, 0) == kube_yaml_stream({pod}));
  spec.egress.enabled = true;
  spec.egress.subnet = "10.89.3.0/24";
  CHECK(podman.egress_create_stdin(spec, egress_files, guard, 2) ==
        kube_yaml_stream({podman.pod(spec, egress_files.agent_ca_dir, guard)}));
}

TEST_CASE("podman: clone mode gives the pod a volume of its own at /workspace, removed with the bottle",
          "[podman][objects][clone]") {
  const PodmanCommands podman;
  BottleSpec spec = podman_spec();
  spec.repo = RepoSpec{.path = "/src/api", .branch = "bottle/api", .base = std::string(40, 'a')};
  const json::object pod = podman.pod(spec);
  CHECK(pod.at("spec").at("volumes") ==
        json::parse(R"([{"name":"bottle-api-home","emptyDir":{}},{"name":"bottle-api-tmp","emptyDir":{}},)"
                    R"({"name":"bottle-api-clone","emptyDir":{}}])"));
  const json::object& agent = pod.at("spec").at("containers").as_array()[0].as_object();
  CHECK(agent.at("volumeMounts") ==
        json::parse(
            R"([{"name":"bottle-api-home","mountPath":"/home/node"},{"name":"bottle-api-tmp","mountPath":"/tmp"},)"
            R"({"name":"bottle-api-clone","mountPath":"/workspace"}])"));
  CHECK(agent.at("workingDir") == "/workspace");
  CHECK(podman.remove_argvs(spec)[2] ==
        Argv{"podman", "volume", "rm", "-f", "bottle-api-home", "bottle-api-tmp", "bottle-api-clone"});
  // A cluster deletes a stopped pod, and an emptyDir with it: there the clone is a claim.
  spec.egress.enabled = false;
  CHECK(kube_objects(spec, {}, {}).back().at("spec").at("volumes").at(2) ==
        json::parse(R"({"name":"clone","persistentVolumeClaim":{"claimName":"bottle-api-clone"}})"));
}

TEST_CASE("podman ls: container states map to states, the egress container to egress_state", "[podman][list]") {
  const PodmanCommands podman;
  const auto rows = podman.parse_list(
      rows_of({container_row("api", "running"), container_row("web", "created"), container_row("done", "exited"),
               container_row("half", "paused"), container_row("off", "stopped", "", "agent", "1796292000"),
               container_row("api", "running", "", "egress"), container_row("off", "exited", "", "egress")}));
  REQUIRE(rows.size() == 5);
  CHECK(rows[0] == BottleInfo{.name = "api",
                              .backend = BackendKind::podman,
                              .state = EngineState::running,
                              .created_unix = 1796292005,
                              .egress_state = EngineState::running,
                              .other_state = ""});
  CHECK(rows[1].name == "done");
  CHECK(rows[1].state == EngineState::stopped);
  CHECK(rows[1].egress_state == std::nullopt);
  CHECK(rows[2].name == "half");
  CHECK(rows[2].state_text() == "paused");
  CHECK(rows[3].name == "off");
  CHECK(rows[3].state == EngineState::stopped);
  CHECK(rows[3].created_unix == 1796292000);
  CHECK(rows[3].egress_state == EngineState::stopped);
  CHECK(rows[4].name == "web");
  CHECK(rows[4].state == EngineState::created);
  CHECK(podman.parse_list("[]").empty());
  CHECK(podman.list_argv() == Argv{"podman", "ps", "-a", "--format", "json", "--filter", "label=io.bottle.managed=1"});
}

TEST_CASE("podman ls: malformed output is Error(backend) naming the item, never the value", "[podman][list]") {
  const PodmanCommands podman;
  const auto error = [&](const std::string& output) {
    return error_of([&] { podman.parse_list(output); }, ErrorKind::backend);
  };
  CHECK_THAT(error("not json"), Catch::Contains("not a JSON array"));
  CHECK_THAT(error("null"), Catch::Contains("not a JSON array"));
  CHECK_THAT(error(rows_of({container_row("api", "Dancing")})), Catch::Contains("[0]: State is not a container state"));
  CHECK_THAT(error(rows_of({container_row("api", "running"), container_row("web", "running", "bottle-evil")})),
             Catch::Contains("[1]: Names is not the name"));
  // An egress container named for another bottle is not this bottle's egress.
  CHECK_THAT(error(rows_of({container_row("api", "running", "bottle-web-egress", "egress")})),
             Catch::Contains("[0]: Names is not the name"));
  CHECK_THAT(error(rows_of({container_row("Bad;Name", "running")})),
             Catch::Contains("io.bottle.name] is not a bottle name"));
  const std::string hostile = error(rows_of({container_row("api", "running", "", "sidecar\\u001b[31m")}));
  CHECK_THAT(hostile, Catch::Contains("io.bottle.role] is not agent or egress"));
  CHECK(hostile.find("sidecar") == std::string::npos);
  CHECK_THAT(error(rows_of({container_row("api", "running", "", "agent", "\"yesterday\"")})),
             Catch::Contains("Created is not a time in seconds"));
  CHECK_THAT(error(rows_of({container_row("api", "running", "", "agent", "-5")})), Catch::Contains("Created is not"));
  CHECK_THAT(error(rows_of({container_row("api", "running"), container_row("api", "exited")})),
             Catch::Contains("[1]: names a bottle another container already has"));
  CHECK_THAT(
      error(rows_of({container_row("api", "running", "", "egress"), container_row("api", "exited", "", "egress")})),
      Catch::Contains("[1]: names an egress another container already is"));
  CHECK_THAT(error(R"([{"Names":["bottle-api-agent-agent"],"State":"running"}])"),
             Catch::Contains("[0]: Labels is missing"));
}

TEST_CASE("podman is_gone reads podman's no such pod/container/volume", "[podman]") {
  const PodmanCommands podman;
  CHECK(podman.is_gone(exited(125, "", "Error: no pod with name or ID bottle-api-agent found: no such pod\n")));
  CHECK(podman.is_gone(exited(125, "", "Error: no container with name or ID \"x\" found: no such container\n")));
  CHECK(podman.is_gone(
      exited(125, "", "Error: unable to find network with name or ID bottle-api-net: network not found\n")));
  CHECK_FALSE(podman.is_gone(exited(125, "", "Error: cannot connect to the Podman socket\n")));
}

TEST_CASE("podman: a rootless host's cgroup or tun failure gets a hint on what to do", "[podman][backend]") {
  // What runc, crun and slirp4netns said on a cgroup-v1 host with /dev/net/tun 0600.
  const std::string runc =
      "Error: OCI runtime error: runc: runc create failed: unable to start container process: error during "
      "container init: error setting cgroup config for procHooks process: cannot set memory limit: container could "
      "not join or create cgroup\n";
  const std::string crun =
      "Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all controllers "
      "from cgroupv2\n";
  const std::string tun = "Error: /usr/bin/slirp4netns failed: \"open(\\\"/dev/net/tun\\\"): Permission denied\\n\"\n";
  const PodmanCommands podman;
  CHECK_THAT(podman.failure_hint(exited(125, "", runc)), Catch::Contains("cgroup v2 with the memory controller"));
  CHECK(podman.failure_hint(exited(125, "", crun)) == podman.failure_hint(exited(125, "", runc)));
  CHECK_THAT(podman.failure_hint(exited(125, "", tun)), Catch::Contains("cannot open /dev/net/tun"));
  CHECK(podman.failure_hint(exited(125, "", "Error: no such pod\n")).empty());

  // The hint follows podman's own message in the error bottle reports.
  RecordingRunner runner;
  runner.push_result(exited(0));
  runner.push_result(exited(125, "", runc));
  Backend backend(runner, std::make_unique<PodmanCommands>());
  const BottleSpec spec = podman_spec();
  backend.create(spec, {});
  CHECK_THAT(error_of([&] { backend.start(spec); }, ErrorKind::backend),
             Catch::Contains("podman failed (status 125): Error: OCI runtime error") &&
                 Catch::EndsWith("or use the docker backend"));
}

TEST_CASE("podman stop waits for the pod's exit cleanups, which would stop a pod started after them",
          "[podman][backend]") {
  const PodmanCommands podman;
  const BottleSpec spec = podman_spec();
  const auto settle = podman.stop_settle_argv(spec);
  REQUIRE(settle);
  REQUIRE(settle->size() == 6);
  CHECK(Argv{(*settle)[0], (*settle)[1]} == Argv{"sh", "-c"});
  CHECK(Argv(settle->begin() + 3, settle->end()) == Argv{"sh", "podman", "bottle-api-agent"});
  RecordingRunner recording;
  Backend backend(recording, std::make_unique<PodmanCommands>());
  backend.stop(spec);
  CHECK(recording.argvs() == std::vector<Argv>{podman.stop_argv(spec), *settle});

  // The script itself: it returns only once no process names a container of the
  // pod (here a stand-in "cleanup" carrying the ID), and at once when none does.
  TempDir dir;
  const std::string id = "c0ffee" + std::to_string(::getpid()) + "feed";
  const auto fake_podman = dir.path() / "podman";
  std::ofstream(fake_podman) << "#!/bin/sh\necho '" << id << " '\n";
  std::filesystem::permissions(fake_podman, std::filesystem::perms::owner_all);
  SystemRunner system;
  const ProcessResult cleanup = system.run({.argv = {"sh", "-c", "sh -c 'sleep 0.5' " + id + " & echo $!", "sh"}});
  REQUIRE(cleanup.ok());
  const std::string pid = cleanup.out.substr(0, cleanup.out.find('\n'));
  Argv run = *settle;
  run[4] = fake_podman.string();
  CHECK(system.run({.argv = run}).ok());
  // Gone, or a zombie nobody reaps here (no command line left).
  CHECK_FALSE(system.run({.argv = {"grep", "-q", ".", "/proc/" + pid + "/cmdline"}}).ok());
  CHECK(system.run({.argv = run}).ok());
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
  CHECK(commands[0].stdin_data == podman.create_stdin(spec, {}, 0));
  CHECK(commands[1].argv == podman.start_argv(spec));
  CHECK(commands[1].stdin_data == std::nullopt);
  for (const auto& command : commands) CHECK(command.timeout.has_value());
}

TEST_CASE("Backend makes a podman bottle's network first and records the subnet podman gave it", "[podman][backend]") {
  RecordingRunner runner;
  runner.push_result(exited(0, "bottle-api-net\n"));
  runner.push_result(exited(0, "10.89.7.0/24 \n"));
  Backend backend(runner, std::make_unique<PodmanCommands>());
  BottleSpec spec = podman_egress_spec();
  spec.egress.subnet.clear();
  const auto steps = PodmanCommands().network_steps(spec);
  backend.prepare_network(spec);
  CHECK(spec.egress.subnet == "10.89.7.0/24");
  REQUIRE(runner.commands().size() == 2);
  CHECK(runner.commands()[0].argv == steps->create);
  CHECK(runner.commands()[1].argv == steps->subnet_query);

  // Without egress there is no network to make.
  BottleSpec plain = podman_spec();
  backend.prepare_network(plain);
  CHECK(runner.commands().size() == 2);
  CHECK(plain.egress.subnet.empty());
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

TEST_CASE(
    "spec: the podman backend round-trips and takes host workspaces, prompt files and clone mode (kubernetes too)",
    "[spec][podman]") {
  const BottleSpec parsed = parse_spec(R"({"name":"api","backend":"podman"})");
  CHECK(parsed.backend == BackendKind::podman);
  CHECK(to_string(parsed.backend) == "podman");
  CHECK(parse_spec(spec_to_json(parsed)) == parsed);
  CHECK(
      parse_spec(R"({"name":"a","backend":"podman","workspaces":[{"host":"/src","guest":"/w"}]})").workspaces.size() ==
      1);
  CHECK(parse_spec(R"({"name":"a","backend":"podman","repo":{"path":"/src/api"}})").repo->path == "/src/api");
  CHECK(parse_spec(R"({"name":"a","backend":"kubernetes","repo":{"path":"/src/api"}})").repo->path == "/src/api");
  CHECK(parse_spec(R"({"name":"a","backend":"podman","prompt_file":"/p.md"})").prompt_file == "/p.md");
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"podman","kubernetes":{"namespace":"x"}})"); }),
             Catch::Contains("$.kubernetes: is only for the kubernetes backend"));
  // The recorded subnet round-trips; a bad one is refused by field.
  const BottleSpec with_subnet = parse_spec(R"({"name":"a","backend":"podman","egress":{"subnet":"10.89.3.0/24"}})");
  CHECK(with_subnet.egress.subnet == "10.89.3.0/24");
  CHECK(parse_spec(spec_to_json(with_subnet)) == with_subnet);
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"podman","egress":{"subnet":"10.89.3.1/24"}})"); },
                      ErrorKind::invalid_input),
             Catch::Contains("$.egress.subnet: must be an IPv4 network like 10.89.3.0/24"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"podman","egress":{"subnet":"10.0.0.0/8"}})"); },
                      ErrorKind::invalid_input),
             Catch::Contains("$.egress.subnet: must have a prefix of 16 to 28"));
  CHECK_THAT(
      error_of([] { parse_spec(R"({"name":"a","egress":{"subnet":"10.89.3.0/24"}})"); }, ErrorKind::invalid_input),
      Catch::Contains("$.egress.subnet: is only for the podman backend"));

  SpecOverrides overrides;
  const std::vector<std::string> args{"--backend", "podman"};
  for (std::size_t i = 0; i < args.size(); ++i) REQUIRE(overrides.consume(args, i));
  CHECK(apply_overrides(BottleSpec{.name = "api"}, overrides, "/").backend == BackendKind::podman);
}
