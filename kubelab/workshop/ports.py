"""Each learner's slot and two fixed nodePorts, for any number of learners, read from the
cluster and never issued twice.

The chapters where the port number is the lesson ask for two fixed nodePorts. Here they
are picked from the cluster's NodePort range, lowest first, leaving out every nodePort any
Service in the cluster holds (read as the instructor, across all namespaces) and every
port this workshop ever issued (its ledger). The ledger is two annotations on the
workshop's ValidatingAdmissionPolicy (cluster-scoped, out of the learners' reach, deleted
with the workshop): the next slot, and the ports issued so far. It is updated with the
policy's resourceVersion, so two `add`s at once cannot issue the same port or slot.

Once picked, each port is held by a NodePort Service of the workshop's own in the
learner's first namespace (scope.reservation_manifest): the apiserver's allocator then
gives it to nobody, neither to another learner's fixed port nor to an automatically
assigned one. The chapter's scope releases it right before the cell that uses it
(Scope.node_port), and emptying the namespaces (a chapter's first cell, `reset`) holds it
again. The first 43 learners' ports fall in the band the apiserver keeps for fixed ports
(the bottom of the range, 30000-30085 by default), which automatic assignment takes from
only when the rest is full; later ones lie in the rest of the range, where only the
reservation protects them.
"""
from __future__ import annotations

import json
import re

from kubelab._base.contract import ISSUED_PORTS_ANNOTATION, NEXT_SLOT_ANNOTATION
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab.workshop.manifests import policy_name

DEFAULT_RANGE = (30000, 32767)
PORTS_PER_LEARNER = 2
_RANGE = re.compile(r"range of valid ports is (\d+)-(\d+)")


def node_port_range(cluster: Cluster) -> tuple[int, int]:
    """The apiserver's --service-node-port-range, as its validation of a port outside it
    tells (a server-side dry run: nothing is stored)."""
    probe = {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "kubelab-port-range-probe"},
             "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 1}]}}
    proc = cluster.kubectl(["create", "--dry-run=server", "-n", "default", "-f", "-"],
                           input=json.dumps(probe), check=False)
    m = _RANGE.search(proc.stderr)
    return (int(m.group(1)), int(m.group(2))) if m else DEFAULT_RANGE


def allocated_node_ports(cluster: Cluster) -> set[int]:
    """Every nodePort a Service in the cluster holds now."""
    out = cluster.kubectl(["get", "services", "--all-namespaces", "-o",
                           "jsonpath={.items[*].spec.ports[*].nodePort}"], timeout=120).stdout
    return {int(p) for p in out.split()}


def format_ports(ports: set[int]) -> str:
    """30000,30001,30002,30005 -> "30000-30002,30005"."""
    runs: list[list[int]] = []
    for p in sorted(ports):
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in runs)


def parse_ports(text: str) -> set[int]:
    ports: set[int] = set()
    for part in filter(None, (text or "").split(",")):
        a, _, b = part.partition("-")
        ports.update(range(int(a), int(b or a) + 1))
    return ports


def ledger(cluster: Cluster, workshop: str) -> tuple[int, set[int]]:
    """(next slot, ports issued so far) of a workshop."""
    from kubernetes import client
    api = client.AdmissionregistrationV1Api(cluster.api_client())
    notes = api.read_validating_admission_policy(policy_name(workshop)).metadata.annotations
    notes = notes or {}
    return int(notes.get(NEXT_SLOT_ANNOTATION, "0")), parse_ports(
        notes.get(ISSUED_PORTS_ANNOTATION, ""))


def issue(cluster: Cluster, workshop: str, learners: int,
          ports_each: int = PORTS_PER_LEARNER) -> list[tuple[int, list[int]]]:
    """Slots and fixed nodePorts for `learners` new learners, recorded in the ledger before
    they are returned: (slot, ports) each. A port is never issued twice, even after the
    learner holding it was removed."""
    from kubernetes import client
    api = client.AdmissionregistrationV1Api(cluster.api_client())
    low, high = node_port_range(cluster)
    for _ in range(10):
        policy = api.read_validating_admission_policy(policy_name(workshop))
        notes = policy.metadata.annotations or {}
        slot = int(notes.get(NEXT_SLOT_ANNOTATION, "0"))
        issued = parse_ports(notes.get(ISSUED_PORTS_ANNOTATION, ""))
        taken = issued | allocated_node_ports(cluster)
        free = (p for p in range(low, high + 1) if p not in taken)
        picked = [p for p, _ in zip(free, range(learners * ports_each))]
        if len(picked) < learners * ports_each:
            raise KubelabError(
                tr("the cluster's NodePort range {low}-{high} has {free} free ports, and "
                   "{learners} learners need {need}.", low=low, high=high, free=len(picked),
                   learners=learners, need=learners * ports_each),
                tr("remove learners who left (`kubelab workshop remove`), or widen the "
                   "apiserver's --service-node-port-range."))
        notes[NEXT_SLOT_ANNOTATION] = str(slot + learners)
        notes[ISSUED_PORTS_ANNOTATION] = format_ports(issued | set(picked))
        policy.metadata.annotations = notes
        try:
            api.replace_validating_admission_policy(policy_name(workshop), policy)
        except client.ApiException as e:
            if e.status == 409:          # another `add` wrote the ledger first: read again
                continue
            raise
        return [(slot + i, picked[i * ports_each:(i + 1) * ports_each])
                for i in range(learners)]
    raise KubelabError(tr("the workshop's ledger kept changing while ports were issued."),
                       tr("run the command again."))
