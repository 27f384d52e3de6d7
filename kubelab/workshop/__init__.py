"""Workshops: one shared cluster, a namespace pair per learner, a scoped and expiring login.

`create` makes, per learner: namespaces NAME and NAME-b (Pod Security Admission enforces
`baseline` there and warns about `restricted`), a ServiceAccount, a Role and RoleBinding
in each namespace (what the chapters need, nothing cluster-wide), a ResourceQuota and
LimitRange in each (nobody starves the cluster), a small ClusterRole for the read-only
cluster-wide facts the chapters show (nodes, IngressClasses, and its own two namespaces
by name), and a kubeconfig holding a TokenRequest token that expires. Once per workshop,
a ValidatingAdmissionPolicy and its binding refuse Secrets of type
kubernetes.io/service-account-token in the workshop's namespaces, so no learner can mint
a token that outlives their login. Every object carries the workshop's label, and
`delete` removes exactly those.
"""
from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from kubelab._base import versions
from kubelab._base.errors import KubelabError, UsageError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster, require_context, user_kubeconfig
from kubelab._system.paths import write_private

WORKSHOP_LABEL = "kubelab.dev/workshop"
LEARNER_LABEL = "kubelab.dev/learner"
PROGRESS = "kubelab-progress"          # ConfigMap in each learner's namespace
SERVICE_ACCOUNT = "learner"

ALL = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
READ = ["get", "list", "watch"]

# What a learner may do in each of their two namespaces: what the chapters use. No RBAC
# objects (so no binding oneself to anything), quotas and limits only readable.
LEARNER_RULES = [
    {"apiGroups": [""], "verbs": ALL, "resources": [
        "pods", "pods/log", "pods/exec", "pods/attach", "pods/portforward", "services",
        "endpoints", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims",
        "replicationcontrollers"]},
    {"apiGroups": [""], "verbs": READ, "resources": ["events", "resourcequotas",
                                                     "limitranges", "pods/status"]},
    {"apiGroups": ["apps"], "verbs": ALL, "resources": [
        "deployments", "deployments/scale", "replicasets", "replicasets/scale",
        "statefulsets", "daemonsets"]},
    {"apiGroups": ["apps"], "verbs": READ, "resources": ["controllerrevisions"]},
    {"apiGroups": ["batch"], "verbs": ALL, "resources": ["jobs", "cronjobs"]},
    {"apiGroups": ["discovery.k8s.io"], "verbs": READ, "resources": ["endpointslices"]},
    {"apiGroups": ["networking.k8s.io"], "verbs": ALL, "resources": ["ingresses",
                                                                     "networkpolicies"]},
    {"apiGroups": ["gateway.networking.k8s.io"], "verbs": ALL,
     "resources": ["gateways", "httproutes"]},
    {"apiGroups": ["events.k8s.io"], "verbs": READ, "resources": ["events"]},
    {"apiGroups": ["autoscaling"], "verbs": ALL, "resources": ["horizontalpodautoscalers"]},
    {"apiGroups": ["policy"], "verbs": ALL, "resources": ["poddisruptionbudgets"]},
]

# Pod Security Admission on every learner namespace. `baseline` refuses what would let a
# learner's pod take over a node (privileged containers, hostPath volumes, the host's
# network, PID or IPC namespaces, host ports, added capabilities); no chapter needs any of
# them. What the stricter `restricted` profile would refuse is shown as a warning.
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted"}
TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"

# Budget per namespace. 20 learners x 2 namespaces x 20 pods stays far below a small
# cluster's 110 pods per node only because most chapters run 2-6 pods at a time.
QUOTA = {"pods": "20", "services": "10", "services.nodeports": "6",
         "services.loadbalancers": "1", "requests.cpu": "2", "requests.memory": "2Gi",
         "limits.cpu": "4", "limits.memory": "4Gi", "configmaps": "20", "secrets": "20"}
LIMITS = {"defaultRequest": {"cpu": "50m", "memory": "64Mi"},
          "default": {"cpu": "500m", "memory": "256Mi"}}


@dataclass(frozen=True)
class Learner:
    workshop: str
    name: str

    @property
    def namespace(self) -> str:
        return f"{self.workshop}-{self.name}"

    @property
    def namespaces(self) -> list[str]:
        return [self.namespace, f"{self.namespace}-b"]

    @property
    def cluster_role(self) -> str:
        return f"kubelab-{self.workshop}-{self.name}"

    def labels(self) -> dict[str, str]:
        return {WORKSHOP_LABEL: self.workshop, LEARNER_LABEL: self.name}


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def learners_from(names: list[str] | None, count: int | None, workshop: str) -> list[Learner]:
    if not DNS_LABEL.match(workshop) or len(workshop) > 20:
        raise UsageError(f"workshop name {workshop!r} is not a short DNS label.",
                         "use lowercase letters, digits and '-', at most 20 characters.")
    if names:
        chosen = [n.strip().lower() for n in names if n.strip()]
    elif count:
        chosen = [f"learner{i:02d}" for i in range(1, count + 1)]
    else:
        raise UsageError("no learners given.", "pass --learners a,b,c or --count N.")
    bad = [n for n in chosen if not DNS_LABEL.match(n) or len(n) > 30]
    if bad:
        raise UsageError(f"learner names must be DNS labels: {', '.join(bad)}.",
                         "use lowercase letters, digits and '-' (e.g. 'kim-minji').")
    if len(set(chosen)) != len(chosen):
        raise UsageError("learner names repeat.", "give each learner a distinct name.")
    return [Learner(workshop, n) for n in chosen]


# The chapters ask for two fixed nodePorts. In a shared cluster each learner gets two of
# their own from the bottom of the range (30000-30085), the band Kubernetes keeps for
# fixed ports: automatically assigned nodePorts are taken from above it, so they cannot
# steal a learner's port.
NODE_PORT_BASE = 30000
NODE_PORT_BLOCK = 2
MAX_LEARNERS = 43


def node_port_base(index: int) -> int:
    if index >= MAX_LEARNERS:
        raise UsageError(f"too many learners: at most {MAX_LEARNERS} fit in the fixed "
                         "NodePort band of one cluster.",
                         "split the group into two workshops on two clusters.")
    return NODE_PORT_BASE + NODE_PORT_BLOCK * index


def objects_for(learner: Learner, index: int = 0) -> list[dict]:
    """Every object `create` makes for one learner (the index-th), as manifests."""
    labels = learner.labels()
    sa = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": learner.namespace}
    objs: list[dict] = []
    for ns in learner.namespaces:
        meta = {"namespace": ns, "labels": labels}
        objs += [
            {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": ns, "labels": {**labels, **POD_SECURITY}, "annotations": {
                 "kubelab.dev/node-port-base": str(node_port_base(index))}}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": "kubelab-learner", **meta}, "rules": LEARNER_RULES},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "kubelab-learner", **meta},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                         "name": "kubelab-learner"},
             "subjects": [sa]},
            {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": "kubelab-budget", **meta}, "spec": {"hard": QUOTA}},
            {"apiVersion": "v1", "kind": "LimitRange",
             "metadata": {"name": "kubelab-defaults", **meta},
             "spec": {"limits": [{"type": "Container", **LIMITS}]}},
        ]
    objs.insert(1, {"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": SERVICE_ACCOUNT, "namespace": learner.namespace,
                                 "labels": labels}})
    # Cluster-wide, read-only, and only what the chapters show: the nodes (which machines
    # pods land on), IngressClasses (is there an Ingress controller?), and the learner's own
    # two namespaces by name (to see they exist). Nothing can be listed across namespaces.
    objs += [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": learner.cluster_role, "labels": labels},
         "rules": [
             {"apiGroups": [""], "resources": ["nodes"], "verbs": READ},
             {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"],
              "verbs": READ},
             {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gatewayclasses"],
              "verbs": READ},
             {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"],
              "resourceNames": learner.namespaces},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": learner.cluster_role, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": learner.cluster_role},
         "subjects": [sa]},
    ]
    return objs


def policy_name(workshop: str) -> str:
    return f"kubelab-{workshop}-no-token-secrets"


def workshop_objects(workshop: str) -> list[dict]:
    """What `create` makes once per workshop: a ValidatingAdmissionPolicy (GA since
    Kubernetes 1.30) that refuses Secrets of type kubernetes.io/service-account-token,
    bound to the namespaces that carry this workshop's label. The token controller fills
    such a Secret with a token that never expires, which would outlive the learner's
    login; TokenRequest tokens (what `create` hands out) need no Secret."""
    labels = {WORKSHOP_LABEL: workshop}
    name = policy_name(workshop)
    return [
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": {"name": name, "labels": labels},
         "spec": {
             "failurePolicy": "Fail",
             "matchConstraints": {"resourceRules": [{
                 "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                 "resources": ["secrets"]}]},
             "validations": [{
                 "expression": f"!has(object.type) || object.type != '{TOKEN_SECRET_TYPE}'",
                 "reason": "Forbidden",
                 "message": "workshop learners cannot create service-account-token Secrets: "
                            "such a token never expires and would outlive your login"}]}},
        {"apiVersion": "admissionregistration.k8s.io/v1",
         "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": {"name": name, "labels": labels},
         "spec": {"policyName": name, "validationActions": ["Deny"],
                  "matchResources": {"namespaceSelector": {"matchLabels": labels}}}},
    ]


def probe_objects(learner: Learner) -> dict[str, dict]:
    """What the cluster must refuse in a learner's namespace, tried as a server-side dry
    run (admission runs, nothing is stored): refusal reason -> manifest."""
    return {
        "ValidatingAdmissionPolicy": {
            "apiVersion": "v1", "kind": "Secret", "type": TOKEN_SECRET_TYPE,
            "metadata": {"name": "kubelab-probe-token", "annotations": {
                "kubernetes.io/service-account.name": SERVICE_ACCOUNT}}},
        "PodSecurity": {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kubelab-probe-privileged"},
            "spec": {"containers": [{"name": "c", "image": versions.IMAGES["busybox"],
                                     "securityContext": {"privileged": True}}]}},
    }


def wait_until_enforced(cluster: Cluster, learner: Learner, seconds: float = 30) -> None:
    """Return once the cluster refuses a token Secret and a privileged pod in the learner's
    namespace (a new policy takes a moment to be loaded); say why if it never does."""
    deadline = time.monotonic() + seconds
    while True:
        allowed = {}
        for reason, manifest in probe_objects(learner).items():
            proc = cluster.kubectl(["create", "--dry-run=server", "-n", learner.namespace,
                                    "-f", "-"], input=json.dumps(manifest), check=False)
            if proc.returncode == 0 or reason not in proc.stderr:
                allowed[reason] = (proc.stdout + proc.stderr).strip()
        if not allowed:
            return
        if time.monotonic() >= deadline:
            raise KubelabError(
                tr("the cluster does not enforce {what} in {namespace}: {answer}",
                   what=", ".join(allowed), namespace=learner.namespace,
                   answer="; ".join(allowed.values())),
                tr("the workshop needs Kubernetes 1.30 or newer with the PodSecurity and "
                   "ValidatingAdmissionPolicy admission plugins (both on by default); run "
                   "`kubelab workshop delete` and check the apiserver's admission flags."))
        time.sleep(0.5)


def instructor_cluster(context: str | None, kubeconfig: str | None) -> Cluster:
    """The cluster the workshop runs on: a named context, or the running lab."""
    from kubelab._cluster.cluster import current
    if context:
        path = user_kubeconfig(kubeconfig)
        require_context(path, context)
        return Cluster(backend="existing", kubeconfig=str(path), context=context,
                       created_by_kubelab=False, name=context)
    lab = current(required=False)
    if lab is None:
        raise KubelabError("which cluster? no --context was given and no lab is running.",
                           "pass --context NAME (the shared cluster), or `kubelab up` for a "
                           "rehearsal on the sandbox.")
    return lab


def _token(cluster: Cluster, learner: Learner, seconds: int) -> tuple[str, str]:
    from kubernetes import client
    core = client.CoreV1Api(cluster.api_client())
    req = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds))
    out = core.create_namespaced_service_account_token(SERVICE_ACCOUNT, learner.namespace,
                                                       req)
    return out.status.token, out.status.expiration_timestamp.isoformat()


def _server_and_ca(cluster: Cluster) -> tuple[str, str]:
    api = cluster.api_client()
    conf = api.configuration
    ca = Path(conf.ssl_ca_cert).read_bytes() if conf.ssl_ca_cert else b""
    return conf.host, base64.b64encode(ca).decode()


def learner_kubeconfig(learner: Learner, server: str, ca: str, token: str) -> dict:
    name = f"kubelab-{learner.namespace}"
    cluster_entry = {"server": server}
    if ca:
        cluster_entry["certificate-authority-data"] = ca
    return {"apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": cluster_entry}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name,
                                                    "namespace": learner.namespace}}]}


def create(cluster: Cluster, learners: list[Learner], out_dir: Path, hours: float,
           log=print) -> list[dict]:  # noqa: ANN001
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    server, ca = _server_and_ca(cluster)
    seconds = max(600, int(hours * 3600))       # TokenRequest's minimum is 10 minutes
    if learners:
        cluster.kubectl(["apply", "-f", "-"], timeout=120, input=json.dumps(
            {"apiVersion": "v1", "kind": "List",
             "items": workshop_objects(learners[0].workshop)}))
    made = []
    for index, learner in enumerate(learners):
        doc = json.dumps({"apiVersion": "v1", "kind": "List",
                          "items": objects_for(learner, index)})
        cluster.kubectl(["apply", "-f", "-"], input=doc, timeout=120)
        if index == 0:      # before any login exists: the rules hold, or nothing is handed out
            wait_until_enforced(cluster, learner)
        token, expires = _token(cluster, learner, seconds)
        path = out_dir / f"{learner.name}.kubeconfig"
        write_private(path, yaml.safe_dump(learner_kubeconfig(learner, server, ca, token),
                                           sort_keys=False))
        made.append({"learner": learner.name, "namespaces": learner.namespaces,
                      "kubeconfig": str(path), "expires": expires})
        log(f"{learner.name:<20} {learner.namespace:<32} token until {expires}  {path}")
    write_private(out_dir / "workshop.json", json.dumps(made, indent=2))
    return made


# Every kind `create` makes that outlives a namespace (the rest goes with the namespaces).
DELETED_KINDS = ("namespaces,clusterroles,clusterrolebindings,"
                 "validatingadmissionpolicybindings,validatingadmissionpolicies")


def delete(cluster: Cluster, workshop: str, log=print) -> None:  # noqa: ANN001
    selector = f"{WORKSHOP_LABEL}={workshop}"
    out = cluster.kubectl(["delete", DELETED_KINDS, "-l", selector, "--ignore-not-found",
                           "--wait=true", "--timeout=300s"], timeout=330).stdout
    log(out.strip() or f"nothing labelled {selector}")


def progress(cluster: Cluster, workshop: str) -> dict[str, dict[str, dict[str, bool]]]:
    """learner -> chapter -> check -> passed, read from each learner's namespace."""
    from kubernetes import client
    core = client.CoreV1Api(cluster.api_client())
    table: dict[str, dict[str, dict[str, bool]]] = {}
    namespaces = core.list_namespace(label_selector=f"{WORKSHOP_LABEL}={workshop}").items
    for ns in sorted(namespaces, key=lambda n: n.metadata.name):
        learner = ns.metadata.labels.get(LEARNER_LABEL)
        if ns.metadata.name != f"{workshop}-{learner}":
            continue                                  # the -b namespaces hold no progress
        table[learner] = {}
        try:
            cm = core.read_namespaced_config_map(PROGRESS, ns.metadata.name)
        except client.ApiException as e:
            if e.status == 404:
                continue
            raise
        for chapter, raw in (cm.data or {}).items():
            table[learner][chapter] = json.loads(raw)
    return table


def progress_table(table: dict[str, dict[str, dict[str, bool]]]) -> str:
    chapters = sorted({c for per in table.values() for c in per})
    header = f"{'learner':<20}" + "".join(f"{c[:14]:>16}" for c in chapters) + f"{'total':>10}"
    lines = [header]
    for learner, per in sorted(table.items()):
        cells, total = [], 0
        for c in chapters:
            checks = per.get(c, {})
            passed = sum(checks.values())
            total += passed
            cells.append(f"{passed}/{len(checks)}" if checks else "-")
        lines.append(f"{learner:<20}" + "".join(f"{x:>16}" for x in cells) + f"{total:>10}")
    return "\n".join(lines)
