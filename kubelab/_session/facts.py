"""What a check asks about objects, read from the API's answers (plain dicts), so that a
check in a notebook reads as a sentence: `facts.never_fewer_ready(moments, 4)` rather than
the sums that decide it. No cluster is needed to test these."""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from kubelab._cluster.readiness import condition_true


# ------------------------------------------------------------------ pods
def is_ready(obj: dict) -> bool:
    """A pod's or a node's Ready condition (one vocabulary: kubelab._cluster.readiness)."""
    return condition_true(obj, "Ready")


def is_leaving(obj: dict) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def image_tag(pod: dict, container: int = 0) -> str:
    """'2.63.0' for registry.k8s.io/e2e-test-images/agnhost:2.63.0."""
    return pod["spec"]["containers"][container]["image"].rsplit(":", 1)[-1]


def image_tags(pods: Iterable[dict]) -> list[str]:
    """The image tag of each pod's first container, sorted: ['2.59', '2.59', '2.63.0']."""
    return sorted(image_tag(p) for p in pods)


def pod_status(pod: dict) -> str:
    """Roughly the STATUS column of `kubectl get pods`: Terminating for a pod on its way
    out, else the reason a container waits or ended with (ContainerCreating,
    ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ...), else the pod's phase
    (Pending, Running)."""
    if is_leaving(pod):
        return "Terminating"
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        reason = ((state.get("waiting") or {}).get("reason")
                  or (state.get("terminated") or {}).get("reason"))
        if reason:
            return reason
    return status.get("phase") or "Pending"


def restarted_and_ready(pod: dict) -> bool:
    """Has the pod's first container been restarted (RESTARTS >= 1), and is it ready
    again?"""
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0].get("restartCount", 0) >= 1 and bool(statuses[0].get("ready"))


def owner(obj: dict) -> str | None:
    """The name of the object's controller (first owner), or None for a bare object."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return refs[0].get("name") if refs else None


def per_node(pods: Iterable[dict], nodes: Iterable[str]) -> dict[str, int]:
    """How many of the pods each node runs: {'node-a': 2, 'node-b': 2}."""
    pods = list(pods)
    return {n: sum((p.get("spec") or {}).get("nodeName") == n for p in pods) for n in nodes}


def per_label(pods: Iterable[dict], key: str, counted: Iterable[str]) -> dict[str, int]:
    """How many of `counted` (pod IPs, such as a Service's ready endpoints, or pod names,
    such as the answers of agnhost's /hostname) belong to pods of each value of the label
    `key`: {'stable': 3, 'canary': 1}. Values no pod has ('fail') are left out."""
    value = {}
    for p in pods:
        v = ((p.get("metadata") or {}).get("labels") or {}).get(key)
        value[p["metadata"]["name"]] = value[(p.get("status") or {}).get("podIP")] = v
    out: dict[str, int] = {}
    for c in counted:
        if value.get(c) is not None:
            out[value[c]] = out.get(value[c], 0) + 1
    return out


def fewest_ready_pods(moments: list[dict[str, dict]], count: int) -> int | None:
    """What a LiveView's states("Pod") say about "never fewer than `count` running": once
    `count` pods (not on their way out) existed, the fewest of them that were Ready at
    any moment; None when that many never existed (the view saw no such moment)."""
    seen = [sum(is_ready(p) for p in live) for live in
            ([p for p in m.values() if not is_leaving(p)] for m in moments)
            if len(live) >= count]
    return min(seen) if seen else None


# ------------------------------------------------------------------ Services
def ready_addresses(slices: Iterable[dict]) -> list[str]:
    """The addresses of the ready endpoints in a Service's EndpointSlices, sorted."""
    return sorted(a for s in slices for e in s.get("endpoints") or []
                  if (e.get("conditions") or {}).get("ready") for a in e.get("addresses") or [])


def port_chain(service: dict | None, index: int = 0) -> tuple | None:
    """(type, nodePort, port, targetPort, selector) of a Service's port: the chain a
    request follows; None when there is no Service."""
    if not service:
        return None
    spec = service.get("spec") or {}
    p = (spec.get("ports") or [{}])[index]
    return (spec.get("type"), p.get("nodePort"), p.get("port"), p.get("targetPort"),
            spec.get("selector"))


def service_port(service: dict | None, port: dict | int | str | None) -> dict | None:
    """The entry of a Service's ports that an Ingress backend's `port` ({number: 80} or
    {name: http}, or a bare number or name) names; None when the Service has no such
    port (the controller then answers 503)."""
    if isinstance(port, dict):
        port = port.get("number", port.get("name"))
    for p in ((service or {}).get("spec") or {}).get("ports") or []:
        if port is not None and port in (p.get("port"), p.get("name")):
            return p
    return None


def node_ports(service: dict | None) -> list[int]:
    """The node ports a Service holds (none, for a ClusterIP Service or a LoadBalancer
    with allocateLoadBalancerNodePorts: false)."""
    ports = ((service or {}).get("spec") or {}).get("ports") or []
    return [p["nodePort"] for p in ports if p.get("nodePort")]


def external_address(service: dict | None) -> str | None:
    """The EXTERNAL-IP (or host name) a load-balancer implementation wrote, if any."""
    ingress = (((service or {}).get("status") or {}).get("loadBalancer") or {}).get(
        "ingress") or []
    return (ingress[0].get("ip") or ingress[0].get("hostname")) if ingress else None


# ------------------------------------------------------------------ rollouts
# A "moment" is what a LiveView's states("ReplicaSet") returns: after each change, every
# ReplicaSet as it then was (name -> object).
def _ready(rs: dict) -> int:
    return (rs.get("status") or {}).get("readyReplicas", 0) or 0


def _have(rs: dict) -> int:
    return (rs.get("status") or {}).get("replicas", 0) or 0


def revisions(replicasets: Iterable[dict]) -> dict[int, str]:
    """{revision: ReplicaSet name} of a Deployment's ReplicaSets, from the revision
    annotation the Deployment controller writes (a template rolled out again moves to
    a new number, and keeps its ReplicaSet)."""
    out = {}
    for rs in replicasets:
        rev = ((rs.get("metadata") or {}).get("annotations") or {}).get(
            "deployment.kubernetes.io/revision")
        if rev and rev.isdigit():
            out[int(rev)] = rs["metadata"]["name"]
    return out


def rollout_complete(deployment: dict | None) -> bool:
    """What `kubectl rollout status` waits for: the Deployment's controller has seen its
    latest spec, and every wanted pod is updated to the current template and available,
    with no old pod left."""
    if not deployment:
        return False
    spec, st = deployment.get("spec") or {}, deployment.get("status") or {}
    want = spec.get("replicas", 1)
    return (st.get("observedGeneration", 0) >= (deployment.get("metadata") or {}).get(
        "generation", 0) and st.get("updatedReplicas", 0) == want
        and st.get("replicas", 0) == want and st.get("availableReplicas", 0) == want)


def versions_ready_together(moments: list[dict[str, dict]]) -> bool:
    """Was there a moment when pods of two ReplicaSets (old and new) were both ready?"""
    return any(sum(1 for rs in m.values() if _ready(rs) > 0) >= 2 for m in moments)


def never_fewer_ready(moments: list[dict[str, dict]], count: int) -> bool:
    """Once `count` pods existed, were at least `count` of them always ready?"""
    return all(sum(_ready(rs) for rs in m.values()) >= count for m in moments
               if sum(_have(rs) for rs in m.values()) >= count)


def versions_side_by_side(moments: list[dict[str, dict]]) -> bool:
    """Did pods of two ReplicaSets ever exist at the same time?"""
    return any(sum(1 for rs in m.values() if _have(rs) > 0) >= 2 for m in moments)


def moment_without_pods(moments: list[dict[str, dict]]) -> bool:
    """Was there a moment with no pod at all (the downtime of a Recreate)?"""
    return any(sum(_have(rs) for rs in m.values()) == 0 for m in moments)


def rollout_story(moments: list[dict[str, dict]], last: int = 8) -> str:
    """'ready/have per ReplicaSet: 4/4+0/1 -> ...' for the last few moments: the detail
    a check shows."""
    steps = []
    for m in moments[-last:]:
        steps.append("+".join(f"{_ready(rs)}/{_have(rs)}" for _, rs in sorted(m.items())))
    return "ready/pods per ReplicaSet: " + " → ".join(steps)


# ------------------------------------------------------------------ Ingress
def ingress_routes(ingress: dict | None) -> dict[tuple[str, str], str]:
    """{(host, path): service name} of an Ingress's rules ('' for a rule without host)."""
    out = {}
    for rule in ((ingress or {}).get("spec") or {}).get("rules") or []:
        for p in (rule.get("http") or {}).get("paths") or []:
            out[(rule.get("host", ""), p.get("path", ""))] = \
                ((p.get("backend") or {}).get("service") or {}).get("name")
    return out


def _ingress_path(ingress: dict | None, host: str, path: str) -> dict:
    """One path of an Ingress's rule for `host` ({} when absent)."""
    for rule in ((ingress or {}).get("spec") or {}).get("rules") or []:
        if rule.get("host", "") == host:
            for p in (rule.get("http") or {}).get("paths") or []:
                if p.get("path") == path:
                    return p
    return {}


def ingress_backend(ingress: dict | None, host: str, path: str) -> dict | None:
    """The Service backend ({name, port}) of one path of an Ingress, None when absent."""
    return (_ingress_path(ingress, host, path).get("backend") or {}).get("service")


def path_type(ingress: dict | None, host: str, path: str) -> str | None:
    """The pathType of one path of an Ingress (None when the path is not there)."""
    return _ingress_path(ingress, host, path).get("pathType")


# ------------------------------------------------------------------ Gateway API
def condition(obj: dict | None, kind: str) -> str | None:
    """The status ('True', 'False', 'Unknown') of a condition, None when absent."""
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c.get("status")
    return None


def condition_message(obj: dict | None, kind: str) -> str:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return f"{kind}={c.get('status')} ({c.get('reason')}: {c.get('message')})"
    return f"{kind}: no condition"


def route_accepted(route: dict | None) -> bool:
    """Has a controller accepted the route for (at least) one of its parent Gateways?"""
    parents = ((route or {}).get("status") or {}).get("parents") or []
    return any(c.get("type") == "Accepted" and c.get("status") == "True"
               for p in parents for c in p.get("conditions") or [])


def backend_weights(route: dict | None) -> dict[str, int]:
    """{service: weight} of an HTTPRoute's first rule (weight 1 when not given)."""
    rules = ((route or {}).get("spec") or {}).get("rules") or [{}]
    return {b["name"]: b.get("weight", 1) for b in rules[0].get("backendRefs") or []}


# ------------------------------------------------------------------ answers
def shares(answers: Iterable[str], prefixes: Iterable[str]) -> dict[str, int]:
    """How many answers (pod names) start with each prefix: {'shop-': 80, 'canary-': 20}."""
    counts = Counter(answers)
    return {p: sum(n for a, n in counts.items() if a.startswith(p)) for p in prefixes}
