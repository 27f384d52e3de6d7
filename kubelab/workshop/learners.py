"""Who takes part: each learner's names on the cluster (namespaces, ClusterRole, labels),
checked as DNS labels. Their fixed nodePorts come from the cluster (ports.py)."""
from __future__ import annotations

import re
from collections.abc import Iterable
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
NUMBERED = re.compile(r"^learner(\d+)$")


def check_workshop_name(workshop: str) -> None:
    if not DNS_LABEL.match(workshop) or len(workshop) > 20:
        raise UsageError(f"workshop name {workshop!r} is not a short DNS label.",
                         "use lowercase letters, digits and '-', at most 20 characters.")


def check_names(chosen: list[str]) -> None:
    bad = [n for n in chosen if not DNS_LABEL.match(n) or len(n) > 30]
    if bad:
        raise UsageError(f"learner names must be DNS labels: {', '.join(bad)}.",
                         "use lowercase letters, digits and '-' (e.g. 'kim-minji').")
    if len(set(chosen)) != len(chosen):
        raise UsageError("learner names repeat.", "give each learner a distinct name.")


def numbered(count: int, taken: Iterable[str] = ()) -> list[str]:
    """`count` names learnerNN after the highest such name in `taken`."""
    start = max((int(m.group(1)) for n in taken if (m := NUMBERED.match(n))), default=0)
    return [f"learner{i:02d}" for i in range(start + 1, start + 1 + count)]


def learners_from(names: list[str] | None, count: int | None, workshop: str,
                  taken: Iterable[str] = ()) -> list[Learner]:
    """The learners named, or `count` numbered ones (after those in `taken`, the learners
    a workshop already has). Any number: there is no limit on a class's size."""
    check_workshop_name(workshop)
    if names:
        chosen = [n.strip().lower() for n in names if n.strip()]
    elif count:
        chosen = numbered(count, taken)
    else:
        raise UsageError("no learners given.", "pass --learners a,b,c or --count N.")
    check_names(chosen)
    return [Learner(workshop, n) for n in chosen]
