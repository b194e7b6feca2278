#pragma once
// Kubernetes objects as YAML text: a multi-document stream that both `kubectl apply
// -f -` and `podman kube play` read. Pure: no files, no processes.
//
// Why YAML and not JSON (which kubectl also accepts): bottle hands several objects to
// the engine at once, and the one multi-object form both engines read is a YAML
// stream of documents ("---"). JSON would need a `kind: List` wrapper, which
// `podman kube play` does not support.
//
// Objects are built as Boost.JSON trees (boost::json::object keeps insertion order, so
// the text is deterministic and the pod-security checker reads the same tree that is
// written). The emitter writes block style in kubectl's own layout (sequence items
// at the indentation of their key):
//
//   ---
//   apiVersion: "v1"
//   kind: "Pod"
//   metadata:
//     name: "bottle-api-agent"
//   spec:
//     containers:
//     - name: "agent"
//       args: []
//
// Every string value is a YAML double-quoted scalar (core/yaml_text.hpp: escaped, pure
// ASCII), so no value can add keys, comments, anchors or documents. Keys are written
// plain when they start with a letter and hold only letters, digits and . _ / -
// (and are not a YAML 1.1 boolean/null word), else quoted the same way.

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace bottle {

/// One document's YAML text (no "---" line), ending in a newline. Numbers are written
/// as integers (doubles are rejected: nothing bottle generates has one). Throws
/// Error(invalid_input) naming the key path when a string is not valid UTF-8 or a
/// number is not an integer.
std::string kube_yaml_document(const boost::json::object& object);

/// The stream: each object as "---\n" + kube_yaml_document(object), in order.
std::string kube_yaml_stream(const std::vector<boost::json::object>& objects);

}  // namespace bottle
