"""Who takes part: each learner's names on the cluster (namespaces, ClusterRole, labels),
checked as DNS labels, and their own block of fixed nodePorts."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kubelab._base.contract import (LEARNER_LABEL, WORKSHOP_LABEL, learner_namespace,
                                    learner_namespaces)
from kubelab._base.errors import UsageError


@dataclass(frozen=True)
class Learner:
    workshop: str
    name: str

    @property
    def namespace(self) -> str:
        return learner_namespace(self.workshop, self.name)

    @property
    def namespaces(self) -> list[str]:
        return learner_namespaces(self.namespace)

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
