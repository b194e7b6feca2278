// The Kubernetes object generator: names, order, the exact agent pod and
// NetworkPolicies, the egress pod, Secret and ConfigMaps, and bad options.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "bottle/egress/egress_config.hpp"
#include "bottle/egress/managed_pipelock.hpp"
#include "bottle/egress/pipelock_config.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/kube/kube_objects.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "error_of.hpp"
#include "kube_fixtures.hpp"

namespace json = boost::json;

namespace {

std::vector<std::string> kinds_and_names(const std::vector<json::object>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects)
    out.push_back(std::string(o.at("kind").as_string()) + " " + std::string(o.at("metadata").at("name").as_string()));
  return out;
}

}  // namespace

TEST_CASE("kube names: DNS labels derived from the bottle name, never shared", "[kube]") {
  CHECK(bottle::kube_base_name("api-work") == "bottle-api-work");
  const std::string underscored = bottle::kube_base_name("api_work");
  CHECK(underscored.rfind("bottle-api-work-", 0) == 0);
  CHECK(underscored.size() == std::string("bottle-api-work-").size() + 8);
  CHECK(underscored != bottle::kube_base_name("api-work"));
  CHECK(bottle::kube_base_name("api_work") != bottle::kube_base_name("api__work"));
  const std::string longest = bottle::kube_base_name(std::string(48, 'a'));
  CHECK(longest.size() == bottle::kube_base_name_max);
  CHECK(longest != bottle::kube_base_name(std::string(47, 'a')));
  const bottle::KubeNames names = bottle::kube_names(std::string(48, 'a'), "ns");
  CHECK(names.agent_ca.size() <= 63);
  CHECK(names.pipelock.size() <= 63);
  CHECK(bottle::kube_service_host_variable("bottle-api-egress") == "BOTTLE_API_EGRESS_SERVICE_HOST");
}

TEST_CASE("kube objects: apply order puts policies and config before the pods", "[kube]") {
  const bottle::BottleSpec spec = kube_sample_spec();
  const auto objects = bottle::kube_objects(spec, {.namespace_name = "agents", .pipelock_image = "pipelock:test"},
                                            kube_sample_inputs(spec));
  CHECK(kinds_and_names(objects) ==
        std::vector<std::string>{"NetworkPolicy bottle-api-agent", "NetworkPolicy bottle-api-egress",
                                 "Secret bottle-api-egress", "ConfigMap bottle-api-routes",
                                 "ConfigMap bottle-api-pipelock", "ConfigMap bottle-api-agent-ca",
                                 "PersistentVolumeClaim bottle-api-ws0", "Service bottle-api-egress",
                                 "Pod bottle-api-egress", "Pod bottle-api-agent"});
  for (const auto& o : objects) {
    CHECK(o.at("metadata").at("namespace").as_string() == "agents");
    CHECK(o.at("metadata").at("labels").at("io.bottle.name").as_string() == "api");
    CHECK(o.at("metadata").at("labels").at("io.bottle.managed").as_string() == "1");
  }
}

TEST_CASE("kube objects: without egress only the deny-all policy, the workspace and the agent", "[kube]") {
  bottle::BottleSpec spec = kube_sample_spec();
  spec.egress.enabled = false;
  const auto objects = bottle::kube_objects(spec, {}, {});
  CHECK(kinds_and_names(objects) == std::vector<std::string>{"NetworkPolicy bottle-api-agent",
                                                             "PersistentVolumeClaim bottle-api-ws0",
                                                             "Pod bottle-api-agent"});
  CHECK(bottle::kube_yaml_document(objects[0]) ==
        "apiVersion: \"networking.k8s.io/v1\"\n"
        "kind: \"NetworkPolicy\"\n"
        "metadata:\n"
        "  name: \"bottle-api-agent\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "spec:\n"
        "  podSelector:\n"
        "    matchLabels:\n"
        "      io.bottle.name: \"api\"\n"
        "      io.bottle.role: \"agent\"\n"
        "  policyTypes:\n"
        "  - \"Ingress\"\n"
        "  - \"Egress\"\n"
        "  egress: []\n");
  const auto& env = objects[2].at("spec").at("containers").at(0).at("env").as_array();
  for (const auto& e : env) CHECK(e.at("name").as_string() != "HTTPS_PROXY");
}

namespace {

std::vector<json::object> sample_objects(bottle::KubeOptions options = {}) {
  const bottle::BottleSpec spec = kube_sample_spec();
  return bottle::kube_objects(spec, options, kube_sample_inputs(spec));
}

json::object object_named(const std::vector<json::object>& objects, std::string_view kind, std::string_view name) {
  for (const auto& o : objects)
    if (o.at("kind").as_string() == kind && o.at("metadata").at("name").as_string() == name) return o;
  FAIL("no " << kind << " " << name);
  return {};
}

}  // namespace

TEST_CASE("kube objects: the agent's policy allows only the egress pod's proxy port, and no DNS", "[kube]") {
  CHECK(bottle::kube_yaml_document(object_named(sample_objects(), "NetworkPolicy", "bottle-api-agent")) ==
        "apiVersion: \"networking.k8s.io/v1\"\n"
        "kind: \"NetworkPolicy\"\n"
        "metadata:\n"
        "  name: \"bottle-api-agent\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "spec:\n"
        "  podSelector:\n"
        "    matchLabels:\n"
        "      io.bottle.name: \"api\"\n"
        "      io.bottle.role: \"agent\"\n"
        "  policyTypes:\n"
        "  - \"Ingress\"\n"
        "  - \"Egress\"\n"
        "  egress:\n"
        "  - to:\n"
        "    - podSelector:\n"
        "        matchLabels:\n"
        "          io.bottle.name: \"api\"\n"
        "          io.bottle.role: \"egress\"\n"
        "    ports:\n"
        "    - protocol: \"TCP\"\n"
        "      port: 8080\n");
}

TEST_CASE(
    "kube objects: the egress policy blocks private, link-local and metadata ranges and allows DNS only to kube-dns",
    "[kube]") {
  CHECK(bottle::kube_yaml_document(object_named(sample_objects(), "NetworkPolicy", "bottle-api-egress")) ==
        "apiVersion: \"networking.k8s.io/v1\"\n"
        "kind: \"NetworkPolicy\"\n"
        "metadata:\n"
        "  name: \"bottle-api-egress\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "spec:\n"
        "  podSelector:\n"
        "    matchLabels:\n"
        "      io.bottle.name: \"api\"\n"
        "      io.bottle.role: \"egress\"\n"
        "  policyTypes:\n"
        "  - \"Ingress\"\n"
        "  - \"Egress\"\n"
        "  ingress:\n"
        "  - from:\n"
        "    - podSelector:\n"
        "        matchLabels:\n"
        "          io.bottle.name: \"api\"\n"
        "          io.bottle.role: \"agent\"\n"
        "    ports:\n"
        "    - protocol: \"TCP\"\n"
        "      port: 8080\n"
        "  egress:\n"
        "  - to:\n"
        "    - ipBlock:\n"
        "        cidr: \"0.0.0.0/0\"\n"
        "        except:\n"
        "        - \"0.0.0.0/8\"\n"
        "        - \"10.0.0.0/8\"\n"
        "        - \"100.64.0.0/10\"\n"
        "        - \"127.0.0.0/8\"\n"
        "        - \"169.254.0.0/16\"\n"
        "        - \"172.16.0.0/12\"\n"
        "        - \"192.0.0.0/24\"\n"
        "        - \"192.168.0.0/16\"\n"
        "        - \"198.18.0.0/15\"\n"
        "        - \"224.0.0.0/4\"\n"
        "        - \"240.0.0.0/4\"\n"
        "    - ipBlock:\n"
        "        cidr: \"::/0\"\n"
        "        except:\n"
        "        - \"::1/128\"\n"
        "        - \"::ffff:0:0/96\"\n"
        "        - \"fc00::/7\"\n"
        "        - \"fe80::/10\"\n"
        "        - \"ff00::/8\"\n"
        "    ports:\n"
        "    - protocol: \"TCP\"\n"
        "  - to:\n"
        "    - namespaceSelector:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: \"kube-system\"\n"
        "      podSelector:\n"
        "        matchLabels:\n"
        "          k8s-app: \"kube-dns\"\n"
        "    ports:\n"
        "    - protocol: \"UDP\"\n"
        "      port: 53\n"
        "    - protocol: \"TCP\"\n"
        "      port: 53\n");
}

TEST_CASE("kube objects: the Secret is mounted only into the egress pod and holds only what egress needs", "[kube]") {
  const auto objects = sample_objects();
  const json::object secret = object_named(objects, "Secret", "bottle-api-egress");
  // base64("CA") and base64("fake-token").
  CHECK(secret.at("data") == json::value(json::object{{"mitmproxy-ca.pem", "Q0E="}, {"value-0", "ZmFrZS10b2tlbg=="}}));
  const auto uses_secret = [](const json::object& pod) {
    for (const auto& v : pod.at("spec").at("volumes").as_array())
      if (v.as_object().contains("secret")) return true;
    return false;
  };
  CHECK(uses_secret(object_named(objects, "Pod", "bottle-api-egress")));
  CHECK_FALSE(uses_secret(object_named(objects, "Pod", "bottle-api-agent")));
  // The routes point at the Secret's files inside the egress pod.
  bottle::EgressRoute route = kube_sample_spec().egress.routes[0];
  route.value_file = "/run/bottle/egress/secret/value-0";
  const std::map<std::string, bottle::EgressBroker> no_brokers;
  const std::string routes = bottle::render_egress_routes(std::vector<bottle::EgressRoute>{route}, no_brokers);
  // With the audit log's settings: egress logs in its pod until the host drains it.
  CHECK(object_named(objects, "ConfigMap", "bottle-api-routes").at("data") ==
        json::value(json::object{
            {"routes.json", routes},
            {"audit.json", "{\"bottle\":\"api\",\"log\":\"audit.jsonl\",\"max_bytes\":16777216,\"version\":1}\n"}}));
}

TEST_CASE("kube objects: two routes reading one host file share one Secret key", "[kube]") {
  bottle::BottleSpec spec = kube_sample_spec();
  bottle::EgressRoute second = spec.egress.routes[0];
  second.name = "gh2";
  second.hosts = {"uploads.github.com"};
  spec.egress.routes.push_back(second);
  const auto objects = bottle::kube_objects(spec, {}, kube_sample_inputs(spec));
  CHECK(object_named(objects, "Secret", "bottle-api-egress").at("data").as_object().size() == 2);
}

TEST_CASE("kube objects: the agent pod, exactly", "[kube]") {
  CHECK(bottle::kube_yaml_document(sample_objects().back()) ==
        "apiVersion: \"v1\"\n"
        "kind: \"Pod\"\n"
        "metadata:\n"
        "  name: \"bottle-api-agent\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "    io.bottle.role: \"agent\"\n"
        "spec:\n"
        "  automountServiceAccountToken: false\n"
        "  enableServiceLinks: true\n"
        "  restartPolicy: \"Always\"\n"
        "  securityContext:\n"
        "    runAsNonRoot: true\n"
        "    runAsUser: 1000\n"
        "    runAsGroup: 1000\n"
        "    fsGroup: 1000\n"
        "    seccompProfile:\n"
        "      type: \"RuntimeDefault\"\n"
        "  containers:\n"
        "  - name: \"agent\"\n"
        "    image: \"bottle-agent:latest\"\n"
        "    command:\n"
        "    - \"/bin/sh\"\n"
        "    - \"-c\"\n"
        "    - \"trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done\"\n"
        "    workingDir: \"/workspace\"\n"
        "    env:\n"
        "    - name: \"CODEX_CA_CERTIFICATE\"\n"
        "      value: \"/etc/bottle/ca/ca-bundle.pem\"\n"
        "    - name: \"HTTPS_PROXY\"\n"
        "      value: \"http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080\"\n"
        "    - name: \"HTTP_PROXY\"\n"
        "      value: \"http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080\"\n"
        "    - name: \"NODE_EXTRA_CA_CERTS\"\n"
        "      value: \"/etc/bottle/ca/ca-bundle.pem\"\n"
        "    - name: \"NO_PROXY\"\n"
        "      value: \"localhost,127.0.0.1,::1\"\n"
        "    - name: \"SSL_CERT_FILE\"\n"
        "      value: \"/etc/bottle/ca/ca-bundle.pem\"\n"
        "    - name: \"http_proxy\"\n"
        "      value: \"http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080\"\n"
        "    - name: \"https_proxy\"\n"
        "      value: \"http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080\"\n"
        "    - name: \"no_proxy\"\n"
        "      value: \"localhost,127.0.0.1,::1\"\n"
        "    resources:\n"
        "      requests:\n"
        "        memory: \"4096Mi\"\n"
        "        cpu: \"2\"\n"
        "      limits:\n"
        "        memory: \"4096Mi\"\n"
        "        cpu: \"2\"\n"
        "    securityContext:\n"
        "      allowPrivilegeEscalation: false\n"
        "      capabilities:\n"
        "        drop:\n"
        "        - \"ALL\"\n"
        "      privileged: false\n"
        "      readOnlyRootFilesystem: true\n"
        "      runAsNonRoot: true\n"
        "    volumeMounts:\n"
        "    - name: \"home\"\n"
        "      mountPath: \"/home/node\"\n"
        "    - name: \"tmp\"\n"
        "      mountPath: \"/tmp\"\n"
        "    - name: \"ws0\"\n"
        "      mountPath: \"/workspace\"\n"
        "    - name: \"agent-ca\"\n"
        "      mountPath: \"/etc/bottle/ca\"\n"
        "      readOnly: true\n"
        "  volumes:\n"
        "  - name: \"home\"\n"
        "    emptyDir: {}\n"
        "  - name: \"tmp\"\n"
        "    emptyDir: {}\n"
        "  - name: \"ws0\"\n"
        "    persistentVolumeClaim:\n"
        "      claimName: \"bottle-api-ws0\"\n"
        "  - name: \"agent-ca\"\n"
        "    configMap:\n"
        "      name: \"bottle-api-agent-ca\"\n");
}

TEST_CASE("kube objects: the egress pod, exactly", "[kube]") {
  CHECK(bottle::kube_yaml_document(
            object_named(sample_objects({.pipelock_image = "pipelock:test"}), "Pod", "bottle-api-egress")) ==
        "apiVersion: \"v1\"\n"
        "kind: \"Pod\"\n"
        "metadata:\n"
        "  name: \"bottle-api-egress\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "    io.bottle.role: \"egress\"\n"
        "spec:\n"
        "  automountServiceAccountToken: false\n"
        "  enableServiceLinks: false\n"
        "  restartPolicy: \"Always\"\n"
        "  securityContext:\n"
        "    runAsNonRoot: true\n"
        "    runAsUser: 65532\n"
        "    runAsGroup: 65532\n"
        "    fsGroup: 65532\n"
        "    seccompProfile:\n"
        "      type: \"RuntimeDefault\"\n"
        "  containers:\n"
        "  - name: \"egress\"\n"
        "    image: \"bottle-egress:latest\"\n"
        "    command:\n"
        "    - \"/usr/local/bin/bottle-egress\"\n"
        "    args:\n"
        "    - \"--listen\"\n"
        "    - \"0.0.0.0:8080\"\n"
        "    - \"--ca\"\n"
        "    - \"/run/bottle/egress/secret/mitmproxy-ca.pem\"\n"
        "    - \"--routes\"\n"
        "    - \"/run/bottle/egress/routes/routes.json\"\n"
        "    - \"--confdir\"\n"
        "    - \"/run/bottle/egress/conf\"\n"
        "    - \"--audit-config\"\n"
        "    - \"/run/bottle/egress/routes/audit.json\"\n"
        "    - \"--parent-proxy\"\n"
        "    - \"http://127.0.0.1:8888\"\n"
        "    ports:\n"
        "    - name: \"proxy\"\n"
        "      containerPort: 8080\n"
        "      protocol: \"TCP\"\n"
        "    securityContext:\n"
        "      allowPrivilegeEscalation: false\n"
        "      capabilities:\n"
        "        drop:\n"
        "        - \"ALL\"\n"
        "      privileged: false\n"
        "      readOnlyRootFilesystem: true\n"
        "      runAsNonRoot: true\n"
        "    resources:\n"
        "      requests:\n"
        "        memory: \"256Mi\"\n"
        "      limits:\n"
        "        memory: \"256Mi\"\n"
        "    volumeMounts:\n"
        "    - name: \"conf\"\n"
        "      mountPath: \"/run/bottle/egress/conf\"\n"
        "    - name: \"secret\"\n"
        "      mountPath: \"/run/bottle/egress/secret\"\n"
        "      readOnly: true\n"
        "    - name: \"routes\"\n"
        "      mountPath: \"/run/bottle/egress/routes\"\n"
        "      readOnly: true\n"
        "    - name: \"tmp\"\n"
        "      mountPath: \"/tmp\"\n"
        "  - name: \"pipelock\"\n"
        "    image: \"pipelock:test\"\n"
        "    args:\n"
        "    - \"run\"\n"
        "    - \"--config\"\n"
        "    - \"/etc/pipelock/pipelock.yaml\"\n"
        "    - \"--listen\"\n"
        "    - \"127.0.0.1:8888\"\n"
        "    securityContext:\n"
        "      allowPrivilegeEscalation: false\n"
        "      capabilities:\n"
        "        drop:\n"
        "        - \"ALL\"\n"
        "      privileged: false\n"
        "      readOnlyRootFilesystem: true\n"
        "      runAsNonRoot: true\n"
        "    volumeMounts:\n"
        "    - name: \"pipelock\"\n"
        "      mountPath: \"/etc/pipelock\"\n"
        "      readOnly: true\n"
        "  volumes:\n"
        "  - name: \"conf\"\n"
        "    emptyDir: {}\n"
        "  - name: \"tmp\"\n"
        "    emptyDir: {}\n"
        "  - name: \"secret\"\n"
        "    secret:\n"
        "      secretName: \"bottle-api-egress\"\n"
        "      defaultMode: 288\n"
        "  - name: \"routes\"\n"
        "    configMap:\n"
        "      name: \"bottle-api-routes\"\n"
        "  - name: \"pipelock\"\n"
        "    configMap:\n"
        "      name: \"bottle-api-pipelock\"\n");
}

TEST_CASE("kube objects: the pipelock ConfigMap is the bottle's pipelock config on the pod's loopback", "[kube]") {
  const bottle::BottleSpec spec = kube_sample_spec();
  const auto settings =
      bottle::pipelock_settings_for(spec, bottle::agent_api_hosts(spec.agent), {.listen = "127.0.0.1:8888"});
  CHECK(object_named(sample_objects({.pipelock_image = "pipelock:test"}), "ConfigMap", "bottle-api-pipelock")
            .at("data") == json::value(json::object{{"pipelock.yaml", bottle::render_pipelock_yaml(settings)}}));
  // Without a pipelock image there is no pipelock, as on Docker without the binary.
  for (const auto& o : sample_objects()) CHECK(o.at("metadata").at("name").as_string() != "bottle-api-pipelock");
}

TEST_CASE("kube objects: a Sandbox carries the agent pod as its template, with the same labels", "[kube]") {
  const auto objects = sample_objects({.agent_object = bottle::KubeAgentObject::sandbox});
  const json::object pod = sample_objects().back();
  const json::object sandbox = objects.back();
  CHECK(sandbox.at("apiVersion").as_string() == "agents.x-k8s.io/v1beta1");
  CHECK(sandbox.at("kind").as_string() == "Sandbox");
  CHECK(sandbox.at("metadata") == pod.at("metadata"));
  CHECK(sandbox.at("spec") ==
        json::value(json::object{
            {"podTemplate", json::object{{"metadata", json::object{{"labels", pod.at("metadata").at("labels")}}},
                                         {"spec", pod.at("spec")}}}}));
}

TEST_CASE("kube objects: a hostPath workspace names the host directory and makes no PVC", "[kube]") {
  const auto objects = sample_objects({.workspace = bottle::KubeWorkspace::host_path});
  for (const auto& o : objects) CHECK(o.at("kind").as_string() != "PersistentVolumeClaim");
  CHECK(objects.back().at("spec").at("volumes").at(2) ==
        json::value(
            json::object{{"name", "ws0"}, {"hostPath", json::object{{"path", "/src/api"}, {"type", "Directory"}}}}));
}

TEST_CASE("kube objects: the workspace PVC asks for the size and class given", "[kube]") {
  const auto objects = sample_objects({.workspace_size = "20Gi", .storage_class = "fast"});
  CHECK(bottle::kube_yaml_document(object_named(objects, "PersistentVolumeClaim", "bottle-api-ws0")) ==
        "apiVersion: \"v1\"\n"
        "kind: \"PersistentVolumeClaim\"\n"
        "metadata:\n"
        "  name: \"bottle-api-ws0\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "spec:\n"
        "  accessModes:\n"
        "  - \"ReadWriteOnce\"\n"
        "  resources:\n"
        "    requests:\n"
        "      storage: \"20Gi\"\n"
        "  storageClassName: \"fast\"\n");
}

TEST_CASE("kube objects: clone mode keeps the clone in a PVC of its own on a cluster, an emptyDir in a played pod",
          "[kube][clone]") {
  bottle::BottleSpec spec = kube_sample_spec();
  spec.workspaces.clear();
  spec.repo = bottle::RepoSpec{.path = "/src/api", .branch = "bottle/api", .base = std::string(40, 'a')};
  const auto cluster = bottle::kube_objects(spec, {.workspace_size = "5Gi"}, kube_sample_inputs(spec));
  CHECK(kinds_and_names(cluster) ==
        std::vector<std::string>{"NetworkPolicy bottle-api-agent", "NetworkPolicy bottle-api-egress",
                                 "Secret bottle-api-egress", "ConfigMap bottle-api-routes",
                                 "ConfigMap bottle-api-agent-ca", "PersistentVolumeClaim bottle-api-clone",
                                 "Service bottle-api-egress", "Pod bottle-api-egress", "Pod bottle-api-agent"});
  CHECK(object_named(cluster, "PersistentVolumeClaim", "bottle-api-clone").at("spec") ==
        json::value(json::object{{"accessModes", json::array{"ReadWriteOnce"}},
                                 {"resources", json::object{{"requests", json::object{{"storage", "5Gi"}}}}}}));
  const auto& pod = cluster.back().at("spec");
  CHECK(pod.at("volumes").at(2) ==
        json::value(json::object{{"name", "clone"},
                                 {"persistentVolumeClaim", json::object{{"claimName", "bottle-api-clone"}}}}));
  CHECK(pod.at("containers").at(0).at("volumeMounts").at(2) ==
        json::value(json::object{{"name", "clone"}, {"mountPath", "/workspace"}}));
  // The claim's root is not the agent's: git is told to trust the clone's path.
  std::map<std::string, std::string> env;
  for (const auto& e : pod.at("containers").at(0).at("env").as_array())
    env[std::string(e.at("name").as_string())] = std::string(e.at("value").as_string());
  CHECK(env.at("GIT_CONFIG_COUNT") == "1");
  CHECK(env.at("GIT_CONFIG_KEY_0") == "safe.directory");
  CHECK(env.at("GIT_CONFIG_VALUE_0") == "/workspace");
  spec.env = {{"GIT_CONFIG_COUNT", "2"}};
  CHECK(error_of([&] { bottle::kube_objects(spec, {}, kube_sample_inputs(spec)); }) ==
        "spec: $.env.GIT_CONFIG_COUNT: clone mode on the kubernetes backend sets git's command-line configuration "
        "itself");

  const auto played =
      bottle::kube_objects(spec, {.workspace = bottle::KubeWorkspace::host_path}, kube_sample_inputs(spec));
  for (const auto& o : played) CHECK(o.at("kind").as_string() != "PersistentVolumeClaim");
  // A played pod's volume is the agent's: the spec's own git configuration stands.
  env.clear();
  for (const auto& e : played.back().at("spec").at("containers").at(0).at("env").as_array())
    env[std::string(e.at("name").as_string())] = std::string(e.at("value").as_string());
  CHECK(env.at("GIT_CONFIG_COUNT") == "2");
  CHECK(env.count("GIT_CONFIG_KEY_0") == 0);
  CHECK(played.back().at("spec").at("volumes").at(2) ==
        json::value(json::object{{"name", "clone"}, {"emptyDir", json::object{}}}));
}

TEST_CASE("kube objects: bad options and inputs are refused naming the field", "[kube]") {
  const bottle::BottleSpec spec = kube_sample_spec();
  const auto inputs = kube_sample_inputs(spec);
  const auto error = [&](const bottle::KubeOptions& options) {
    return error_of([&] { bottle::kube_objects(spec, options, inputs); });
  };
  CHECK(error({.namespace_name = "Agents"}) ==
        "kubernetes options: namespace_name: must be a DNS-1123 label: 1-63 of [a-z0-9-], not starting or ending with "
        "'-'");
  CHECK(error({.namespace_name = ""}).find("namespace_name") != std::string::npos);
  CHECK(error({.workspace_size = "10GB"}) ==
        "kubernetes options: workspace_size: must be digits with an optional Ki, Mi, Gi or Ti");
  CHECK(error({.storage_class = "Fast_1"}) == "kubernetes options: storage_class: must be a DNS-1123 label");
  CHECK(error({.agent_uid = 0}) ==
        "kubernetes options: agent_uid: must be between 1 and 2147483647 (a restricted pod never runs as root)");
  CHECK(error({.egress_gid = -1}).find("egress_gid") != std::string::npos);
  CHECK(error({.pipelock_image = "-bad"}).find("pipelock_image") != std::string::npos);

  bottle::BottleSpec root = spec;
  root.user = "root";
  CHECK(error_of([&] { bottle::kube_objects(root, {}, inputs); }) ==
        "spec: $.user: must not be root: the pod runs as a non-root uid");

  auto no_value = inputs;
  no_value.value_files.clear();
  CHECK(error_of([&] { bottle::kube_objects(spec, {}, no_value); }) ==
        "kubernetes inputs: value_files: no content for /home/me/.config/gh/token");

  bottle::BottleSpec bad_spec = spec;
  bad_spec.name = "Bad";
  CHECK(error_of([&] { bottle::kube_objects(bad_spec, {}, inputs); }).find("name") != std::string::npos);
}

TEST_CASE("kube objects: a '$' in the spec's env arrives as written, only the proxy is expanded", "[kube]") {
  bottle::BottleSpec spec = kube_sample_spec();
  spec.env = {{"PRICE", "$5 $(HOME) $$"}};
  const auto objects = bottle::kube_objects(spec, {}, kube_sample_inputs(spec));
  std::map<std::string, std::string> env;
  for (const auto& e : objects.back().at("spec").at("containers").at(0).at("env").as_array())
    env[std::string(e.at("name").as_string())] = std::string(e.at("value").as_string());
  CHECK(env.at("PRICE") == "$$5 $$(HOME) $$$$");
  CHECK(env.at("HTTPS_PROXY") == "http://$(BOTTLE_API_EGRESS_SERVICE_HOST):8080");
}

TEST_CASE("kube objects: the prompt file is a ConfigMap mounted read-only over /etc/bottle/prompt.md", "[kube]") {
  bottle::BottleSpec spec = kube_sample_spec();
  spec.egress.enabled = false;
  spec.egress.routes.clear();
  spec.prompt_file = "/src/api/PROMPT.md";
  bottle::KubeInputs inputs;
  inputs.prompt = "be brief\n";
  const auto objects = bottle::kube_objects(spec, {}, inputs);
  CHECK(kinds_and_names(objects) ==
        std::vector<std::string>{"NetworkPolicy bottle-api-agent", "ConfigMap bottle-api-prompt",
                                 "PersistentVolumeClaim bottle-api-ws0", "Pod bottle-api-agent"});
  CHECK(bottle::kube_yaml_document(object_named(objects, "ConfigMap", "bottle-api-prompt")) ==
        "apiVersion: \"v1\"\n"
        "kind: \"ConfigMap\"\n"
        "metadata:\n"
        "  name: \"bottle-api-prompt\"\n"
        "  namespace: \"default\"\n"
        "  labels:\n"
        "    io.bottle.managed: \"1\"\n"
        "    io.bottle.name: \"api\"\n"
        "data:\n"
        "  prompt.md: \"be brief\\n\"\n");
  const json::object& pod = objects.back().at("spec").as_object();
  CHECK(pod.at("volumes").at(3) ==
        json::value(json::object{{"name", "prompt"}, {"configMap", json::object{{"name", "bottle-api-prompt"}}}}));
  CHECK(pod.at("containers").at(0).at("volumeMounts").at(3) ==
        json::value(json::object{
            {"name", "prompt"}, {"mountPath", "/etc/bottle/prompt.md"}, {"readOnly", true}, {"subPath", "prompt.md"}}));
  // Without its content the objects are not made; a caller that gives the pod the
  // file itself (podman) asks for no ConfigMap.
  CHECK(error_of([&] { bottle::kube_objects(spec, {}, {}); }) ==
        "kubernetes inputs: prompt: the spec has a prompt file and its content was not given");
  const auto without = bottle::kube_objects(spec, {.prompt_in_config_map = false}, {});
  CHECK(kinds_and_names(without) == std::vector<std::string>{"NetworkPolicy bottle-api-agent",
                                                             "PersistentVolumeClaim bottle-api-ws0",
                                                             "Pod bottle-api-agent"});
}
