// The kubernetes backend's egress objects, generated from a real host login and
// applied to the fake kubectl (tests/fakes/fake_kubectl.py), which backs each pod
// with a Docker container and enforces the agent's NetworkPolicy with an internal
// network it shares with the egress pod only. The egress pod runs the real
// bottle-egress image, whose parent proxy is the fake network on the host.
//
// What it proves: the agent pod reaches upstream only through the egress pod's
// Service (the service-link variable in its proxy settings), egress swaps the
// dummy for the access token the host pushed into the Secret, the cluster never
// holds the refresh token, and a login the host refreshed and pushed again (the
// Secret applied again) is what egress sends next, with no restart.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "bottle/core/state.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/credentials/credential_provisioning.hpp"
#include "bottle/egress/egress_ca.hpp"
#include "bottle/kube/kube_names.hpp"
#include "bottle/kube/kube_objects.hpp"
#include "bottle/kube/kube_yaml.hpp"
#include "bottle/ops/kube_egress.hpp"
#include "cli_harness.hpp"
#include "docker_bridge.hpp"
#include "forwarding_harness.hpp"

using namespace forwarding_harness;

namespace {

struct FakeCluster {
  std::map<std::string, std::string> env;
  explicit FakeCluster(const fs::path& dir)
      : env{{"FAKE_KUBECTL_STATE", (dir / "kube-state").string()},
            {"FAKE_KUBECTL_CONTEXTS", "fake"},
            {"FAKE_KUBECTL_NAMESPACES", "default,agents"}} {}
  bottle::ProcessResult kubectl(std::vector<std::string> args, std::optional<std::string> stdin_data = {}) const {
    bottle::Command c;
    c.argv = {std::string(test_paths::source_dir) + "/tests/fakes/fake_kubectl.py", "--context", "fake", "--namespace",
              "agents"};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.env = env;
    c.stdin_data = std::move(stdin_data);
    c.timeout = std::chrono::seconds(180);
    return bottle::SystemRunner().run(c);
  }
};

}  // namespace

TEST_CASE("kubernetes egress: the agent pod reaches upstream only through the egress pod and its pushed token",
          "[kubernetes][integration]") {
  IntegrationHome home;
  const fs::path& d = home.path();
  make_certs(d);
  HostLogin login = write_host_codex_login(d / "codex-home");
  const auto net = start_fake_net(d, "0.0.0.0");
  const std::string gateway = docker_bridge_gateway();
  REQUIRE_FALSE(gateway.empty());
  const std::string parent = gateway + ":" + std::to_string(parent_port(d));

  const bottle::Host host({{"CODEX_HOME", (d / "codex-home").string()},
                           {"BOTTLE_EGRESS_UPSTREAM", "http://" + parent},
                           {"BOTTLE_EGRESS_UPSTREAM_CA", (d / "ca.pem").string()}},
                          nullptr, nullptr);
  const bottle::StateDirs dirs{d / "config", d / "state"};
  bottle::SystemRunner runner;
  bottle::ensure_egress_ca(runner, dirs);

  bottle::BottleSpec spec;
  spec.name = unique_bottle_name("it-kegress");
  spec.agent = bottle::AgentKind::codex;
  spec.image = codex_image;
  spec.user = "node";
  spec.forward_host_credentials = true;
  const bottle::ForwardedCredentials forwarded = bottle::prepare_forwarded_credentials(host, spec);
  bottle::save_forwarded_state(dirs, spec.name, forwarded);
  REQUIRE(forwarded.routes.size() == 1);
  const std::string dummy = forwarded.routes[0].dummy;

  const bottle::KubeOptions options{.namespace_name = "agents"};
  const auto objects = [&] {
    return bottle::kube_objects(spec, options, bottle::kube_egress_inputs(host, dirs, spec));
  };
  const FakeCluster cluster(d);
  const std::string selector = "io.bottle.managed=1,io.bottle.name=" + spec.name;
  struct Cleanup {
    const FakeCluster& cluster;
    std::string selector;
    ~Cleanup() {
      cluster.kubectl({"delete", "pods", "-l", selector, "--ignore-not-found"});
      cluster.kubectl({"delete", "services,secrets,configmaps,persistentvolumeclaims,networkpolicies", "-l", selector,
                       "--ignore-not-found"});
    }
  } cleanup{cluster, selector};

  auto r = cluster.kubectl({"apply", "-f", "-"}, bottle::kube_yaml_stream(objects()));
  INFO(r.err);
  REQUIRE(r.ok());
  const bottle::KubeNames names = bottle::kube_names(spec.name, "agents");
  for (const std::string& pod : {names.egress, names.agent}) {
    r = cluster.kubectl({"wait", "--for=condition=Ready", "pod/" + pod, "--timeout=120s"});
    INFO(r.err);
    REQUIRE(r.ok());
  }
  const auto in_agent = [&](const std::string& script) {
    return cluster.kubectl({"exec", "-c", "agent", names.agent, "--", "sh", "-c", script});
  };
  // The bottle's dummy login, as provisioning installs it (content on stdin).
  for (const auto& file : forwarded.files) {
    r = cluster.kubectl({"exec", "-i", "-c", "agent", names.agent, "--", "sh", "-c",
                         "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\"", "sh", file.path},
                        file.content);
    INFO(r.err);
    REQUIRE(r.ok());
  }
  const auto run_codex = [&] {
    // Real codex in the agent pod, through its proxy settings, logged in with dummies.
    return cluster.kubectl({"exec", "-c", "agent", names.agent, "--", "timeout", "60", "codex", "exec",
                            "--skip-git-repo-check", "say hi"});
  };

  // The proxy address is the Service's, from the service-link variable.
  r = in_agent("echo \"$HTTPS_PROXY\"");
  CHECK_THAT(r.out, Catch::StartsWith("http://"));
  CHECK_THAT(r.out, !Catch::Contains("$("));

  // Through egress: the real access token reaches upstream, never the dummy.
  run_codex();
  check_upstream_saw_real_token(d, login, dummy);

  // Around it: no route to the host's parent proxy, nor anywhere else.
  r = in_agent("env -u https_proxy -u HTTPS_PROXY -u http_proxy -u HTTP_PROXY timeout 5 wget -q -O- http://" + parent +
               "/ >/dev/null 2>&1 && echo REACHED; true");
  CHECK_THAT(r.out, !Catch::Contains("REACHED"));

  // The cluster holds the access token and never the refresh token: the Secret the
  // fake stored (what the API server keeps), its data decoded.
  const auto secret_text = [&] {
    const fs::path stored = d / "kube-state" / "agents" / "secrets" / (names.egress + ".json");
    return run({"python3", "-c",
                "import base64, json, sys\n"
                "for v in json.load(open(sys.argv[1]))['data'].values(): print(base64.b64decode(v).decode())",
                stored.string()})
        .out;
  };
  CHECK(contains(secret_text(), login.access_token));
  CHECK_FALSE(contains(secret_text(), login.refresh_token));

  // The host refreshes its login (as ensure-fresh writes it) and pushes the Secret
  // again: egress sends the new token at once, without a restart.
  const std::string old_access = login.access_token;
  login.access_token = fake_jwt({{"exp", std::time(nullptr) + std::time_t{2} * 86400}, {"jti", "pushed-" + spec.name}});
  {
    const auto auth = d / "codex-home" / "auth.json";
    boost::json::object file = boost::json::parse(read_file(auth)).as_object();
    file["tokens"].as_object()["access_token"] = login.access_token;
    replace_file(auth, boost::json::serialize(file));
  }
  std::vector<boost::json::object> secret_only;
  for (const auto& o : objects())
    if (o.at("kind").as_string() == "Secret") secret_only.push_back(o);
  REQUIRE(secret_only.size() == 1);
  r = cluster.kubectl({"apply", "-f", "-"}, bottle::kube_yaml_stream(secret_only));
  INFO(r.err);
  REQUIRE(r.ok());
  fs::remove(d / "upstream.log");
  CHECK(wait_until(
      [&] {
        run_codex();
        return fs::exists(d / "upstream.log") && contains(read_file(d / "upstream.log"), login.access_token);
      },
      150s));
  CHECK_FALSE(contains(read_file(d / "upstream.log"), old_access));
}
