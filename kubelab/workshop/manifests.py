"""The objects a workshop is made of, as manifests: per learner, two namespaces (Pod
Security Admission on them), a ServiceAccount, a Role and RoleBinding, a ResourceQuota and
LimitRange in each, and a small read-only ClusterRole; once per workshop, the admission
policy that refuses service-account-token Secrets; and what a learner's namespace must
refuse (tried before any login is handed out)."""
from __future__ import annotations

from kubelab._base import versions
from kubelab._base.contract import (CONTROLLER_SERVICES, LEARNER_ROLE, LEARNER_SERVICE_ACCOUNT,
                                    NODE_PORTS_ANNOTATION, SLOT_ANNOTATION, WORKSHOP_LABEL)
from kubelab._session.scope import reservation_manifest
from kubelab.workshop.learners import Learner

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
# cluster's 110 pods per node only because most chapters run 2-6 pods at a time. Services
# and node ports: what the chapters need (10 and 6), plus the two reservations that hold
# the learner's fixed nodePorts in their first namespace.
QUOTA = {"pods": "20", "services": "12", "services.nodeports": "8",
         "services.loadbalancers": "1", "requests.cpu": "2", "requests.memory": "2Gi",
         "limits.cpu": "4", "limits.memory": "4Gi", "configmaps": "20", "secrets": "20"}
# Default limits small enough that the quota's limits (4 CPU, 4 GiB) hold the 20 pods its
# pod count allows: chapter 05b runs up to 11 pods at once, and agnhost needs far less.
LIMITS = {"defaultRequest": {"cpu": "50m", "memory": "64Mi"},
          "default": {"cpu": "200m", "memory": "192Mi"}}


def objects_for(learner: Learner, slot: int = 0, ports: list[int] | None = None,
                reservations: bool = True,
                controller_namespaces: list[str] | None = None) -> list[dict]:
    """Every object `create` or `add` makes for one learner: their slot and fixed nodePorts
    (ports.issue) on their namespaces, and the reservations that hold those ports; in each
    of `controller_namespaces`, a RoleBinding that lets them read the controller's Service
    (by name only: nothing else of that namespace)."""
    labels = learner.labels()
    notes = {SLOT_ANNOTATION: str(slot)}
    if ports:
        notes[NODE_PORTS_ANNOTATION] = ",".join(map(str, ports))
    sa = {"kind": "ServiceAccount", "name": LEARNER_SERVICE_ACCOUNT,
          "namespace": learner.namespace}
    objs: list[dict] = []
    for ns in learner.namespaces:
        meta = {"namespace": ns, "labels": labels}
        objs += [
            {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": ns, "labels": {**labels, **POD_SECURITY},
                          "annotations": notes}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": LEARNER_ROLE, **meta}, "rules": LEARNER_RULES},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": LEARNER_ROLE, **meta},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                         "name": LEARNER_ROLE},
             "subjects": [sa]},
            {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": "kubelab-budget", **meta}, "spec": {"hard": QUOTA}},
            {"apiVersion": "v1", "kind": "LimitRange",
             "metadata": {"name": "kubelab-defaults", **meta},
             "spec": {"limits": [{"type": "Container", **LIMITS}]}},
        ]
    objs.insert(1, {"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": LEARNER_SERVICE_ACCOUNT,
                                 "namespace": learner.namespace, "labels": labels}})
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
    if controller_namespaces:
        reader = f"{learner.cluster_role}-ingress"
        objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                     "metadata": {"name": reader, "labels": labels},
                     "rules": [{"apiGroups": [""], "resources": ["services"],
                                "verbs": ["get"], "resourceNames": CONTROLLER_SERVICES}]})
        objs += [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": {"name": reader, "namespace": ns, "labels": labels},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": reader},
                  "subjects": [sa]} for ns in controller_namespaces]
    if reservations:
        objs += [reservation_manifest(learner.namespace, labels, which, port)
                 for which, port in enumerate(ports or [])]
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
                "kubernetes.io/service-account.name": LEARNER_SERVICE_ACCOUNT}}},
        "PodSecurity": {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kubelab-probe-privileged"},
            "spec": {"containers": [{"name": "c", "image": versions.IMAGES["busybox"],
                                     "securityContext": {"privileged": True}}]}},
    }

