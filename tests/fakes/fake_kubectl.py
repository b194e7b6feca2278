#!/usr/bin/env python3
"""A faithful fake `kubectl` for the subset bottle uses (kubernetes_commands.hpp).

State lives in $FAKE_KUBECTL_STATE (one JSON file per object). Grammar, exactly:
  kubectl [--context C] [--namespace N] apply -f -
  kubectl [...] get pods,networkpolicies -l SELECTOR -o json
  kubectl [...] wait --for=condition=Ready pod/NAME --timeout=DURATION
  kubectl [...] wait --for=condition=Ready sandboxes.agents.x-k8s.io/NAME --timeout=DURATION
  kubectl [...] delete pod NAME --ignore-not-found
  kubectl [...] delete sandboxes.agents.x-k8s.io NAME --ignore-not-found
  kubectl [...] delete KINDS -l SELECTOR --ignore-not-found
  kubectl [...] exec [-i] [-t] -c CONTAINER POD -- CMD...
Anything else exits 1 with a kubectl-like error.

apply decodes the YAML stream and checks every object STRICTLY before anything
is stored: known apiVersion/kind (the kinds bottle applies: NetworkPolicy, Secret,
ConfigMap, PersistentVolumeClaim, Service, Pod, and Sandbox when its CRD is
installed), required fields, types, no unknown field, and what the API server
validates (names: DNS-1123 labels, a Service's a DNS-1035 label; ConfigMap and
Secret keys: [-._a-zA-Z0-9]+, not "." or "..", not starting with "..";
a Secret's data: base64, refused as the API server refuses it; type Opaque only;
a Service: type ClusterIP, integer port and targetPort 1-65535, protocol TCP|UDP,
a name on every port when there are several; a pod volume: exactly one source;
a volumeMount: names a volume of the pod). Pods must also pass the restricted Pod
Security Standard, as in a namespace that enforces it (the admission controller's
answer, "violates PodSecurity"). Objects are then applied in stream order: each one
is stored (and a pod started) before the next is looked at, as kubectl does.

A Sandbox (kubernetes-sigs agent-sandbox, agents.x-k8s.io/v1beta1) exists only
with FAKE_KUBECTL_CRDS naming sandboxes.agents.x-k8s.io; otherwise apply fails as
kubectl does ("no matches for kind ... ensure CRDs are installed first") and
applies nothing. The fake plays its controller at once: the pod it makes is named
like the Sandbox, carries the template's labels plus agents.x-k8s.io/sandbox-name-hash
and an owner reference, and is made again when deleted while its Sandbox exists;
deleting the Sandbox deletes the pod. One difference, on purpose: the restricted
check of the template is the Sandbox's apply's answer, where a real cluster would
accept the Sandbox and refuse only the controller's pod (and the Sandbox would
never become Ready).

A Pod is backed by one Docker container per pod container, started from its image
with its security context mapped to docker flags: --user uid:gid, --cap-drop ALL,
no-new-privileges, --read-only, tmpfs for emptyDirs (owned by the pod's user and
fsGroup, mode 2777: the pod's user may write them), a named volume per PVC
(mounted empty, without Docker's copy of the image's directory, and given to the
pod's fsGroup at each start as the kubelet's ownership change does: group fsGroup,
ug+rw, directories ug+x and setgid), --memory/--cpus from limits. The first container is named fakekube-NS-POD, any
other fakekube-NS-POD.CONTAINER and shares the first one's network namespace (as
containers of a pod do). exec runs the command in that container with `docker exec`.

ConfigMap and Secret volumes are written, when the pod starts, to
$FAKE_KUBECTL_STATE/.volumes/NS/POD/VOLUME the way the kubelet's atomic writer lays
them out (KEY -> ..data/KEY, ..data -> ..TIMESTAMP/ holding the files) and bound
read-only at the mountPath (a subPath binds one file). Files are owned by root,
mode 0644 (a ConfigMap) or the Secret volume's defaultMode; with the pod's fsGroup
they are group fsGroup and get g+r, as the kubelet's ownership change does (only
fsGroup, not runAsGroup, as on a cluster). When a Secret or ConfigMap is applied
again with new data, the volumes of the pods that mount it are rewritten at once: a
new ..TIMESTAMP directory, then ..data swapped to it with a rename, so a running
pod sees each file change atomically (a real kubelet does the same, but only at its
next sync, up to about a minute plus its cache's TTL later). A subPath mount keeps
the file it was started with, as on a cluster. A pod naming a ConfigMap or Secret
that does not exist (and is not `optional`) is refused at apply, with the kubelet's
message (on a cluster the pod would stay ContainerCreating); nothing of it is left.

NetworkPolicies: a pod's network follows the policies that select it for Egress.
  none selects it           -> Docker's default bridge (unrestricted, as a cluster)
  egress: [] (deny all)     -> --network none (enforced)
  exactly one rule: to the pods {io.bottle.name: NAME, io.bottle.role: egress} of
  the pod's own bottle (podSelector only), ports exactly [TCP 8080]
                            -> an INTERNAL Docker network of that policy,
                               fakekube-net-NS-POLICY (made on demand, idempotently,
                               without a host address on its bridge, so not even the
                               host is reachable); the pods that rule selects join it
                               too (docker network connect) at a fixed address, which
                               is their Services' address (below)
  rules whose peers are all ipBlocks or namespaceSelectors (the egress pod's
  "internet minus private ranges, plus kube-dns"), only on a pod labelled
  io.bottle.role=egress  -> Docker's default bridge: NOT enforced, see below
Anything else is refused (exit 1) naming the policy. The network of a policy goes
when the last pod on it is deleted or the policy is; `docker network rm` of a
network still in use does not fail a delete.

Services get no cluster IP. The kubelet's service links are played instead: a pod
with enableServiceLinks (the default) gets, for every Service of its namespace that
exists when it starts, the variables envvars.FromServices makes (SVC: the Service's
name upper-cased, '-' -> '_'): SVC_SERVICE_HOST=ADDRESS, SVC_SERVICE_PORT (the first
port), SVC_SERVICE_PORT_PORTNAME for each named port, SVC_PORT=tcp://ADDRESS:PORT
(the first port), and for each port P/PROTO SVC_PORT_P_PROTO=proto://ADDRESS:PORT
with its _PROTO, _PORT and _ADDR. ADDRESS is the IP address of the pod the Service's
selector matches: on the starting pod's internal network when that pod is on it
(the fixed address, so it survives the pod being made again), else on any of its
networks; PORT in the values is the targetPort (P in the names the service port).
A Service whose selector matches no running pod gets no variables (a cluster would
still give its cluster IP), and a pod whose env values, command or args refer to
one of them is refused. Then the kubelet's $(VAR) expansion, exactly: env values in
order, $(NAME) -> an env var defined earlier in the list, else a service variable;
"$$" -> "$"; an undefined or unclosed reference stays as written; a '$' before any
other byte stays (Go's quirk: the byte becomes a rune); the container's own env
overrides a service variable of the same name; command and args are expanded
against the container's final environment (its env and the service variables).
Ready (wait) and phase Running (get): every container of the pod is running.

Known differences from a cluster, beyond those above:
  - the egress pod's own NetworkPolicy (internet minus private ranges, DNS only to
    kube-dns) is not enforced: it is on Docker's default bridge and reaches anything
    the host does, private addresses included (tests put a fake upstream on the
    docker0 gateway); ingress rules are not enforced either (other bridge containers
    can reach it, and pods on an internal network can reach each other);
  - the internal network lets the agent reach every port of the egress pod, not
    only 8080, and Docker's embedded DNS on it answers the containers' names there;
  - no KUBERNETES_SERVICE_HOST/PORT (there is no API server to point at);
  - a policy applied again does not change the network of pods already running;
  - Secret and ConfigMap files live on disk under the state directory, not tmpfs
    (a recursive listing of $FAKE_KUBECTL_STATE sees them under .volumes); a fake
    not run as root cannot chown them and makes them world-readable instead;
  - an emptyDir, a PVC or a hostPath volume with subPath, and an emptyDir shared by
    two containers of a pod, are refused; only integer targetPorts.

Environment:
  FAKE_KUBECTL_STATE       state directory (required)
  FAKE_KUBECTL_LOG         append each argv as a JSON line (optional)
  FAKE_KUBECTL_CONTEXTS    known contexts, comma-separated (default "fake")
  FAKE_KUBECTL_NAMESPACES  existing namespaces, comma-separated (default "default")
  FAKE_KUBECTL_FORBID      kinds (plural, e.g. "pods") this user may not create (RBAC)
  FAKE_KUBECTL_CRDS        installed CRDs, comma-separated (sandboxes.agents.x-k8s.io)
  FAKE_KUBECTL_UNREACHABLE non-empty: the API server refuses connections
  FAKE_KUBECTL_DOCKER      the docker CLI (default "docker")
"""
import base64
import binascii
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import yaml
except ImportError:  # a test that cannot run must fail loudly
    sys.stderr.write("fake kubectl: python3-yaml is not installed\n")
    sys.exit(2)

STATE = os.environ.get("FAKE_KUBECTL_STATE", "")
DOCKER = os.environ.get("FAKE_KUBECTL_DOCKER", "docker")
SANDBOXES = "sandboxes.agents.x-k8s.io"
PLURAL = {"Pod": "pods", "NetworkPolicy": "networkpolicies", "PersistentVolumeClaim": "persistentvolumeclaims",
          "Service": "services", "Secret": "secrets", "ConfigMap": "configmaps", "Sandbox": SANDBOXES}
API = {"Pod": "v1", "NetworkPolicy": "networking.k8s.io/v1", "PersistentVolumeClaim": "v1", "ConfigMap": "v1",
       "Secret": "v1", "Service": "v1", "Sandbox": "agents.x-k8s.io/v1beta1"}
SANDBOX_HASH_LABEL = "agents.x-k8s.io/sandbox-name-hash"
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_DATA_BYTES = 1048576  # a ConfigMap's or Secret's data, all keys together
# The one egress rule the fake turns into an internal network: to the bottle's egress
# pods, this port only.
PROXY_PORTS = [{"protocol": "TCP", "port": 8080}]
NETWORK_PREFIX = "fakekube-net-"
# Internal networks get a /28 of this benchmarking range (RFC 2544): nothing real
# lives there, and egress may not reach it anyway (kube_blocked_ipv4). The pods a
# proxy rule selects take .2, the pods it guards .8-.14.
NETWORK_POOL = ipaddress.ip_network("198.18.0.0/15")
NETWORK_PREFIXLEN = 28
VOLUMES_DIR = ".volumes"  # beside the namespaces' object files, not among them


def die(message, code=1):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


class Invalid(Exception):
    pass


# ---- strict schema: each spec is {key: (required, checker)} ----
def string(v, at):
    if not isinstance(v, str):
        raise Invalid(f"{at}: expected string")


def boolean(v, at):
    if not isinstance(v, bool):
        raise Invalid(f"{at}: expected boolean")


def integer(v, at):
    if not isinstance(v, int) or isinstance(v, bool):
        raise Invalid(f"{at}: expected integer")


def port_number(v, at):
    integer(v, at)
    if not 1 <= v <= 65535:
        raise Invalid(f"{at}: must be between 1 and 65535, inclusive")


def file_mode(v, at):
    integer(v, at)
    if not 0 <= v <= 0o777:
        raise Invalid(f"{at}: must be a number between 0 and 0777 (octal), both inclusive")


def one_of(*values):
    def check(v, at):
        if v not in values:
            raise Invalid(f"{at}: unsupported value {json.dumps(v)}")
    return check


def obj(fields):
    def check(v, at):
        if not isinstance(v, dict):
            raise Invalid(f"{at}: expected object")
        for key in v:
            if key not in fields:
                raise Invalid(f'{at}: unknown field "{key}"')
        for key, (required, checker) in fields.items():
            if key in v:
                checker(v[key], f"{at}.{key}")
            elif required:
                raise Invalid(f'{at}: missing required field "{key}"')
    return check


def array(item):
    def check(v, at):
        if not isinstance(v, list):
            raise Invalid(f"{at}: expected array")
        for i, x in enumerate(v):
            item(x, f"{at}[{i}]")
    return check


def string_map(v, at):
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise Invalid(f"{at}: expected map of strings")


def labels(v, at):
    string_map(v, at)
    for key, value in v.items():
        if not LABEL_KEY.match(key) or not LABEL_VALUE.match(value):
            raise Invalid(f"{at}: invalid label {key}")


def quantity(v, at):
    if not isinstance(v, str) or not re.match(r"^[1-9][0-9]*(Ki|Mi|Gi|Ti)?$", v):
        raise Invalid(f"{at}: quantities must match the regular expression")


R, O = True, False
METADATA = obj({"name": (R, string), "namespace": (O, string), "labels": (O, labels)})
SELECTOR = obj({"matchLabels": (R, labels)})
POLICY_PORT = obj({"protocol": (O, one_of("TCP", "UDP")), "port": (O, port_number)})
PEER = obj({"podSelector": (O, SELECTOR), "namespaceSelector": (O, SELECTOR),
            "ipBlock": (O, obj({"cidr": (R, string), "except": (O, array(string))}))})
NETWORK_POLICY_SPEC = obj({
    "podSelector": (R, SELECTOR),
    "policyTypes": (O, array(one_of("Ingress", "Egress"))),
    "ingress": (O, array(obj({"from": (O, array(PEER)), "ports": (O, array(POLICY_PORT))}))),
    "egress": (O, array(obj({"to": (O, array(PEER)), "ports": (O, array(POLICY_PORT))}))),
})
PVC_SPEC = obj({"accessModes": (R, array(one_of("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"))),
                "resources": (R, obj({"requests": (R, obj({"storage": (R, quantity)}))})),
                "storageClassName": (O, string)})
SERVICE_SPEC = obj({
    "type": (O, one_of("ClusterIP")),
    "selector": (O, labels),
    "ports": (R, array(obj({"name": (O, string), "protocol": (O, one_of("TCP", "UDP")),
                            "port": (R, port_number), "targetPort": (O, port_number)}))),
})
AMOUNTS = obj({"memory": (O, quantity), "cpu": (O, quantity)})
CONTAINER = obj({
    "name": (R, string), "image": (R, string), "command": (O, array(string)), "args": (O, array(string)),
    "workingDir": (O, string),
    "env": (O, array(obj({"name": (R, string), "value": (R, string)}))),
    "ports": (O, array(obj({"name": (O, string), "containerPort": (R, port_number),
                            "protocol": (O, one_of("TCP", "UDP", "SCTP"))}))),
    "resources": (O, obj({"requests": (O, AMOUNTS), "limits": (O, AMOUNTS)})),
    "securityContext": (O, obj({
        "allowPrivilegeEscalation": (O, boolean), "privileged": (O, boolean),
        "readOnlyRootFilesystem": (O, boolean), "runAsNonRoot": (O, boolean),
        "runAsUser": (O, integer), "runAsGroup": (O, integer),
        "capabilities": (O, obj({"drop": (O, array(string)), "add": (O, array(string))}))})),
    "volumeMounts": (O, array(obj({"name": (R, string), "mountPath": (R, string), "readOnly": (O, boolean),
                                   "subPath": (O, string)}))),
})
VOLUME_SOURCES = ("emptyDir", "persistentVolumeClaim", "configMap", "secret", "hostPath")
POD_SPEC = obj({
    "automountServiceAccountToken": (O, boolean), "enableServiceLinks": (O, boolean),
    "restartPolicy": (O, one_of("Always", "OnFailure", "Never")),
    "securityContext": (O, obj({"runAsNonRoot": (O, boolean), "runAsUser": (O, integer),
                                "runAsGroup": (O, integer), "fsGroup": (O, integer),
                                "seccompProfile": (O, obj({"type": (R, one_of("RuntimeDefault", "Localhost",
                                                                             "Unconfined"))}))})),
    "containers": (R, array(CONTAINER)),
    "volumes": (O, array(obj({"name": (R, string), "emptyDir": (O, obj({})),
                              "persistentVolumeClaim": (O, obj({"claimName": (R, string)})),
                              "configMap": (O, obj({"name": (R, string)})),
                              "secret": (O, obj({"secretName": (R, string), "defaultMode": (O, file_mode),
                                                 "optional": (O, boolean)})),
                              "hostPath": (O, obj({"path": (R, string), "type": (O, string)}))}))),
})
SANDBOX_SPEC = obj({
    "podTemplate": (R, obj({"metadata": (O, obj({"labels": (O, labels), "annotations": (O, string_map)})),
                            "spec": (R, POD_SPEC)})),
    "service": (O, boolean), "operatingMode": (O, one_of("Running", "Suspended")),
    "shutdownTime": (O, string), "shutdownPolicy": (O, one_of("Retain", "Delete")),
})
# Each kind's fields besides apiVersion, kind and metadata.
BODIES = {"NetworkPolicy": {"spec": (R, NETWORK_POLICY_SPEC)}, "PersistentVolumeClaim": {"spec": (R, PVC_SPEC)},
          "Pod": {"spec": (R, POD_SPEC)}, "Sandbox": {"spec": (R, SANDBOX_SPEC)},
          "Service": {"spec": (R, SERVICE_SPEC)}, "ConfigMap": {"data": (R, string_map)},
          "Secret": {"type": (O, one_of("Opaque")), "data": (O, string_map)}}


def crd_installed(kind):
    if kind != "Sandbox":
        return True
    return SANDBOXES in os.environ.get("FAKE_KUBECTL_CRDS", "").split(",")


def known_resource(plural):
    return plural in PLURAL.values() and (plural != SANDBOXES or crd_installed("Sandbox"))


def restricted_violations(pod):
    """The restricted Pod Security Standard checks a bottle pod could fail."""
    spec = pod["spec"]
    psc = spec.get("securityContext", {})
    out = []
    for c in spec["containers"]:
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f'allowPrivilegeEscalation != false (container "{c["name"]}")')
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            out.append(f'unrestricted capabilities (container "{c["name"]}")')
        if sc.get("privileged"):
            out.append(f'privileged (container "{c["name"]}")')
        if not (psc.get("runAsNonRoot") is True or sc.get("runAsNonRoot") is True) or sc.get("runAsNonRoot") is False:
            out.append(f'runAsNonRoot != true (container "{c["name"]}")')
        if sc.get("runAsUser") == 0 or psc.get("runAsUser") == 0:
            out.append("runAsUser=0")
    if psc.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        out.append("seccompProfile (pod must set RuntimeDefault or Localhost)")
    for v in spec.get("volumes", []):
        if "hostPath" in v:
            out.append(f'restricted volume types (volume "{v["name"]}" uses hostPath)')
    return out


# ---- what the API server validates beyond the schema ----
def invalid(kind, name, detail):
    die(f'The {kind} "{name}" is invalid: {detail}')


def config_key_problem(key):
    """validation.IsConfigMapKey, for ConfigMap and Secret keys."""
    if len(key) > 253:
        return "must be no more than 253 characters"
    if not CONFIG_KEY.match(key):
        return ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    if key in (".", ".."):
        return f"must not be '{key}'"
    if key.startswith(".."):
        return "must not start with '..'"
    return None


def decode_secret_value(value):
    """The bytes of a Secret's data value, or None when it is not base64 (as Go decodes []byte)."""
    text = value.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_data(kind, name, data):
    size = 0
    for key, value in data.items():
        problem = config_key_problem(key)
        if problem:
            invalid(kind, name, f'data[{key}]: Invalid value: "{key}": {problem}')
        if kind == "Secret":
            decoded = decode_secret_value(value)
            if decoded is None:
                die(f'Error from server (BadRequest): error when creating "STDIN": Secret in version "v1" cannot be '
                    f'handled as a Secret: illegal base64 data in data[{key}]')
            size += len(decoded)
        else:
            size += len(key) + len(value.encode())
    if size > MAX_DATA_BYTES:
        invalid(kind, name, f"data: Too long: must have at most {MAX_DATA_BYTES} bytes")


def check_service(name, spec):
    ports = spec["ports"]
    if not ports:
        invalid("Service", name, "spec.ports: Required value")
    seen = set()
    for i, p in enumerate(ports):
        if len(ports) > 1 and not p.get("name"):
            invalid("Service", name, f"spec.ports[{i}].name: Required value")
        if p.get("name") in seen:
            invalid("Service", name, f'spec.ports[{i}].name: Duplicate value: "{p["name"]}"')
        seen.add(p.get("name"))


def check_pod_spec(kind, name, spec, at):
    volumes = {}
    for i, v in enumerate(spec.get("volumes", [])):
        sources = [k for k in VOLUME_SOURCES if k in v]
        if not sources:
            invalid(kind, name, f"{at}.volumes[{i}]: Required value: must specify a volume type")
        if len(sources) > 1:
            invalid(kind, name, f"{at}.volumes[{i}].{sources[1]}: Forbidden: may not specify more than 1 volume type")
        if v["name"] in volumes:
            invalid(kind, name, f'{at}.volumes[{i}].name: Duplicate value: "{v["name"]}"')
        volumes[v["name"]] = v
    if not spec["containers"]:
        invalid(kind, name, f"{at}.containers: Required value")
    names = set()
    for i, c in enumerate(spec["containers"]):
        if c["name"] in names:
            invalid(kind, name, f'{at}.containers[{i}].name: Duplicate value: "{c["name"]}"')
        names.add(c["name"])
        for j, m in enumerate(c.get("volumeMounts", [])):
            if m["name"] not in volumes:
                invalid(kind, name, f'{at}.containers[{i}].volumeMounts[{j}].name: Not found: "{m["name"]}"')
            sub = m.get("subPath", "")
            if sub.startswith("/"):
                invalid(kind, name, f'{at}.containers[{i}].volumeMounts[{j}].subPath: Invalid value: "{sub}": '
                                    "must be a relative path")
            if ".." in sub.split("/"):
                invalid(kind, name, f'{at}.containers[{i}].volumeMounts[{j}].subPath: Invalid value: "{sub}": '
                                    "must not contain '..'")


def check_object(d):
    """The API server's validation of one object that passed the schema (exits on the first problem)."""
    kind, name = d["kind"], d["metadata"]["name"]
    if kind == "Service" and not DNS_1035_LABEL.match(name):
        invalid(kind, name, f'metadata.name: Invalid value: "{name}": a DNS-1035 label must consist of lower case '
                            "alphanumeric characters or '-', start with an alphabetic character, and end with an "
                            "alphanumeric character")
    if not DNS_LABEL.match(name):
        invalid(kind, name, "metadata.name: Invalid value")
    if kind in ("ConfigMap", "Secret"):
        check_data(kind, name, d.get("data", {}))
    if kind == "Service":
        check_service(name, d["spec"])
    if kind == "Pod":
        check_pod_spec(kind, name, d["spec"], "spec")
    if kind == "Sandbox":
        check_pod_spec(kind, name, d["spec"]["podTemplate"]["spec"], "spec.podTemplate.spec")


# ---- state ----
def path_of(namespace, kind, name):
    return os.path.join(STATE, namespace, PLURAL[kind], name + ".json")


def load_all(namespace):
    out = []
    base = os.path.join(STATE, namespace)
    for plural in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        for f in sorted(os.listdir(os.path.join(base, plural))):
            with open(os.path.join(base, plural, f)) as fh:
                out.append(json.load(fh))
    return out


def load(namespace, kind, name):
    """The stored object, or None."""
    try:
        with open(path_of(namespace, kind, name)) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


def objects_of(namespace, kind):
    return [o for o in load_all(namespace) if o["kind"] == kind]


def store(obj_):
    p = path_of(obj_["metadata"]["namespace"], obj_["kind"], obj_["metadata"]["name"])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".tmp", "w") as fh:
        json.dump(obj_, fh)
    os.replace(p + ".tmp", p)


def pod_labels(pod):
    return pod["metadata"].get("labels", {})


def container_name(namespace, pod):
    """The Docker container of the pod's first container (it holds the pod's network)."""
    return f"fakekube-{namespace}-{pod}"


def container_names(namespace, pod):
    """The Docker container of each container of the stored pod, in order."""
    first = container_name(namespace, pod["metadata"]["name"])
    return [first] + [f"{first}.{c['name']}" for c in pod["spec"]["containers"][1:]]


def volume_name(namespace, claim):
    return f"fakekube-{namespace}-{claim}"


def network_name(namespace, policy):
    return f"{NETWORK_PREFIX}{namespace}-{policy}"


def docker(*args, check=True):
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        die(f"fake kubectl: docker {args[0]} failed: {r.stderr.strip()}")
    return r


def container_networks(name):
    """{network name: endpoint settings} of a Docker container ({} when it does not exist)."""
    r = docker("inspect", "--type", "container", "-f", "{{json .NetworkSettings.Networks}}", name, check=False)
    if r.returncode != 0:
        return {}
    return json.loads(r.stdout) or {}


# ---- commands ----
def selector_matches(selector, obj_labels):
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if obj_labels.get(key) != value:
            return False
    return True


def labels_match(match_labels, obj_labels):
    return all(obj_labels.get(k) == v for k, v in match_labels.items())


def parse_selector(sel):
    if not re.match(r"^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*$", sel):
        die(f'error: unable to parse requirement: invalid label selector "{sel}"')
    return sel


# ---- ConfigMap and Secret volumes ----
def volume_files_dir(namespace, pod_name):
    return os.path.join(STATE, VOLUMES_DIR, namespace, pod_name)


def set_owner(path, gid, mode):
    """root:gid (root:root without an fsGroup) and mode, as the kubelet leaves volume files."""
    if os.geteuid() == 0:
        os.chown(path, 0, gid if gid is not None else 0)
        os.chmod(path, mode)
    else:  # no chown without root: readable by anyone instead
        os.chmod(path, mode | (0o555 if os.path.isdir(path) else 0o444))


def write_volume_files(where, payload, mode, gid):
    """The kubelet's atomic writer: the files in a new ..TIMESTAMP directory, then
    ..data renamed over to point at it, KEY -> ..data/KEY links, the old directory gone."""
    os.makedirs(where, exist_ok=True)
    # With an fsGroup the kubelet makes directories setgid and group-readable and
    # files g+r (a read-only volume's mask) in that group.
    dir_mode = 0o755 | (0o2000 if gid is not None else 0)
    set_owner(where, gid, dir_mode)
    data_link = os.path.join(where, "..data")
    old = os.readlink(data_link) if os.path.islink(data_link) else None
    ts = tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()), dir=where)
    set_owner(ts, gid, dir_mode)
    for key, content in payload.items():
        path = os.path.join(ts, key)
        with open(path, "wb") as fh:
            fh.write(content)
        set_owner(path, gid, mode | (0o440 if gid is not None else 0))
    tmp_link = os.path.join(where, "..data_tmp")
    if os.path.lexists(tmp_link):
        os.remove(tmp_link)
    os.symlink(os.path.basename(ts), tmp_link)
    os.rename(tmp_link, data_link)
    for key in payload:
        if not os.path.lexists(os.path.join(where, key)):
            os.symlink(os.path.join("..data", key), os.path.join(where, key))
    for entry in os.listdir(where):
        if not entry.startswith("..") and entry not in payload:
            os.remove(os.path.join(where, entry))
    if old:
        shutil.rmtree(os.path.join(where, old), ignore_errors=True)


def volume_source(namespace, pod_name, volume):
    """What a ConfigMap or Secret volume holds: (payload {key: bytes}, file mode, what), or None
    for other volumes. Exits, as the kubelet's mount fails, when the object does not exist."""
    if "configMap" in volume:
        name = volume["configMap"]["name"]
        cm = load(namespace, "ConfigMap", name)
        if cm is None:
            die(f'fake kubectl: pod "{pod_name}" stays ContainerCreating: MountVolume.SetUp failed for volume '
                f'"{volume["name"]}" : configmap "{name}" not found')
        return {k: v.encode() for k, v in cm["data"].items()}, 0o644, f'configmap "{name}"'
    if "secret" in volume:
        name = volume["secret"]["secretName"]
        secret = load(namespace, "Secret", name)
        if secret is None and not volume["secret"].get("optional"):
            die(f'fake kubectl: pod "{pod_name}" stays ContainerCreating: MountVolume.SetUp failed for volume '
                f'"{volume["name"]}" : secret "{name}" not found')
        data = secret.get("data", {}) if secret else {}
        return ({k: decode_secret_value(v) for k, v in data.items()}, volume["secret"].get("defaultMode", 0o644),
                f'secret "{name}"')
    return None


def pod_volume_sources(namespace, pod):
    """{volume name: volume_source(...)} of the pod's ConfigMap and Secret volumes."""
    out = {}
    for v in pod["spec"].get("volumes", []):
        source = volume_source(namespace, pod["metadata"]["name"], v)
        if source is not None:
            out[v["name"]] = source
    return out


def fs_group(pod_spec):
    return pod_spec.get("securityContext", {}).get("fsGroup")


def refresh_volumes(namespace, kind, name):
    """A ConfigMap or Secret changed: rewrite it in the volumes of the running pods that mount it."""
    key = "configMap" if kind == "ConfigMap" else "secret"
    field = "name" if kind == "ConfigMap" else "secretName"
    for pod in objects_of(namespace, "Pod"):
        for v in pod["spec"].get("volumes", []):
            where = os.path.join(volume_files_dir(namespace, pod["metadata"]["name"]), v["name"])
            if key in v and v[key][field] == name and os.path.isdir(where):
                payload, mode, _ = volume_source(namespace, pod["metadata"]["name"], v)
                write_volume_files(where, payload, mode, fs_group(pod["spec"]))


# ---- NetworkPolicies as Docker networks ----
def policy_types(policy):
    spec = policy["spec"]
    if "policyTypes" in spec:
        return spec["policyTypes"]
    return ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def egress_rules(namespace, pod_labels_):
    """[(policy, rule)] of the policies that select the pod for Egress; None when none does."""
    policies = [p for p in objects_of(namespace, "NetworkPolicy")
                if labels_match(p["spec"]["podSelector"]["matchLabels"], pod_labels_) and "Egress" in policy_types(p)]
    if not policies:
        return None
    return [(p, rule) for p in policies for rule in p["spec"].get("egress", [])]


def proxy_target(rule):
    """The matchLabels of a rule "to the pods L, ports exactly TCP 8080", else None."""
    to = rule.get("to")
    if set(rule) != {"to", "ports"} or rule["ports"] != PROXY_PORTS or not isinstance(to, list) or len(to) != 1:
        return None
    if set(to[0]) != {"podSelector"}:
        return None
    return to[0]["podSelector"]["matchLabels"]


def internet_rule(rule):
    """A rule to address blocks or other namespaces' pods (the egress pod's), never to pods of this one."""
    return all("ipBlock" in peer or "namespaceSelector" in peer for peer in rule.get("to", []))


def pod_network(namespace, pod):
    """How the pod's egress is enforced: {"mode": "none" | "bridge"} or
    {"mode": "internal", "network", "policy", "target"}. Exits on a policy the fake cannot enforce."""
    labels_ = pod_labels(pod)
    rules = egress_rules(namespace, labels_)
    if rules is None:
        return {"mode": "bridge"}  # no policy selects it: unrestricted
    if not rules:
        return {"mode": "none"}
    if labels_.get("io.bottle.role") == "egress" and all(internet_rule(rule) for _, rule in rules):
        return {"mode": "bridge"}  # the egress pod's policy: not enforced
    if len(rules) == 1:
        policy, rule = rules[0]
        if proxy_target(rule) == {"io.bottle.name": labels_.get("io.bottle.name"), "io.bottle.role": "egress"}:
            return {"mode": "internal", "network": network_name(namespace, policy["metadata"]["name"]),
                    "policy": policy["metadata"]["name"], "target": proxy_target(rule)}
    shown = "; ".join(f'networkpolicy "{p["metadata"]["name"]}": {json.dumps(rule, sort_keys=True)}'
                      for p, rule in rules)
    die(f'fake kubectl: pod "{pod["metadata"]["name"]}" cannot start: the fake enforces egress rules only as deny-all '
        "(egress: []), as exactly one rule to the pods {io.bottle.name: NAME, io.bottle.role: egress} of the pod's own "
        "bottle on TCP 8080, or (an io.bottle.role=egress pod, not enforced) as ipBlock/namespaceSelector rules; "
        f"the pod's egress rules: {shown}")


def network_subnet(network):
    r = docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", network, check=False)
    if r.returncode != 0 or not r.stdout.strip():
        return None
    return ipaddress.ip_network(r.stdout.strip())


def target_address(subnet):
    """The fixed address of the pods a proxy rule selects on its network."""
    return str(subnet.network_address + 2)


def ensure_network(namespace, network):
    """The internal network of a proxy rule, made if missing; returns its subnet."""
    name = network["network"]
    subnet = network_subnet(name)
    if subnet is not None:
        return subnet
    count = NETWORK_POOL.num_addresses >> (32 - NETWORK_PREFIXLEN)
    start = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % count
    for k in range(count):
        base = NETWORK_POOL.network_address + (((start + k) % count) << (32 - NETWORK_PREFIXLEN))
        subnet = ipaddress.ip_network(f"{base}/{NETWORK_PREFIXLEN}")
        # No address on the bridge (inhibit_ipv4): the host is not reachable either.
        r = docker("network", "create", "--internal", "-o", "com.docker.network.bridge.inhibit_ipv4=true",
                   "--subnet", str(subnet), "--ip-range", f"{subnet.network_address + 8}/29",
                   "--label", "fakekube=1", "--label", f"fakekube.namespace={namespace}",
                   "--label", f"fakekube.networkpolicy={network['policy']}", name, check=False)
        if r.returncode == 0:
            return subnet
        existing = network_subnet(name)  # made meanwhile by another kubectl
        if existing is not None:
            return existing
        if "overlap" not in r.stderr:
            die(f"fake kubectl: docker network create {name} failed: {r.stderr.strip()}")
    die(f"fake kubectl: no free /{NETWORK_PREFIXLEN} left in {NETWORK_POOL} for network {name}")


def connect_target(namespace, pod_name, network, subnet):
    """Put a pod a proxy rule selects on that rule's network, at the fixed address. Returns an error or None."""
    name = container_name(namespace, pod_name)
    if network in container_networks(name):
        return None
    r = docker("network", "connect", "--ip", target_address(subnet), network, name, check=False)
    if r.returncode != 0:
        return (f'fake kubectl: cannot put pod "{pod_name}" on network {network} at {target_address(subnet)} '
                f"(the fake puts one running pod behind a proxy NetworkPolicy, and only a pod on the default "
                f"bridge): {r.stderr.strip()}")
    return None


def connect_targets(namespace, network):
    """The running pods the agent's proxy rule selects join its network."""
    for pod in objects_of(namespace, "Pod"):
        if labels_match(network["target"], pod_labels(pod)) and pod_phase(namespace, pod) == "Running":
            error = connect_target(namespace, pod["metadata"]["name"], network["network"], network["subnet"])
            if error:
                die(error)


def join_proxy_networks(namespace, pod):
    """A pod that proxy rules select joins their networks (made if missing). Returns an error or None."""
    for policy in objects_of(namespace, "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []) if "Egress" in policy_types(policy) else []:
            target = proxy_target(rule)
            if target is not None and labels_match(target, pod_labels(pod)):
                network = {"network": network_name(namespace, policy["metadata"]["name"]),
                           "policy": policy["metadata"]["name"], "target": target}
                subnet = ensure_network(namespace, network)
                error = connect_target(namespace, pod["metadata"]["name"], network["network"], subnet)
                if error:
                    return error
    return None


def remove_networks(names):
    for name in names:
        # Still in use (another pod of the bottle): it goes with the last one.
        docker("network", "rm", name, check=False)


# ---- services and the kubelet's $(VAR) expansion ----
def expand(value, lookup):
    """k8s.io/kubernetes third_party/forked/golang/expansion.Expand, on the value's bytes."""
    s = value.encode("utf-8", "surrogateescape")
    out = bytearray()
    checkpoint = 0
    cursor = 0
    while cursor < len(s):
        if s[cursor] == ord("$") and cursor + 1 < len(s):
            out += s[checkpoint:cursor]
            rest = s[cursor + 1:]
            if rest[0] == ord("$"):  # escaped operator
                out += b"$"
                advance = 1
            elif rest[0] == ord("("):
                close = rest.find(b")", 1)
                if close != -1:
                    name = rest[1:close].decode("utf-8", "surrogateescape")
                    found = lookup(name)
                    out += (found if found is not None else f"$({name})").encode("utf-8", "surrogateescape")
                    advance = close + 1
                else:  # incomplete reference
                    out += b"$("
                    advance = 1
            else:  # "$" then one byte, which Go's string(byte) turns into a rune
                out += b"$" + chr(rest[0]).encode()
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out += s[checkpoint:]
    return out.decode("utf-8", "surrogateescape")


def references(value):
    """The names $(NAME) references in a value would look up."""
    names = set()
    expand(value, lambda n: names.add(n))
    return names


def service_variables(service, address):
    """envvars.FromServices for one Service at address (the fake's ports: the targetPorts)."""
    prefix = service["metadata"]["name"].upper().replace("-", "_")
    ports = service["spec"]["ports"]

    def reachable(p):
        return str(p.get("targetPort", p["port"]))

    out = {f"{prefix}_SERVICE_HOST": address, f"{prefix}_SERVICE_PORT": reachable(ports[0])}
    for p in ports:
        if p.get("name"):
            out[f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = reachable(p)
    for i, p in enumerate(ports):
        protocol = p.get("protocol", "TCP")
        url = f"{protocol.lower()}://{address}:{reachable(p)}"
        if i == 0:
            out[f"{prefix}_PORT"] = url
        port_prefix = f"{prefix}_PORT_{p['port']}_{protocol.upper()}"
        out.update({port_prefix: url, port_prefix + "_PROTO": protocol.lower(), port_prefix + "_PORT": reachable(p),
                    port_prefix + "_ADDR": address})
    return out


def service_address(namespace, service, network):
    """The address the fake gives a Service: its pod's, on `network` when the pod is there. None: no pod."""
    selector = service["spec"].get("selector")
    if not selector:
        return None
    pods = [p for p in objects_of(namespace, "Pod")
            if labels_match(selector, pod_labels(p)) and pod_phase(namespace, p) == "Running"]
    endpoints = [container_networks(container_name(namespace, p["metadata"]["name"])) for p in pods]
    if network.get("network"):
        here = [e[network["network"]]["IPAddress"] for e in endpoints if network["network"] in e]
        if len(here) > 1:
            die(f'fake kubectl: service "{service["metadata"]["name"]}" selects {len(here)} pods on network '
                f'{network["network"]}: the fake has no load balancing')
        if here:
            return here[0]
    for e in endpoints:
        for name in sorted(e):
            if e[name].get("IPAddress"):
                return e[name]["IPAddress"]
    return None


def pod_service_variables(namespace, pod, network):
    """The service-link variables of a pod with enableServiceLinks, as the kubelet sets them."""
    wanted = set()
    for c in pod["spec"]["containers"]:
        for text in [e["value"] for e in c.get("env", [])] + c.get("command", []) + c.get("args", []):
            wanted |= references(text)
    out = {}
    for service in objects_of(namespace, "Service"):
        address = service_address(namespace, service, network)
        if address is None:
            needed = sorted(wanted & set(service_variables(service, "")))
            if needed:
                die(f'fake kubectl: pod "{pod["metadata"]["name"]}" cannot start: it refers to $({needed[0]}) and '
                    f'service "{service["metadata"]["name"]}" selects no running pod (the fake has no cluster IPs)')
            continue
        out.update(service_variables(service, address))
    return out


def container_environment(container, service_env):
    """makeEnvironmentVariables: env values expanded in order, over the service variables."""
    defined = {}
    for e in container.get("env", []):
        value = e["value"]
        if value != "":
            value = expand(value, lambda n: defined[n] if n in defined else service_env.get(n))
        defined[e["name"]] = value
    env = dict(service_env)
    env.update(defined)  # the container's own win
    return env


# ---- pods ----
def check_mounts(pod, sources):
    """Exits for what the fake cannot mount, before anything is made."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    users = {}
    for c in pod["spec"]["containers"]:
        for m in c.get("volumeMounts", []):
            v = volumes[m["name"]]
            users.setdefault(m["name"], set()).add(c["name"])
            if "subPath" not in m:
                continue
            if m["name"] not in sources:
                die(f'fake kubectl: pod "{pod["metadata"]["name"]}": the fake supports subPath only on configMap and '
                    f'secret volumes (volume "{m["name"]}")')
            payload, _, what = sources[m["name"]]
            if m["subPath"] not in payload:
                die(f'fake kubectl: pod "{pod["metadata"]["name"]}" fails: subPath "{m["subPath"]}" is not a key of '
                    f"{what}")
    for name, containers in users.items():
        if "emptyDir" in volumes[name] and len(containers) > 1:
            die(f'fake kubectl: pod "{pod["metadata"]["name"]}": the fake cannot share emptyDir "{name}" between '
                "containers")
    for name, v in volumes.items():
        if "hostPath" in v and name in users:
            die(f'fake kubectl: pod "{pod["metadata"]["name"]}": the fake does not mount hostPath volumes')


def claim_ownership(namespace, pod):
    """The kubelet's SetVolumeOwnership for each claim the pod mounts (fsGroupChangePolicy
    Always): every file in the fsGroup's group, ug+rw, directories also ug+x and setgid."""
    gid = fs_group(pod["spec"])
    if gid is None:
        return
    for v in pod["spec"].get("volumes", []):
        claim = v.get("persistentVolumeClaim", {}).get("claimName")
        if not claim:
            continue
        if os.geteuid() != 0:
            die("fake kubectl: giving a claim to the pod's fsGroup needs root")
        root = docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume_name(namespace, claim)).stdout.strip()
        for where, dirs, files in os.walk(root):
            for path in [where] + [os.path.join(where, f) for f in files]:
                if os.path.islink(path):
                    continue
                st = os.lstat(path)
                os.chown(path, st.st_uid, gid)
                # The kubelet's masks: rw for user and group, plus setgid and x on directories.
                mode = st.st_mode & 0o7777 | 0o660
                if os.path.isdir(path):
                    mode |= 0o2110
                os.chmod(path, mode)


def check_claims(namespace, pod):
    for v in pod["spec"].get("volumes", []):
        claim = v.get("persistentVolumeClaim", {}).get("claimName")
        if claim and load(namespace, "PersistentVolumeClaim", claim) is None:
            die(f'fake kubectl: pod "{pod["metadata"]["name"]}" stays Pending: '
                f'persistentvolumeclaim "{claim}" not found')


def mount_args(namespace, pod, container):
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    args = []
    for m in container.get("volumeMounts", []):
        v = volumes[m["name"]]
        ro = ",readonly" if m.get("readOnly") else ""
        if "emptyDir" in v:
            # An emptyDir is writable by the pod's user and fsGroup. Docker copies the
            # mode of a directory the image already has there (e.g. a home), so the
            # owner is set as well as the mode.
            security = pod["spec"].get("securityContext", {})
            user = container.get("securityContext", {}).get("runAsUser", security.get("runAsUser", 0))
            group = security.get("fsGroup", security.get("runAsGroup", 0))
            args += ["--tmpfs", f"{m['mountPath']}:uid={user},gid={group},mode=2777"]
        elif "configMap" in v or "secret" in v:
            source = os.path.join(volume_files_dir(namespace, pod["metadata"]["name"]), v["name"])
            if "subPath" in m:
                # The file itself, resolved now: it keeps its content when the volume is updated.
                source = os.path.realpath(os.path.join(source, m["subPath"]))
            args += ["--mount", f"type=bind,source={source},destination={m['mountPath']},readonly"]
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            # volume-nocopy: a claim starts empty; Docker would copy the image's directory in.
            args += ["--mount", f"type=volume,source={volume_name(namespace, claim)},destination={m['mountPath']},"
                                f"volume-nocopy{ro}"]
    return args


def run_argv(namespace, pod, index, network, service_env):
    """`docker run` of the pod's container `index`."""
    spec = pod["spec"]
    c = spec["containers"][index]
    psc = spec.get("securityContext", {})
    uid = c.get("securityContext", {}).get("runAsUser", psc.get("runAsUser"))
    gid = c.get("securityContext", {}).get("runAsGroup", psc.get("runAsGroup"))
    names = container_names(namespace, pod)
    if index > 0:
        net = f"container:{names[0]}"  # the containers of a pod share its network
    else:
        net = network.get("network") or network["mode"]
    args = ["run", "-d", "--name", names[index], "--label", "fakekube=1",
            "--label", f"fakekube.pod={namespace}/{pod['metadata']['name']}",
            "--network", net, "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    if uid is not None:
        args += ["--user", f"{uid}:{gid}" if gid is not None else str(uid)]
    if c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        args.append("--read-only")
    args += mount_args(namespace, pod, c)
    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args += ["--memory", limits["memory"].replace("Mi", "m").replace("Gi", "g")]
    if "cpu" in limits:
        args += ["--cpus", limits["cpu"]]
    if c.get("workingDir"):
        args += ["--workdir", c["workingDir"]]
    env = container_environment(c, service_env)
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    command = [expand(x, env.get) for x in c.get("command", [])]
    if command:
        args += ["--entrypoint", command[0]]
    args.append(c["image"])
    args += command[1:] + [expand(x, env.get) for x in c.get("args", [])]
    return args


def remove_pod_runtime(namespace, pod, networks=()):
    """Everything Docker and the volume files hold for the pod; its networks (and `networks`)
    go when no longer in use."""
    names = container_names(namespace, pod)
    networks = set(networks) | {n for n in container_networks(names[0]) if n.startswith(NETWORK_PREFIX)}
    for name in reversed(names):
        docker("rm", "-f", name, check=False)
    shutil.rmtree(volume_files_dir(namespace, pod["metadata"]["name"]), ignore_errors=True)
    remove_networks(sorted(networks))


def start_pod(namespace, pod):
    """What the scheduler, kubelet and network plugin do for a new pod, at once. Exits
    with nothing of the pod left when it cannot start."""
    spec, name = pod["spec"], pod["metadata"]["name"]
    sources = pod_volume_sources(namespace, pod)
    check_claims(namespace, pod)
    check_mounts(pod, sources)
    network = pod_network(namespace, pod)
    made = [network["network"]] if network.get("network") else []
    try:
        if network["mode"] == "internal":
            network["subnet"] = ensure_network(namespace, network)
            connect_targets(namespace, network)
        service_env = pod_service_variables(namespace, pod, network) if spec.get("enableServiceLinks", True) else {}
        for volume, (payload, mode, _) in sources.items():
            write_volume_files(os.path.join(volume_files_dir(namespace, name), volume), payload, mode,
                               fs_group(spec))
        claim_ownership(namespace, pod)
        for index in range(len(spec["containers"])):
            r = docker(*run_argv(namespace, pod, index, network, service_env), check=False)
            if r.returncode != 0:
                die(f"fake kubectl: docker run failed: {r.stderr.strip()}")
        if network["mode"] == "bridge":
            error = join_proxy_networks(namespace, pod)
            if error:
                die(error)
    except SystemExit:
        remove_pod_runtime(namespace, pod, made)
        raise


def sandbox_controller_makes_pod(ns, sandbox):
    """What the agent-sandbox controller does for a Sandbox without its pod."""
    name = sandbox["metadata"]["name"]
    template = sandbox["spec"]["podTemplate"]
    labels_ = dict(template.get("metadata", {}).get("labels", {}))
    labels_[SANDBOX_HASH_LABEL] = hashlib.sha256(name.encode()).hexdigest()[:8]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": labels_,
                        "ownerReferences": [{"apiVersion": API["Sandbox"], "kind": "Sandbox", "name": name,
                                             "uid": sandbox["metadata"]["uid"], "controller": True}],
                        "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "uid": f"fake-{ns}-pods-{name}-{time.time_ns()}"},
           "spec": template["spec"]}
    start_pod(ns, pod)
    store(pod)


def owning_sandbox(ns, pod):
    """The stored Sandbox that controls `pod`, or None."""
    for ref in pod["metadata"].get("ownerReferences", []):
        if ref.get("kind") == "Sandbox":
            sandbox = load(ns, "Sandbox", ref["name"])
            if sandbox is not None:
                return sandbox
    return None


def parse_stream(ns):
    """The objects of the YAML stream on stdin, each checked (exits on the first problem)."""
    text = sys.stdin.read()
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        die(f'error: error parsing STDIN: error converting YAML to JSON: {e}')
    if not docs:
        die("error: no objects passed to apply")
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            die('error: error validating "STDIN": apiVersion and kind must be set')
        kind = d["kind"]
        if kind in BODIES and API[kind] == d["apiVersion"] and not crd_installed(kind):
            die(f'error: resource mapping not found for name: "{d.get("metadata", {}).get("name", "")}" '
                f'namespace: "{ns}" from "STDIN": no matches for kind "{kind}" in version "{d["apiVersion"]}"\n'
                'ensure CRDs are installed first')
        if kind not in BODIES or API[kind] != d["apiVersion"]:
            die(f'error: resource mapping not found for kind "{kind}" in version "{d["apiVersion"]}" '
                f'(the fake knows {sorted(BODIES)})')
        try:
            obj({"apiVersion": (R, string), "kind": (R, string), "metadata": (R, METADATA), **BODIES[kind]})(d, kind)
        except Invalid as e:
            die(f'error: error validating "STDIN": error validating data: ValidationError({e}); '
                'if you choose to ignore these errors, turn validation off with --validate=false')
        meta_ns = d["metadata"].get("namespace")
        if meta_ns is not None and meta_ns != ns:
            die(f'error: the namespace from the provided object "{meta_ns}" does not match the namespace "{ns}". '
                f'You must pass \'--namespace={meta_ns}\' to perform this operation.')
        check_object(d)
    return docs


def admit(ctx, d):
    """The API server's namespace, RBAC and Pod Security answers for one object."""
    kind, name, ns = d["kind"], d["metadata"]["name"], ctx["namespace"]
    plural = PLURAL[kind]
    if ns not in ctx["namespaces"]:
        die(f'Error from server (NotFound): error when creating "STDIN": namespaces "{ns}" not found')
    if plural in ctx["forbid"]:
        die(f'Error from server (Forbidden): error when creating "STDIN": {plural} "{name}" is forbidden: '
            f'User "fake-user" cannot create resource "{plural}" in API group "" in the namespace "{ns}"')
    if kind in ("Pod", "Sandbox"):
        violations = restricted_violations(d if kind == "Pod" else d["spec"]["podTemplate"])
        if violations:
            die(f'Error from server (Forbidden): error when creating "STDIN": pods "{name}" is forbidden: '
                f'violates PodSecurity "restricted:latest": {", ".join(violations)}')


def apply_update(ns, d, old):
    """apply of an object that exists: configure what may change, refuse what may not."""
    kind, name = d["kind"], d["metadata"]["name"]
    fields = list(BODIES[kind])
    if all(old.get(f) == d.get(f) for f in fields):
        print(f"{kind.lower()}/{name} unchanged")
        return
    if kind in ("Pod", "PersistentVolumeClaim"):
        die(f'The {kind} "{name}" is invalid: spec: Forbidden: updates may not change fields')
    if kind == "Secret" and old.get("type", "Opaque") != d.get("type", "Opaque"):
        die(f'The Secret "{name}" is invalid: type: Invalid value: "{d.get("type", "Opaque")}": field is immutable')
    for f in fields:
        if f in d:
            old[f] = d[f]
        else:
            old.pop(f, None)
    store(old)
    print(f"{PLURAL[kind][:-1] if kind != 'NetworkPolicy' else 'networkpolicy.networking.k8s.io'}/{name} configured")
    if kind in ("Secret", "ConfigMap"):
        refresh_volumes(ns, kind, name)


def cmd_apply(ctx, rest):
    if rest != ["-f", "-"]:
        die('error: must specify one of -f and -k' if "-f" not in rest else f"error: unknown flags {rest}")
    ns = ctx["namespace"]
    docs = parse_stream(ns)
    for d in docs:  # in stream order: each object exists before the next is applied
        kind, name = d["kind"], d["metadata"]["name"]
        admit(ctx, d)
        d["metadata"]["namespace"] = ns
        old = load(ns, kind, name)
        if old is not None:
            apply_update(ns, d, old)
            continue
        d["metadata"]["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        d["metadata"]["uid"] = f"fake-{ns}-{PLURAL[kind]}-{name}"
        if kind == "Pod":
            start_pod(ns, d)
        if kind == "PersistentVolumeClaim":
            docker("volume", "create", "--label", "fakekube=1", volume_name(ns, name))
        store(d)
        print(f"{kind.lower()}/{name} created" if kind != "Sandbox" else f"sandbox.agents.x-k8s.io/{name} created")
        if kind == "Sandbox":
            sandbox_controller_makes_pod(ns, d)


def pod_phase(ns, pod):
    """Running when every container of the stored pod runs, else Failed."""
    for name in container_names(ns, pod):
        r = docker("inspect", "--type", "container", "-f", "{{.State.Running}}", name, check=False)
        if r.returncode != 0 or r.stdout.strip() != "true":
            return "Failed"
    return "Running"


def cmd_get(ctx, rest):
    if len(rest) != 5 or rest[1] != "-l" or rest[3:] != ["-o", "json"]:
        die(f"error: the fake supports only `get KINDS -l SELECTOR -o json`, got {rest}")
    kinds = rest[0].split(",")
    for k in kinds:
        if not known_resource(k):
            die(f'error: the server doesn\'t have a resource type "{k}"')
    sel = parse_selector(rest[2])
    ns = ctx["namespace"]
    items = []
    for k in kinds:  # kubectl lists kind by kind, in the order asked
        for o in load_all(ns):
            if PLURAL[o["kind"]] == k and selector_matches(sel, o["metadata"].get("labels", {})):
                if o["kind"] == "Pod":
                    o["status"] = {"phase": pod_phase(ns, o)}
                items.append(o)
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}},
                     indent=4))


def delete_object(ns, o):
    kind, name = o["kind"], o["metadata"]["name"]
    if not os.path.exists(path_of(ns, kind, name)):
        return  # already gone with its owner
    if kind == "Pod":
        remove_pod_runtime(ns, o)
    if kind == "PersistentVolumeClaim":
        docker("volume", "rm", "-f", volume_name(ns, name), check=False)
    if kind == "NetworkPolicy":
        remove_networks([network_name(ns, name)])
    os.remove(path_of(ns, kind, name))
    print(f'{kind.lower()} "{name}" deleted' if kind != "Sandbox" else f'sandbox.agents.x-k8s.io "{name}" deleted')
    if kind == "Sandbox":  # garbage collection of the pod it owns
        pod = load(ns, "Pod", name)
        if pod is not None and any(r.get("kind") == "Sandbox" and r.get("name") == name
                                   for r in pod["metadata"].get("ownerReferences", [])):
            delete_object(ns, pod)
    if kind == "Pod":
        sandbox = owning_sandbox(ns, o)
        if sandbox is not None:  # its controller makes the pod again
            sandbox_controller_makes_pod(ns, sandbox)


def cmd_delete(ctx, rest):
    ns = ctx["namespace"]
    if len(rest) == 3 and rest[0] in ("pod", SANDBOXES) and rest[2] == "--ignore-not-found":
        if not known_resource(PLURAL["Pod"] if rest[0] == "pod" else rest[0]):
            die(f'error: the server doesn\'t have a resource type "{rest[0]}"')
        o = load(ns, "Pod" if rest[0] == "pod" else "Sandbox", rest[1])
        if o is not None:
            delete_object(ns, o)
        return
    if len(rest) == 4 and rest[1] == "-l" and rest[3] == "--ignore-not-found":
        kinds = rest[0].split(",")
        for k in kinds:
            if not known_resource(k):
                die(f'error: the server doesn\'t have a resource type "{k}"')
        sel = parse_selector(rest[2])
        found = False
        for k in kinds:
            for o in load_all(ns):
                if PLURAL[o["kind"]] == k and selector_matches(sel, o["metadata"].get("labels", {})):
                    delete_object(ns, o)
                    found = True
        if not found:
            sys.stderr.write("No resources found\n")
        return
    die(f"error: the fake supports only `delete pod|{SANDBOXES} NAME --ignore-not-found` and "
        f"`delete KINDS -l SELECTOR --ignore-not-found`, got {rest}")


def cmd_wait(ctx, rest):
    resource, _, name = rest[1].partition("/") if len(rest) == 3 else ("", "", "")
    if len(rest) != 3 or rest[0] != "--for=condition=Ready" or resource not in ("pod", SANDBOXES) or not name \
            or not re.match(r"^--timeout=[0-9]+s$", rest[2]):
        die(f"error: the fake supports only `wait --for=condition=Ready pod/NAME|{SANDBOXES}/NAME --timeout=Ns`, "
            f"got {rest}")
    ns = ctx["namespace"]
    if resource == SANDBOXES:
        if not known_resource(SANDBOXES):
            die(f'error: the server doesn\'t have a resource type "{SANDBOXES}"')
        if load(ns, "Sandbox", name) is None:
            die(f'Error from server (NotFound): sandboxes.agents.x-k8s.io "{name}" not found')
        # Ready follows the pod the controller made, named like the Sandbox.
        pod = load(ns, "Pod", name)
        if pod is None or pod_phase(ns, pod) != "Running":
            die(f"error: timed out waiting for the condition on sandboxes/{name}")
        print(f"sandbox.agents.x-k8s.io/{name} condition met")
        return
    pod = load(ns, "Pod", name)
    if pod is None:
        die(f'Error from server (NotFound): pods "{name}" not found')
    if pod_phase(ns, pod) != "Running":
        die(f"error: timed out waiting for the condition on pods/{name}")
    print(f"pod/{name} condition met")


def cmd_exec(ctx, rest):
    flags = []
    while rest and rest[0] in ("-i", "-t"):
        flags.append(rest.pop(0))
    if len(rest) < 4 or rest[0] != "-c" or rest[3] != "--" or len(rest) < 5:
        die(f"error: the fake supports only `exec [-i] [-t] -c CONTAINER POD -- CMD...`, got {rest}")
    container, pod_name = rest[1], rest[2]
    ns = ctx["namespace"]
    pod = load(ns, "Pod", pod_name)
    if pod is None:
        die(f'Error from server (NotFound): pods "{pod_name}" not found')
    names = [c["name"] for c in pod["spec"]["containers"]]
    if container not in names:
        die(f"error: container {container} is not valid for pod {pod_name}")
    target = container_names(ns, pod)[names.index(container)]
    r = docker("inspect", "--type", "container", "-f", "{{.State.Running}}", target, check=False)
    if r.returncode != 0 or r.stdout.strip() != "true":
        die(f"error: unable to upgrade connection: container not found (\"{container}\")")
    r = subprocess.run([DOCKER, "exec", *flags, target, *rest[4:]])
    if r.returncode != 0:
        sys.stderr.write(f"command terminated with exit code {r.returncode}\n")
    sys.exit(r.returncode)


def main(argv):
    if os.environ.get("FAKE_KUBECTL_LOG"):
        with open(os.environ["FAKE_KUBECTL_LOG"], "a") as fh:
            fh.write(json.dumps({"argv": argv}) + "\n")
    if not STATE:
        die("fake kubectl: FAKE_KUBECTL_STATE is not set", 2)
    contexts = [c for c in os.environ.get("FAKE_KUBECTL_CONTEXTS", "fake").split(",") if c]
    ctx = {"context": contexts[0] if contexts else "", "namespace": "default",
           "namespaces": os.environ.get("FAKE_KUBECTL_NAMESPACES", "default").split(","),
           "forbid": [k for k in os.environ.get("FAKE_KUBECTL_FORBID", "").split(",") if k]}
    args = list(argv)
    while args and args[0] in ("--context", "--namespace"):
        if len(args) < 2:
            die(f"error: flag needs an argument: {args[0]}")
        ctx[args[0][2:]] = args[1]
        args = args[2:]
    if ctx["context"] not in contexts:
        die(f'error: context "{ctx["context"]}" does not exist')
    if not args:
        die("error: no command given")
    if os.environ.get("FAKE_KUBECTL_UNREACHABLE"):
        die("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
    commands = {"apply": cmd_apply, "get": cmd_get, "delete": cmd_delete, "wait": cmd_wait, "exec": cmd_exec}
    if args[0] not in commands:
        die(f'error: unknown command "{args[0]}" for "kubectl"')
    commands[args[0]](ctx, args[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
