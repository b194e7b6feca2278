// bottle-cli --backend kubernetes against the fake kubectl (tests/fakes/fake_kubectl.py):
// kept state, exact argv grammar, a strict schema and restricted-PSS check of every
// object applied, and each agent pod backed by a Docker container (--network none,
// the pod's uid, no capabilities, read-only root). Needs Docker and bottle-test:latest.
#include <catch2/catch.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "cli_harness.hpp"
#include "kubectl_harness.hpp"

namespace {

std::vector<boost::json::array> logged_argvs(const IntegrationHome& home) {
  std::ifstream in(home.path() / "kube.log");
  std::vector<boost::json::array> argvs;
  std::string line;
  while (std::getline(in, line)) argvs.push_back(boost::json::parse(line).at("argv").as_array());
  return argvs;
}

// The objects the fake keeps, as "namespace/kinds/name.json" paths.
std::vector<std::string> kept_objects(const IntegrationHome& home) {
  std::vector<std::string> out;
  const auto state = home.path() / "kube-state";
  if (!std::filesystem::exists(state)) return out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(state))
    if (entry.is_regular_file()) out.push_back(std::filesystem::relative(entry.path(), state).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> create_args(const std::string& name, const std::string& namespace_name) {
  return {"create",       "--backend", "kubernetes", "--context",   "fake",    "--namespace",
          namespace_name, "--name",    name,         "--no-egress", "--image", "bottle-test:latest"};
}

}  // namespace

TEST_CASE("kubernetes: create, ls, exec, stop, start, rm of a --no-egress bottle against the fake kubectl",
          "[kubernetes][integration]") {
  IntegrationHome home;
  use_fake_kubectl(home);
  const std::string name = unique_bottle_name("it-kube");
  const std::string pod = "bottle-" + name + "-agent";

  auto r = home.cli(create_args(name, "agents"));
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(kept_objects(home) ==
        std::vector<std::string>{"agents/networkpolicies/" + pod + ".json", "agents/pods/" + pod + ".json"});

  r = home.cli({"ls", "--json"});
  REQUIRE(r.ok());
  auto rows = boost::json::parse(r.out).as_array();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("name") == name.c_str());
  CHECK(rows[0].at("backend") == "kubernetes");
  CHECK(rows[0].at("state") == "running");
  CHECK(rows[0].at("egress") == "off");

  // The pod's uid and working directory; the exit status comes back.
  r = home.cli({"exec", name, "--", "sh", "-c", "id -u; pwd; exit 3"});
  INFO(r.err);
  CHECK(r.code == 3);
  CHECK(r.out == "1000\n/home/node\n");
  // A read-only root and no network (the deny-all policy, enforced by the fake).
  r = home.cli({"exec", name, "--", "sh", "-c", "touch /bottle-root-test"});
  CHECK(r.code != 0);
  r = home.cli({"exec", name, "--", "sh", "-c", "ls /sys/class/net"});
  CHECK(r.out == "lo\n");
  // The agent's conversation, in a home the cluster deletes with the pod at stop.
  const std::string conversation = ".claude/projects/-home-node/0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl";
  r = home.cli(
      {"exec", name, "--", "sh", "-c",
       "set -e; cd /home/node; mkdir -p .claude/projects/-home-node; echo '{\"type\":\"user\"}' > " + conversation});
  INFO(r.err);
  REQUIRE(r.ok());

  r = home.cli({"stop", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(kept_objects(home) == std::vector<std::string>{"agents/networkpolicies/" + pod + ".json"});
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"state\":\"stopped\""));
  r = home.cli({"exec", name, "--", "true"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("(NotFound)"));

  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"state\":\"running\""));
  CHECK(home.cli({"exec", name, "--", "true"}).ok());
  // The pod is new, its home empty: the sessions stop saved are back, at every start.
  for (int round = 0; round < 2; ++round) {
    r = home.cli({"exec", name, "--", "cat", "/home/node/" + conversation});
    INFO(round << ": " << r.err);
    CHECK(r.out == "{\"type\":\"user\"}\n");
    if (round == 0) {
      REQUIRE(home.cli({"stop", name}).ok());
      REQUIRE(home.cli({"start", name}).ok());
    }
  }

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(home.cli({"ls", "--json"}).out == "[]\n");
  CHECK(kept_objects(home).empty());
  CHECK(home.run({"docker", "inspect", "fakekube-agents-" + pod}).code != 0);

  // Every kubectl call named the bottle's context and namespace.
  const auto argvs = logged_argvs(home);
  REQUIRE_FALSE(argvs.empty());
  for (const auto& argv : argvs) {
    INFO(boost::json::serialize(argv));
    REQUIRE(argv.size() > 4);
    CHECK(argv[0] == "--context");
    CHECK(argv[1] == "fake");
    CHECK(argv[2] == "--namespace");
    CHECK(argv[3] == "agents");
  }
}

TEST_CASE(
    "kubernetes: with --agent-sandbox the agent is a Sandbox whose controller makes the pod "
    "and without the CRDs nothing is left",
    "[kubernetes][integration]") {
  IntegrationHome home;
  use_fake_kubectl(home);
  const std::string name = unique_bottle_name("it-kube-sbx");
  const std::string agent = "bottle-" + name + "-agent";
  std::vector<std::string> args = create_args(name, "agents");
  args.push_back("--agent-sandbox");

  // No CRDs in the cluster: kubectl's own words, and the policy create made is gone.
  auto r = home.cli(args);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("no matches for kind \"Sandbox\"") && Catch::Contains("ensure CRDs are installed"));
  CHECK(kept_objects(home).empty());
  CHECK(home.cli({"ls", "--json"}).out == "[]\n");

  home.env()["FAKE_KUBECTL_CRDS"] = "sandboxes.agents.x-k8s.io";
  r = home.cli(args);
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(kept_objects(home) == std::vector<std::string>{"agents/networkpolicies/" + agent + ".json",
                                                       "agents/pods/" + agent + ".json",
                                                       "agents/sandboxes.agents.x-k8s.io/" + agent + ".json"});
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"state\":\"running\""));
  r = home.cli({"exec", name, "--", "sh", "-c", "id -u; ls /sys/class/net"});
  INFO(r.err);
  CHECK(r.out == "1000\nlo\n");

  // stop deletes the Sandbox, so no controller brings the pod back.
  r = home.cli({"stop", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(kept_objects(home) == std::vector<std::string>{"agents/networkpolicies/" + agent + ".json"});
  CHECK_THAT(home.cli({"ls", "--json"}).out, Catch::Contains("\"state\":\"stopped\""));
  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(home.cli({"exec", name, "--", "true"}).ok());

  r = home.cli({"rm", "--force", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(kept_objects(home).empty());
  CHECK(home.run({"docker", "inspect", "fakekube-agents-" + agent}).code != 0);
  bool waited_on_sandbox = false;
  for (const auto& argv : logged_argvs(home))
    waited_on_sandbox = waited_on_sandbox || (argv.size() > 6 && argv[4] == "wait" &&
                                              argv[6].as_string() == "sandboxes.agents.x-k8s.io/" + agent);
  CHECK(waited_on_sandbox);
}

TEST_CASE("kubernetes: the prompt file is a ConfigMap the pod reads at /etc/bottle/prompt.md, new at each start",
          "[kubernetes][integration]") {
  IntegrationHome home;
  use_fake_kubectl(home);
  const std::string name = unique_bottle_name("it-kube-prompt");
  const std::string base = "bottle-" + name;
  const auto prompt = home.path() / "PROMPT.md";
  std::ofstream(prompt) << "be brief\n";
  auto args = create_args(name, "agents");
  args.insert(args.end(), {"--prompt-file", prompt.string()});
  auto r = home.cli(args);
  INFO(r.err);
  REQUIRE(r.ok());
  struct Remove {
    IntegrationHome& home;
    std::string name;
    ~Remove() { home.cli({"rm", "--force", name}); }
  } remove{home, name};
  CHECK(std::find(kept_objects(home).begin(), kept_objects(home).end(), "agents/configmaps/" + base + "-prompt.json") !=
        kept_objects(home).end());
  r = home.cli({"exec", name, "--", "cat", "/etc/bottle/prompt.md"});
  INFO(r.err);
  CHECK(r.out == "be brief\n");
  // Read-only for the agent.
  r = home.cli({"exec", name, "--", "sh", "-c", "echo changed > /etc/bottle/prompt.md"});
  CHECK(r.code != 0);

  // Each start carries the file as it is then, like every other backend.
  std::ofstream(prompt, std::ios::trunc) << "be briefer\n";
  REQUIRE(home.cli({"stop", name}).ok());
  r = home.cli({"start", name});
  INFO(r.err);
  REQUIRE(r.ok());
  CHECK(home.cli({"exec", name, "--", "cat", "/etc/bottle/prompt.md"}).out == "be briefer\n");

  // A link in its place is not followed: the start fails and applies nothing new.
  const auto secret = home.path() / "secret.json";
  std::ofstream(secret) << "host-secret\n";
  std::filesystem::remove(prompt);
  std::filesystem::create_symlink(secret, prompt);
  REQUIRE(home.cli({"stop", name}).ok());
  r = home.cli({"start", name});
  CHECK(r.code == 6);
  CHECK_THAT(r.err, Catch::Contains("goes through a symbolic link"));
  std::ifstream kept(home.path() / "kube-state" / "agents" / "configmaps" / (base + "-prompt.json"));
  const std::string stored((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  CHECK(stored.find("host-secret") == std::string::npos);
  CHECK(stored.find("be briefer") != std::string::npos);
}

TEST_CASE("kubernetes: bad namespace, missing namespace, RBAC denial and an unreachable cluster leave nothing",
          "[kubernetes][integration]") {
  IntegrationHome home;
  use_fake_kubectl(home);
  const std::string name = unique_bottle_name("it-kube-bad");

  // Not a DNS label: refused before kubectl runs.
  auto r = home.cli(create_args(name, "Bad_NS"));
  CHECK(r.code == 3);
  CHECK_THAT(r.err, Catch::Contains("--namespace: must be a DNS-1123 label"));
  CHECK(logged_argvs(home).empty());

  r = home.cli(create_args(name, "nope"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("namespaces \"nope\" not found"));
  CHECK(kept_objects(home).empty());

  // The user may create policies but not pods: create made the policy, start was
  // refused, and the rollback deleted the policy again.
  home.env()["FAKE_KUBECTL_FORBID"] = "pods";
  r = home.cli(create_args(name, "agents"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("(Forbidden)"));
  CHECK_THAT(r.err, Catch::Contains("cannot create resource \"pods\""));
  CHECK(kept_objects(home).empty());
  home.env().erase("FAKE_KUBECTL_FORBID");
  CHECK(home.cli({"ls", "--json"}).out == "[]\n");

  home.env()["FAKE_KUBECTL_UNREACHABLE"] = "1";
  r = home.cli(create_args(name, "agents"));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("connection to the server"));
  home.env().erase("FAKE_KUBECTL_UNREACHABLE");

  home.env()["BOTTLE_KUBECTL"] = (home.path() / "no-such-kubectl").string();
  r = home.cli(create_args(name, "agents"));
  CHECK(r.code == 125);
  CHECK_THAT(r.err, Catch::Contains("could not run " + (home.path() / "no-such-kubectl").string()));
  CHECK(kept_objects(home).empty());
}
