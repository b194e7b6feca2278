// The YAML emitter for Kubernetes objects: exact layout, quoting, and that no value
// can change the document's structure.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>

#include "bottle/kube/kube_yaml.hpp"
#include "error_of.hpp"

namespace json = boost::json;

TEST_CASE("kube yaml: block layout with sequences at their key's indentation", "[kube]") {
  const json::object pod{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", json::object{{"name", "p"}, {"labels", json::object{{"io.bottle.name", "api"}}}}},
      {"spec", json::object{{"automountServiceAccountToken", false},
                            {"containers",
                             json::array{json::object{{"name", "agent"},
                                                      {"command", json::array{"/bin/sh", "-c"}},
                                                      {"ports", json::array{json::object{{"containerPort", 8080}}}},
                                                      {"args", json::array{}},
                                                      {"securityContext", json::object{}}}}},
                            {"nested", json::array{json::array{1, 2}}}}}};
  CHECK(bottle::kube_yaml_document(pod) ==
        "apiVersion: \"v1\"\n"
        "kind: \"Pod\"\n"
        "metadata:\n"
        "  name: \"p\"\n"
        "  labels:\n"
        "    io.bottle.name: \"api\"\n"
        "spec:\n"
        "  automountServiceAccountToken: false\n"
        "  containers:\n"
        "  - name: \"agent\"\n"
        "    command:\n"
        "    - \"/bin/sh\"\n"
        "    - \"-c\"\n"
        "    ports:\n"
        "    - containerPort: 8080\n"
        "    args: []\n"
        "    securityContext: {}\n"
        "  nested:\n"
        "  - - 1\n"
        "    - 2\n");
}

TEST_CASE("kube yaml: a stream is documents each after ---", "[kube]") {
  CHECK(bottle::kube_yaml_stream({json::object{{"a", 1}}, json::object{{"b", nullptr}}, json::object{}}) ==
        "---\na: 1\n---\nb: null\n---\n{}\n");
}

TEST_CASE("kube yaml: hostile strings stay one quoted scalar", "[kube]") {
  const json::object o{{"data", json::object{{"x", "a\"\nb: c\n---\n#d \\ \xC3\xA9"}}}};
  CHECK(bottle::kube_yaml_document(o) == "data:\n  x: \"a\\\"\\nb: c\\n---\\n#d \\\\ \\xE9\"\n");
}

TEST_CASE("kube yaml: keys that YAML could read as something else are quoted", "[kube]") {
  const json::object o{{"on", 1}, {"8080", 2}, {"a b", 3}, {"routes.json", 4}, {"k8s-app", 5}, {"-x", 6}};
  CHECK(bottle::kube_yaml_document(o) == "\"on\": 1\n\"8080\": 2\n\"a b\": 3\nroutes.json: 4\nk8s-app: 5\n\"-x\": 6\n");
}

TEST_CASE("kube yaml: invalid UTF-8 and non-integer numbers are refused with their path", "[kube]") {
  const json::object bad_utf8{{"metadata", json::object{{"name", "\xFF"}}}};
  CHECK(error_of([&] { bottle::kube_yaml_document(bad_utf8); }) ==
        "kubernetes object: metadata.name: is not valid UTF-8");
  const json::object bad_number{{"spec", json::object{{"list", json::array{1.5}}}}};
  CHECK(error_of([&] { bottle::kube_yaml_document(bad_number); }) ==
        "kubernetes object: spec.list[0]: is not an integer");
}
