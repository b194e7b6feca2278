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
is stored: known apiVersion/kind (the kinds bottle applies today: NetworkPolicy,
PersistentVolumeClaim, ConfigMap, Pod, and Sandbox when its CRD is installed), required
fields, types, and no unknown field (a ConfigMap: string data only); pods must also pass the restricted Pod
Security Standard, as in a namespace that enforces it (the admission controller's
answer, "violates PodSecurity").

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

A Pod is backed by a Docker container started from its image with its security
context mapped to docker flags: --user uid:gid, --cap-drop ALL,
no-new-privileges, --read-only, tmpfs for emptyDirs, a named volume per PVC, a
read-only bind of each ConfigMap volume's files (written out when the pod starts, so
a pod made after the ConfigMap changed sees the new data; a subPath is one file),
--memory/--cpus from limits, and --network none (the deny-all NetworkPolicy,
enforced). exec runs the command in that container with `docker exec`.

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
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
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
       "Sandbox": "agents.x-k8s.io/v1beta1"}
SANDBOX_HASH_LABEL = "agents.x-k8s.io/sandbox-name-hash"
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


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
PORT = obj({"protocol": (R, one_of("TCP", "UDP")), "port": (R, integer)})
PEER = obj({"podSelector": (O, SELECTOR), "namespaceSelector": (O, SELECTOR),
            "ipBlock": (O, obj({"cidr": (R, string), "except": (O, array(string))}))})
NETWORK_POLICY_SPEC = obj({
    "podSelector": (R, SELECTOR),
    "policyTypes": (O, array(one_of("Ingress", "Egress"))),
    "ingress": (O, array(obj({"from": (O, array(PEER)), "ports": (O, array(PORT))}))),
    "egress": (O, array(obj({"to": (O, array(PEER)), "ports": (O, array(PORT))}))),
})
PVC_SPEC = obj({"accessModes": (R, array(one_of("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"))),
                "resources": (R, obj({"requests": (R, obj({"storage": (R, quantity)}))})),
                "storageClassName": (O, string)})
AMOUNTS = obj({"memory": (O, quantity), "cpu": (O, quantity)})
CONTAINER = obj({
    "name": (R, string), "image": (R, string), "command": (O, array(string)), "args": (O, array(string)),
    "workingDir": (O, string),
    "env": (O, array(obj({"name": (R, string), "value": (R, string)}))),
    "resources": (O, obj({"requests": (O, AMOUNTS), "limits": (O, AMOUNTS)})),
    "securityContext": (O, obj({
        "allowPrivilegeEscalation": (O, boolean), "privileged": (O, boolean),
        "readOnlyRootFilesystem": (O, boolean), "runAsNonRoot": (O, boolean),
        "runAsUser": (O, integer), "runAsGroup": (O, integer),
        "capabilities": (O, obj({"drop": (O, array(string)), "add": (O, array(string))}))})),
    "volumeMounts": (O, array(obj({"name": (R, string), "mountPath": (R, string), "readOnly": (O, boolean),
                                   "subPath": (O, string)}))),
})
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
                              "hostPath": (O, obj({"path": (R, string), "type": (O, string)}))}))),
})
SANDBOX_SPEC = obj({
    "podTemplate": (R, obj({"metadata": (O, obj({"labels": (O, labels), "annotations": (O, string_map)})),
                            "spec": (R, POD_SPEC)})),
    "service": (O, boolean), "operatingMode": (O, one_of("Running", "Suspended")),
    "shutdownTime": (O, string), "shutdownPolicy": (O, one_of("Retain", "Delete")),
})
SPECS = {"NetworkPolicy": NETWORK_POLICY_SPEC, "PersistentVolumeClaim": PVC_SPEC, "Pod": POD_SPEC,
         "Sandbox": SANDBOX_SPEC, "ConfigMap": None}
# The kinds whose content is `data`, not `spec`.
DATA_KINDS = {"ConfigMap": string_map}


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


def store(obj_):
    p = path_of(obj_["metadata"]["namespace"], obj_["kind"], obj_["metadata"]["name"])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".tmp", "w") as fh:
        json.dump(obj_, fh)
    os.replace(p + ".tmp", p)


def container_name(namespace, pod):
    return f"fakekube-{namespace}-{pod}"


def volume_name(namespace, claim):
    return f"fakekube-{namespace}-{claim}"


def docker(*args, check=True):
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        die(f"fake kubectl: docker {args[0]} failed: {r.stderr.strip()}")
    return r


# ---- commands ----
def selector_matches(selector, obj_labels):
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if obj_labels.get(key) != value:
            return False
    return True


def parse_selector(sel):
    if not re.match(r"^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*$", sel):
        die(f'error: unable to parse requirement: invalid label selector "{sel}"')
    return sel


def config_map_files_dir(namespace, pod_name):
    # Beside the namespaces' object files, not among them.
    return os.path.join(STATE, ".configmap-files", namespace, pod_name)


def config_map_files(namespace, pod, mount, volume):
    """The ConfigMap's data as files for this pod (the whole map, or its subPath key)."""
    name = volume["configMap"]["name"]
    if not os.path.exists(path_of(namespace, "ConfigMap", name)):
        die(f'fake kubectl: pod "{pod["metadata"]["name"]}" stays Pending: configmap "{name}" not found')
    with open(path_of(namespace, "ConfigMap", name)) as fh:
        data = json.load(fh)["data"]
    where = os.path.join(config_map_files_dir(namespace, pod["metadata"]["name"]), volume["name"])
    os.makedirs(where, exist_ok=True)
    os.chmod(where, 0o755)
    for key, value in data.items():
        with open(os.path.join(where, key), "w") as fh:
            fh.write(value)
        os.chmod(os.path.join(where, key), 0o644)
    if "subPath" not in mount:
        return where
    if mount["subPath"] not in data:
        die(f'fake kubectl: pod "{pod["metadata"]["name"]}" fails: subPath "{mount["subPath"]}" is not a key of '
            f'configmap "{name}"')
    return os.path.join(where, mount["subPath"])


def start_pod(namespace, pod):
    spec = pod["spec"]
    c = spec["containers"][0]
    psc = spec.get("securityContext", {})
    uid = c.get("securityContext", {}).get("runAsUser", psc.get("runAsUser"))
    gid = c.get("securityContext", {}).get("runAsGroup", psc.get("runAsGroup"))
    args = ["run", "-d", "--name", container_name(namespace, pod["metadata"]["name"]), "--label", "fakekube=1",
            "--network", "none", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    if uid is not None:
        args += ["--user", f"{uid}:{gid}" if gid is not None else str(uid)]
    if c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        args.append("--read-only")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = volumes.get(m["name"])
        if v is None:
            die(f'The Pod "{pod["metadata"]["name"]}" is invalid: spec.containers[0].volumeMounts.name: '
                f'Not found: "{m["name"]}"')
        ro = ",readonly" if m.get("readOnly") else ""
        if "emptyDir" in v:
            # An emptyDir is writable by the pod's fsGroup.
            args += ["--mount", f"type=tmpfs,destination={m['mountPath']},tmpfs-mode=1777"]
        elif "configMap" in v:
            args += ["--mount", "type=bind,source=" + config_map_files(namespace, pod, m, v) +
                     f",destination={m['mountPath']},readonly"]
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            if not os.path.exists(path_of(namespace, "PersistentVolumeClaim", claim)):
                die(f'fake kubectl: pod "{pod["metadata"]["name"]}" stays Pending: '
                    f'persistentvolumeclaim "{claim}" not found')
            args += ["--mount", f"type=volume,source={volume_name(namespace, claim)},destination={m['mountPath']}{ro}"]
    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args += ["--memory", limits["memory"].replace("Mi", "m").replace("Gi", "g")]
    if "cpu" in limits:
        args += ["--cpus", limits["cpu"]]
    if c.get("workingDir"):
        args += ["--workdir", c["workingDir"]]
    for e in c.get("env", []):
        # The kubelet's $(VAR) expansion turns "$$" into "$".
        args += ["--env", e["name"] + "=" + e["value"].replace("$$", "$")]
    command = c.get("command", [])
    if command:
        args += ["--entrypoint", command[0]]
    args.append(c["image"])
    args += command[1:] + c.get("args", [])
    docker(*args)


def sandbox_controller_makes_pod(ns, sandbox):
    """What the agent-sandbox controller does for a Sandbox without its pod."""
    name = sandbox["metadata"]["name"]
    template = sandbox["spec"]["podTemplate"]
    labels = dict(template.get("metadata", {}).get("labels", {}))
    labels[SANDBOX_HASH_LABEL] = hashlib.sha256(name.encode()).hexdigest()[:8]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": labels,
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
        if ref.get("kind") == "Sandbox" and os.path.exists(path_of(ns, "Sandbox", ref["name"])):
            with open(path_of(ns, "Sandbox", ref["name"])) as fh:
                return json.load(fh)
    return None


def cmd_apply(ctx, rest):
    if rest != ["-f", "-"]:
        die('error: must specify one of -f and -k' if "-f" not in rest else f"error: unknown flags {rest}")
    text = sys.stdin.read()
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        die(f'error: error parsing STDIN: error converting YAML to JSON: {e}')
    if not docs:
        die("error: no objects passed to apply")
    ns = ctx["namespace"]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            die('error: error validating "STDIN": apiVersion and kind must be set')
        kind = d["kind"]
        if kind in SPECS and API[kind] == d["apiVersion"] and not crd_installed(kind):
            die(f'error: resource mapping not found for name: "{d.get("metadata", {}).get("name", "")}" '
                f'namespace: "{ns}" from "STDIN": no matches for kind "{kind}" in version "{d["apiVersion"]}"\n'
                'ensure CRDs are installed first')
        if kind not in SPECS or API[kind] != d["apiVersion"]:
            die(f'error: resource mapping not found for kind "{kind}" in version "{d["apiVersion"]}" '
                f'(the fake knows {sorted(SPECS)})')
        body = ("data", DATA_KINDS[kind]) if kind in DATA_KINDS else ("spec", SPECS[kind])
        try:
            obj({"apiVersion": (R, string), "kind": (R, string), "metadata": (R, METADATA),
                 body[0]: (R, body[1])})(d, kind)
        except Invalid as e:
            die(f'error: error validating "STDIN": error validating data: ValidationError({e}); '
                'if you choose to ignore these errors, turn validation off with --validate=false')
        meta_ns = d["metadata"].get("namespace")
        if meta_ns is not None and meta_ns != ns:
            die(f'error: the namespace from the provided object "{meta_ns}" does not match the namespace "{ns}". '
                f'You must pass \'--namespace={meta_ns}\' to perform this operation.')
        if not DNS_LABEL.match(d["metadata"]["name"]):
            die(f'The {kind} "{d["metadata"]["name"]}" is invalid: metadata.name: Invalid value')
    for d in docs:
        kind, name = d["kind"], d["metadata"]["name"]
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
        d["metadata"]["namespace"] = ns
        p = path_of(ns, kind, name)
        if os.path.exists(p):
            with open(p) as fh:
                old = json.load(fh)
            field = "data" if kind in DATA_KINDS else "spec"
            if old[field] != d[field]:
                if kind in ("Pod", "PersistentVolumeClaim"):
                    die(f'The {kind} "{name}" is invalid: spec: Forbidden: updates may not change fields')
                old[field] = d[field]
                store(old)
                print(f"{plural[:-1] if kind != 'NetworkPolicy' else 'networkpolicy.networking.k8s.io'}/{name} configured")
            else:
                print(f"{kind.lower()}/{name} unchanged")
            continue
        d["metadata"]["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        d["metadata"]["uid"] = f"fake-{ns}-{plural}-{name}"
        if kind == "Pod":
            start_pod(ns, d)
        if kind == "PersistentVolumeClaim":
            docker("volume", "create", "--label", "fakekube=1", volume_name(ns, name))
        store(d)
        print(f"{kind.lower()}/{name} created" if kind != "Sandbox" else f"sandbox.agents.x-k8s.io/{name} created")
        if kind == "Sandbox":
            sandbox_controller_makes_pod(ns, d)


def pod_phase(ns, name):
    r = docker("inspect", "-f", "{{.State.Running}}", container_name(ns, name), check=False)
    if r.returncode != 0:
        return "Failed"
    return "Running" if r.stdout.strip() == "true" else "Failed"


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
                    o["status"] = {"phase": pod_phase(ns, o["metadata"]["name"])}
                items.append(o)
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}},
                     indent=4))


def delete_object(ns, o):
    kind, name = o["kind"], o["metadata"]["name"]
    if not os.path.exists(path_of(ns, kind, name)):
        return  # already gone with its owner
    if kind == "Pod":
        docker("rm", "-f", container_name(ns, name), check=False)
        shutil.rmtree(config_map_files_dir(ns, name), ignore_errors=True)
    if kind == "PersistentVolumeClaim":
        docker("volume", "rm", "-f", volume_name(ns, name), check=False)
    os.remove(path_of(ns, kind, name))
    print(f'{kind.lower()} "{name}" deleted' if kind != "Sandbox" else f'sandbox.agents.x-k8s.io "{name}" deleted')
    if kind == "Sandbox":  # garbage collection of the pod it owns
        p = path_of(ns, "Pod", name)
        if os.path.exists(p):
            with open(p) as fh:
                pod = json.load(fh)
            if any(r.get("kind") == "Sandbox" and r.get("name") == name
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
        p = path_of(ns, "Pod" if rest[0] == "pod" else "Sandbox", rest[1])
        if os.path.exists(p):
            with open(p) as fh:
                delete_object(ns, json.load(fh))
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
        if not os.path.exists(path_of(ns, "Sandbox", name)):
            die(f'Error from server (NotFound): sandboxes.agents.x-k8s.io "{name}" not found')
        # Ready follows the pod the controller made, named like the Sandbox.
        if not os.path.exists(path_of(ns, "Pod", name)) or pod_phase(ns, name) != "Running":
            die(f"error: timed out waiting for the condition on sandboxes/{name}")
        print(f"sandbox.agents.x-k8s.io/{name} condition met")
        return
    if not os.path.exists(path_of(ns, "Pod", name)):
        die(f'Error from server (NotFound): pods "{name}" not found')
    if pod_phase(ns, name) != "Running":
        die(f"error: timed out waiting for the condition on pods/{name}")
    print(f"pod/{name} condition met")


def cmd_exec(ctx, rest):
    flags = []
    while rest and rest[0] in ("-i", "-t"):
        flags.append(rest.pop(0))
    if len(rest) < 4 or rest[0] != "-c" or rest[3] != "--" or len(rest) < 5:
        die(f"error: the fake supports only `exec [-i] [-t] -c CONTAINER POD -- CMD...`, got {rest}")
    container, pod = rest[1], rest[2]
    ns = ctx["namespace"]
    p = path_of(ns, "Pod", pod)
    if not os.path.exists(p):
        die(f'Error from server (NotFound): pods "{pod}" not found')
    with open(p) as fh:
        names = [c["name"] for c in json.load(fh)["spec"]["containers"]]
    if container not in names:
        die(f"error: container {container} is not valid for pod {pod}")
    if pod_phase(ns, pod) != "Running":
        die(f"error: unable to upgrade connection: container not found (\"{container}\")")
    r = subprocess.run([DOCKER, "exec", *flags, container_name(ns, pod), *rest[4:]])
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
