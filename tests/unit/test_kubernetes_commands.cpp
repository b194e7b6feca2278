// KubernetesCommands: exact kubectl argvs, the objects on stdin, `get -o json`
// parsing (strict), NotFound, and the spec's kubernetes fields and flags.

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "bottle/backends/backend.hpp"
#include "bottle/backends/kubernetes_commands.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/kube/pod_security.hpp"
#include "bottle/spec/spec_overrides.hpp"
#include "error_of.hpp"

using namespace bottle;
namespace json = boost::json;

namespace {

BottleSpec kube_spec(std::string context = "prod", std::string namespace_name = "agents") {
  BottleSpec s;
  s.name = "api";
  s.backend = BackendKind::kubernetes;
  s.kubernetes = {.context = std::move(context), .namespace_name = std::move(namespace_name)};
  s.egress.enabled = false;  // a --no-egress bottle; the egress tests turn it on
  return s;
}

std::string pod_item(const std::string& bottle, const std::string& role, const std::string& phase,
                     const std::string& name = "") {
  return fmt::format(
      R"({{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{}","namespace":"agents",)"
      R"("creationTimestamp":"2026-12-03T10:00:05Z","labels":{{"io.bottle.managed":"1","io.bottle.name":"{}",)"
      R"("io.bottle.role":"{}"}}}},"spec":{{}},"status":{{"phase":"{}"}}}})",
      name.empty() ? "bottle-" + bottle + "-" + role : name, bottle, role, phase);
}

std::string policy_item(const std::string& bottle, const std::string& suffix = "agent") {
  return fmt::format(
      R"({{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{{"name":"bottle-{}-{}",)"
      R"("creationTimestamp":"2026-12-03T10:00:00Z","labels":{{"io.bottle.managed":"1","io.bottle.name":"{}"}}}},)"
      R"("spec":{{}}}})",
      bottle, suffix, bottle);
}

std::string list_of(const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : ",") + item;
  return R"({"apiVersion":"v1","kind":"List","items":[)" + joined + R"(],"metadata":{"resourceVersion":""}})";
}

}  // namespace

TEST_CASE("kubernetes argvs carry the context and namespace, and only when set", "[kubernetes][argv]") {
  const KubernetesCommands kube;
  CHECK(kube.kubectl(kube_spec()) == Argv{"kubectl", "--context", "prod", "--namespace", "agents"});
  CHECK(kube.kubectl(kube_spec("", "")) == Argv{"kubectl"});
  CHECK(kube.kubectl(kube_spec("", "agents")) == Argv{"kubectl", "--namespace", "agents"});
  const BottleSpec spec = kube_spec();
  CHECK(kube.create_argvs(spec, {}) ==
        std::vector<Argv>{{"kubectl", "--context", "prod", "--namespace", "agents", "apply", "-f", "-"}});
  CHECK(kube.start_argv(spec) == Argv{"kubectl", "--context", "prod", "--namespace", "agents", "apply", "-f", "-"});
  CHECK(kube.start_wait_argv(spec) == Argv{"kubectl", "--context", "prod", "--namespace", "agents", "wait",
                                           "--for=condition=Ready", "pod/bottle-api-agent", "--timeout=240s"});
  CHECK(kube.stop_argv(spec) == Argv{"kubectl", "--context", "prod", "--namespace", "agents", "delete", "pod",
                                     "bottle-api-agent", "--ignore-not-found"});
  CHECK(kube.remove_argvs(spec) ==
        std::vector<Argv>{{"kubectl", "--context", "prod", "--namespace", "agents", "delete", "pods", "-l",
                           "io.bottle.managed=1,io.bottle.name=api", "--ignore-not-found"},
                          {"kubectl", "--context", "prod", "--namespace", "agents", "delete",
                           "services,secrets,configmaps,persistentvolumeclaims,networkpolicies", "-l",
                           "io.bottle.managed=1,io.bottle.name=api", "--ignore-not-found"}});
  CHECK(kube.list_argv() == Argv{"kubectl", "get", "pods,networkpolicies", "-l", "io.bottle.managed=1", "-o", "json"});
}

TEST_CASE("kubernetes with agent_sandbox: the agent is a Sandbox, waited on, stopped and removed as one",
          "[kubernetes][argv]") {
  const KubernetesCommands kube;
  BottleSpec spec = kube_spec();
  spec.kubernetes.agent_sandbox = true;
  const auto objects = kube.objects(spec);
  REQUIRE(objects.size() == 2);
  CHECK(objects[1].at("kind") == "Sandbox");
  CHECK(objects[1].at("apiVersion") == "agents.x-k8s.io/v1beta1");
  CHECK(objects[1].at("metadata").at("name") == "bottle-api-agent");
  CHECK(check_pod_security_restricted(objects[1]).empty());
  CHECK(kube.create_stdin(spec, {}, 0) == kube_yaml_stream({objects[0]}));  // the policy before the Sandbox
  CHECK(kube.start_stdin(spec) == kube_yaml_stream(objects));

  const Argv prefix{"kubectl", "--context", "prod", "--namespace", "agents"};
  const auto argv = [&](std::initializer_list<std::string> tail) {
    Argv a = prefix;
    a.insert(a.end(), tail);
    return a;
  };
  CHECK(kube.start_wait_argv(spec) ==
        argv({"wait", "--for=condition=Ready", "sandboxes.agents.x-k8s.io/bottle-api-agent", "--timeout=240s"}));
  CHECK(kube.stop_argv(spec) ==
        argv({"delete", "sandboxes.agents.x-k8s.io", "bottle-api-agent", "--ignore-not-found"}));
  CHECK(
      kube.remove_argvs(spec) ==
      std::vector<Argv>{argv({"delete", "sandboxes.agents.x-k8s.io", "-l", "io.bottle.managed=1,io.bottle.name=api",
                              "--ignore-not-found"}),
                        argv({"delete", "pods", "-l", "io.bottle.managed=1,io.bottle.name=api", "--ignore-not-found"}),
                        argv({"delete", "services,secrets,configmaps,persistentvolumeclaims,networkpolicies", "-l",
                              "io.bottle.managed=1,io.bottle.name=api", "--ignore-not-found"})});
  // The controller names the pod like the Sandbox: exec is the bare pod's.
  CHECK(kube.exec_argv(spec, {"true"}, {}) == argv({"exec", "-c", "agent", "bottle-api-agent", "--", "true"}));
}

TEST_CASE("kubernetes lists each place bottles live once", "[kubernetes][argv]") {
  const KubernetesCommands kube(KubernetesOptions{.kubectl = "/opt/kubectl", .objects = {}});
  BottleSpec a = kube_spec(), b = kube_spec(), c = kube_spec("", "");
  b.name = "other";
  CHECK(kube.list_argvs({}) == std::vector<Argv>{kube.list_argv()});
  CHECK(kube.list_argvs({a, b, c}) ==
        std::vector<Argv>{{"/opt/kubectl", "--context", "prod", "--namespace", "agents", "get", "pods,networkpolicies",
                           "-l", "io.bottle.managed=1", "-o", "json"},
                          {"/opt/kubectl", "get", "pods,networkpolicies", "-l", "io.bottle.managed=1", "-o", "json"}});
}

TEST_CASE("kubernetes exec: -i/-t, the agent container, env and workdir as arguments of a fixed script",
          "[kubernetes][argv]") {
  const KubernetesCommands kube;
  const BottleSpec spec = kube_spec("", "");
  CHECK(kube.exec_argv(spec, {"true"}, {}) == Argv{"kubectl", "exec", "-c", "agent", "bottle-api-agent", "--", "true"});
  CHECK(kube.exec_argv(spec, {"cat"}, ExecOptions{.forward_stdin = true}) ==
        Argv{"kubectl", "exec", "-i", "-c", "agent", "bottle-api-agent", "--", "cat"});
  CHECK(kube.exec_argv(spec, {"sh"},
                       ExecOptions{.tty = true, .user = "root", .workdir = "/tmp", .env = {{"A", "b c"}}}) ==
        Argv{"kubectl", "exec", "-i", "-t", "-c", "agent", "bottle-api-agent", "--", "sh", "-c",
             "cd -- \"$1\" || exit 1; shift; exec \"$@\"", "sh", "/tmp", "env", "A=b c", "sh"});
  const AgentArgv agent = kube.agent_argv(spec, {"--resume"}, true);
  CHECK(agent.prefix == Argv{"kubectl", "exec", "-i", "-t", "-c", "agent", "bottle-api-agent", "--"});
  CHECK(agent.tail == Argv{"claude", "--resume"});
  CHECK(kube.agent_argv(spec, {}, false).prefix == Argv{"kubectl", "exec", "-c", "agent", "bottle-api-agent", "--"});
}

TEST_CASE("kubernetes create applies the policy before any pod, start applies everything with the pod last",
          "[kubernetes][objects]") {
  const KubernetesCommands kube;
  const BottleSpec spec = kube_spec();
  const auto objects = kube.objects(spec);
  REQUIRE(objects.size() == 2);
  CHECK(objects[0].at("kind") == "NetworkPolicy");
  CHECK(objects[0].at("metadata").at("namespace") == "agents");
  CHECK(objects[1].at("kind") == "Pod");
  // Without egress: the agent may reach nothing and nothing reaches it.
  CHECK(objects[0].at("spec") ==
        json::parse(R"({"podSelector":{"matchLabels":{"io.bottle.name":"api",)"
                    R"("io.bottle.role":"agent"}},"policyTypes":["Ingress","Egress"],"egress":[]})"));
  CHECK(check_pod_security_restricted(objects[1]).empty());
  CHECK(kube.create_stdin(spec, {}, 0) == kube_yaml_stream({objects[0]}));
  CHECK(kube.create_stdin(spec, {}, 1) == std::nullopt);
  CHECK(kube.start_stdin(spec) == kube_yaml_stream(objects));

  CHECK(kube.egress_unavailable_reason().empty());

  // No namespace in the spec: none in the objects either, so kubectl's context decides.
  for (const auto& object : kube.objects(kube_spec("", "")))
    CHECK_FALSE(object.at("metadata").as_object().contains("namespace"));
}

TEST_CASE("kubernetes: the prompt file is read at create and at every start into its ConfigMap",
          "[kubernetes][objects]") {
  std::vector<std::string> reads;
  std::string content = "be brief\n";
  const KubernetesCommands kube(KubernetesOptions{.read_prompt = [&](const std::string& path) {
    reads.push_back(path);
    return content;
  }});
  CHECK(kube.prompt_delivery() == PromptDelivery::engine_objects);
  CHECK_FALSE(kube.keeps_home_across_stop());  // an emptyDir goes with the pod
  BottleSpec spec = kube_spec();
  spec.prompt_file = "/src/api/PROMPT.md";
  const auto created = kube.create_stdin(spec, {}, 0);
  REQUIRE(created);
  CHECK_THAT(*created, Catch::Contains("name: \"bottle-api-prompt\"") && Catch::Contains("prompt.md: \"be brief\\n\""));
  content = "be briefer\n";
  const auto started = kube.start_stdin(spec);
  REQUIRE(started);
  CHECK_THAT(*started, Catch::Contains("prompt.md: \"be briefer\\n\"") && Catch::Contains("subPath: \"prompt.md\""));
  CHECK(reads == std::vector<std::string>{"/src/api/PROMPT.md", "/src/api/PROMPT.md"});
  CHECK(check_pod_security_restricted(kube.objects(spec).back()).empty());
  // The default reader follows no link (prompt_file.hpp): its error is the start's.
  spec.prompt_file = "/nonexistent-bottle-dir/PROMPT.md";
  CHECK(error_of([&] { KubernetesCommands().start_stdin(spec); }) ==
        "prompt_file: /nonexistent-bottle-dir/PROMPT.md: no such file");
}

TEST_CASE("kubernetes ls: policy without pod is stopped, pod phases map to states", "[kubernetes][list]") {
  const KubernetesCommands kube;
  const auto rows = kube.parse_list(list_of({pod_item("api", "agent", "Running"), pod_item("web", "agent", "Pending"),
                                             policy_item("api"), policy_item("api", "egress"), policy_item("web"),
                                             policy_item("idle"), pod_item("done", "agent", "Failed")}));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == BottleInfo{.name = "api",
                              .backend = BackendKind::kubernetes,
                              .state = EngineState::running,
                              .created_unix = 1796292000,
                              .egress_state = std::nullopt,
                              .other_state = ""});
  CHECK(rows[1].name == "done");
  CHECK(rows[1].state == EngineState::stopped);
  CHECK(rows[1].created_unix == 1796292005);
  CHECK(rows[2].name == "idle");
  CHECK(rows[2].state == EngineState::stopped);
  CHECK(rows[3].name == "web");
  CHECK(rows[3].state_text() == "pending");
  CHECK(kube.parse_list(list_of({})).empty());
}

TEST_CASE("kubernetes ls: malformed output is Error(backend) naming the item, never the value", "[kubernetes][list]") {
  const KubernetesCommands kube;
  const auto error = [&](const std::string& output) {
    return error_of([&] { kube.parse_list(output); }, ErrorKind::backend);
  };
  CHECK_THAT(error("not json"), Catch::Contains("not a JSON object"));
  CHECK_THAT(error(R"({"kind":"PodList"})"), Catch::Contains("not a List"));
  CHECK_THAT(error(list_of({pod_item("api", "agent", "Dancing")})), Catch::Contains("items[0]: status.phase"));
  CHECK_THAT(error(list_of({policy_item("api"), pod_item("api", "agent", "Running", "bottle-evil")})),
             Catch::Contains("items[1]: metadata.name"));
  CHECK_THAT(error(list_of({pod_item("Bad;Name", "agent", "Running")})),
             Catch::Contains("io.bottle.name] is not a bottle name"));
  const std::string hostile = error(list_of({pod_item("api", "sidecar\\u001b[31m", "Running")}));
  CHECK_THAT(hostile, Catch::Contains("io.bottle.role] is neither"));
  CHECK(hostile.find("sidecar") == std::string::npos);
  std::string no_time = policy_item("api");
  no_time.replace(no_time.find("2026-12-03T10:00:00Z"), 20, "yesterday");
  CHECK_THAT(error(list_of({no_time})), Catch::Contains("creationTimestamp"));
  std::string service = policy_item("api");
  service.replace(service.find("NetworkPolicy"), 13, "Service");
  CHECK_THAT(error(list_of({service})), Catch::Contains("neither Pod nor NetworkPolicy"));
}

TEST_CASE("kubernetes is_gone reads kubectl's NotFound", "[kubernetes]") {
  const KubernetesCommands kube;
  CHECK(kube.is_gone(exited(1, "", "Error from server (NotFound): pods \"bottle-api-agent\" not found\n")));
  CHECK_FALSE(kube.is_gone(exited(1, "", "Error from server (Forbidden): pods is forbidden\n")));
  // No agent-sandbox CRDs: no Sandbox can be left to delete.
  CHECK(kube.is_gone(exited(1, "", "error: the server doesn't have a resource type \"sandboxes.agents.x-k8s.io\"\n")));
}

TEST_CASE("Backend runs kubectl with the objects on stdin and waits for the pod", "[kubernetes][backend]") {
  RecordingRunner runner;
  Backend backend(runner, std::make_unique<KubernetesCommands>());
  const BottleSpec spec = kube_spec();
  backend.create(spec, {});
  backend.start(spec);
  const auto& commands = runner.commands();
  REQUIRE(commands.size() == 3);
  const KubernetesCommands kube;
  CHECK(commands[0].stdin_data == kube.create_stdin(spec, {}, 0));
  CHECK(commands[1].stdin_data == kube.start_stdin(spec));
  CHECK(commands[2].argv == *kube.start_wait_argv(spec));
  CHECK(commands[2].stdin_data == std::nullopt);
  for (const auto& command : commands) CHECK(command.timeout.has_value());
}

TEST_CASE("spec: kubernetes context and namespace are validated and need the kubernetes backend",
          "[spec][kubernetes]") {
  const BottleSpec parsed =
      parse_spec(R"({"name":"api","backend":"kubernetes","kubernetes":{"context":"kind-dev","namespace":"agents"}})");
  CHECK(parsed.kubernetes == KubernetesTarget{.context = "kind-dev", .namespace_name = "agents"});
  CHECK(parse_spec(spec_to_json(parsed)) == parsed);
  const BottleSpec sandboxed =
      parse_spec(R"({"name":"api","backend":"kubernetes","kubernetes":{"agent_sandbox":true}})");
  CHECK(sandboxed.kubernetes == KubernetesTarget{.agent_sandbox = true});
  CHECK(parse_spec(spec_to_json(sandboxed)) == sandboxed);
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"kubernetes","kubernetes":{"agent_sandbox":1}})"); }),
             Catch::Contains("$.kubernetes.agent_sandbox"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","kubernetes":{"agent_sandbox":true}})"); }),
             Catch::Contains("$.kubernetes: is only for the kubernetes backend"));
  CHECK(spec_to_json(BottleSpec{.name = "api"}).find("kubernetes") == std::string::npos);

  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"kubernetes","kubernetes":{"namespace":"Agents"}})"); }),
             Catch::Contains("$.kubernetes.namespace: must be a DNS-1123 label"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"kubernetes","kubernetes":{"context":"-x"}})"); }),
             Catch::Contains("$.kubernetes.context: must not start with '-'"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"kubernetes","kubernetes":{"context":"a b"}})"); }),
             Catch::Contains("$.kubernetes.context: may contain only printable"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"kubernetes","kubernetes":{"zone":"x"}})"); }),
             Catch::Contains("zone"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","kubernetes":{"namespace":"agents"}})"); }),
             Catch::Contains("$.kubernetes: is only for the kubernetes backend"));
  CHECK_THAT(error_of([] {
               parse_spec(R"({"name":"a","backend":"kubernetes","workspaces":[{"host":"/src","guest":"/w"}]})");
             }),
             Catch::Contains("$.workspaces: the kubernetes backend does not carry host directories"));
  CHECK_THAT(error_of([] { parse_spec(R"({"name":"a","backend":"nomad"})"); }),
             Catch::Contains("\"docker\", \"smolmachines\", \"kubernetes\" or \"podman\""));
}

TEST_CASE("flags: --backend kubernetes --context --namespace, bad values name the flag", "[spec][kubernetes]") {
  const auto parse = [](std::vector<std::string> args) {
    SpecOverrides overrides;
    for (std::size_t i = 0; i < args.size(); ++i) REQUIRE(overrides.consume(args, i));
    return apply_overrides(BottleSpec{.name = "api"}, overrides, "/");
  };
  const BottleSpec spec = parse({"--backend", "kubernetes", "--context", "kind-dev", "--namespace", "agents"});
  CHECK(spec.backend == BackendKind::kubernetes);
  CHECK(spec.kubernetes == KubernetesTarget{.context = "kind-dev", .namespace_name = "agents"});
  CHECK(parse({"--backend", "kubernetes", "--agent-sandbox"}).kubernetes == KubernetesTarget{.agent_sandbox = true});
  CHECK_THAT(error_of([&] { parse({"--agent-sandbox"}); }),
             Catch::Contains("$.kubernetes: is only for the kubernetes backend"));
  CHECK_THAT(error_of([&] {
               parse({"--backend", "kubernetes", "--namespace", "no_such"});
             }),
             Catch::Contains("--namespace: must be a DNS-1123 label"));
  CHECK_THAT(error_of([&] {
               parse({"--backend", "kubernetes", "--context", std::string(254, 'c')});
             }),
             Catch::Contains("--context: must be 1-253 characters"));
  CHECK_THAT(error_of([&] {
               parse({"--namespace", "agents"});
             }),
             Catch::Contains("$.kubernetes: is only for the kubernetes backend"));
}

TEST_CASE("kubernetes egress: its objects are the bottle's, started, probed, stopped and pushed with kubectl",
          "[kubernetes][objects]") {
  std::vector<std::string> asked;
  KubernetesOptions options;
  options.egress_inputs = [&](const BottleSpec& spec) {
    asked.push_back(spec.name);
    return KubeInputs{.routes = {}, .brokers = {}, .value_files = {}, .ca_pem = "CA", .agent_ca_bundle = "BUNDLE"};
  };
  const KubernetesCommands kube(options);
  BottleSpec spec = kube_spec();
  spec.egress.enabled = true;
  const auto objects = kube.objects(spec);
  CHECK(asked == std::vector<std::string>{"api"});
  std::vector<std::string> kinds;
  for (const auto& o : objects)
    kinds.push_back(fmt::format("{}/{}", o.at("kind").as_string(), o.at("metadata").at("name").as_string()));
  CHECK(kinds == std::vector<std::string>{"NetworkPolicy/bottle-api-agent", "NetworkPolicy/bottle-api-egress",
                                          "Secret/bottle-api-egress", "ConfigMap/bottle-api-routes",
                                          "ConfigMap/bottle-api-agent-ca", "Service/bottle-api-egress",
                                          "Pod/bottle-api-egress", "Pod/bottle-api-agent"});
  REQUIRE(kube.egress() == &kube);
  const EgressCommands& egress = *kube.egress();
  CHECK(egress.egress_placement() == EgressPlacement::cluster);
  const std::vector<json::object> all_but_agent(objects.begin(), objects.end() - 1);
  CHECK(kube.create_stdin(spec, {}, 0) == kube_yaml_stream(all_but_agent));
  CHECK(egress.egress_create_argvs(spec, {}, {}).empty());

  const Argv prefix{"kubectl", "--context", "prod", "--namespace", "agents"};
  const auto argv = [&](std::initializer_list<std::string> tail) {
    Argv a = prefix;
    a.insert(a.end(), tail);
    return a;
  };
  // Start: everything but the agent again (egress after a stop, the Secret as the
  // host's logins are now); stop: the egress pod only.
  CHECK(egress.egress_start_argv(spec, {}, {}) == argv({"apply", "-f", "-"}));
  CHECK(egress.egress_start_stdin(spec) == kube_yaml_stream(all_but_agent));
  CHECK(egress.egress_probe_argv(spec, {}) ==
        argv({"wait", "--for=condition=Ready", "pod/bottle-api-egress", "--timeout=2s"}));
  CHECK(egress.egress_stop_argv(spec, {}) == argv({"delete", "pod", "bottle-api-egress", "--ignore-not-found"}));
  CHECK(egress.host_egress_state(spec, {}) == std::nullopt);
  const auto push = egress.login_push(spec);
  REQUIRE(push);
  CHECK(push->argv == argv({"apply", "-f", "-"}));
  CHECK(push->stdin_data == kube_yaml_stream({objects[2]}));
  // The audit log is drained from the egress pod by its own binary (no shell there).
  CHECK(egress.audit_drain_argv(spec) ==
        argv({"exec", "-c", "egress", "bottle-api-egress", "--", "/usr/local/bin/bottle-egress", "audit-drain",
              "--confdir", "/run/bottle/egress/conf"}));

  const GuestEgress guest = egress.guest_egress(spec);
  CHECK(guest.enabled);
  CHECK(guest.address_in_guest);
  CHECK(guest.proxy_url == "http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080");
  CHECK(guest.ca_bundle_path == "/etc/bottle/ca/ca-bundle.pem");
  // exec passes only what differs from the pod's own environment: the proxy's
  // unexpanded form never overrides the kubelet's expansion.
  ExecOptions with_env{.env = kube.guest_env(spec)};
  CHECK(kube.exec_argv(spec, {"true"}, with_env) == argv({"exec", "-c", "agent", "bottle-api-agent", "--", "true"}));
  with_env.env["EXTRA"] = "1";
  CHECK(kube.exec_argv(spec, {"true"}, with_env) ==
        argv({"exec", "-c", "agent", "bottle-api-agent", "--", "env", "EXTRA=1", "true"}));

  // Without a way to read the host's inputs there are no egress objects to make.
  CHECK(error_of([&] { KubernetesCommands().objects(spec); }, ErrorKind::isolation) ==
        "kubernetes: no egress inputs for bottle api");
  spec.egress.enabled = false;
  CHECK_FALSE(egress.login_push(spec));
  CHECK_FALSE(egress.audit_drain_argv(spec));
}
