#pragma once
// Points bottle-cli at the fake kubectl (tests/fakes/fake_kubectl.py) with its state
// and argv log inside the test's home: context "fake", namespaces default and agents.

#include "cli_harness.hpp"

inline void use_fake_kubectl(IntegrationHome& home) {
  home.env()["BOTTLE_KUBECTL"] = std::string(test_paths::source_dir) + "/tests/fakes/fake_kubectl.py";
  home.env()["FAKE_KUBECTL_STATE"] = (home.path() / "kube-state").string();
  home.env()["FAKE_KUBECTL_LOG"] = (home.path() / "kube.log").string();
  home.env()["FAKE_KUBECTL_CONTEXTS"] = "fake";
  home.env()["FAKE_KUBECTL_NAMESPACES"] = "default,agents";
}
