"""What kubelab writes on a cluster and reads back: labels, annotations and object names.

One side writes each of these and another reads it (`kubelab workshop create` writes a
learner's namespaces, the chapters' Scope reads them; a learner's checks write the
progress record, `kubelab workshop progress` reads it), so they are spelt here once and
both sides import them. Imports nothing of kubelab.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

# ------------------------------------------------------------------ a lab of one's own
LESSON_LABEL = "kubelab.dev/lesson"            # on a chapter's namespaces: the chapter

# ------------------------------------------------------------------ workshops
WORKSHOP_LABEL = "kubelab.dev/workshop"        # on everything a workshop made: its name
LEARNER_LABEL = "kubelab.dev/learner"          # on a learner's objects: the learner's name
NODE_PORT_ANNOTATION = "kubelab.dev/node-port-base"   # before issue 21: the first of
#                                                       two consecutive fixed nodePorts
NODE_PORTS_ANNOTATION = "kubelab.dev/node-ports"      # on a learner's namespaces: their
#                                                       fixed nodePorts, "31000,31007"
SLOT_ANNOTATION = "kubelab.dev/slot"           # on a learner's namespaces: their number in
#                                                the workshop, never given to another
# A learner's fixed nodePorts are held, until a chapter uses one, by NodePort Services of
# the workshop's own in their first namespace (kubelab-node-port-0, -1), so the
# apiserver's allocator gives the port to nobody else. The annotation says which.
RESERVATION_ANNOTATION = "kubelab.dev/reserves-node-port"   # "0" or "1"
# On the workshop's ValidatingAdmissionPolicy (cluster-wide, one per workshop, out of the
# learners' reach): the next slot, and every nodePort ever issued (never issued twice).
NEXT_SLOT_ANNOTATION = "kubelab.dev/next-slot"
ISSUED_PORTS_ANNOTATION = "kubelab.dev/issued-node-ports"   # "30000-30009,30012"
# In a learner's kubeconfig, an extension of its context: {"workshop": WS, "learner": NAME},
# so a notebook can name the fix when the login has expired.
LOGIN_EXTENSION = "kubelab.dev/workshop-login"
SECOND_NAMESPACE_SUFFIX = "-b"                 # a learner's second namespace: NAMESPACE-b
LEARNER_SERVICE_ACCOUNT = "learner"            # in the learner's first namespace: the login
LEARNER_ROLE = "kubelab-learner"               # Role and RoleBinding in both namespaces

# The ConfigMap in a learner's first namespace that their checks keep (one key per
# chapter: a JSON object, check description -> passed) and the instructor reads.
PROGRESS_CONFIGMAP = "kubelab-progress"


def learner_namespace(workshop: str, learner: str) -> str:
    """A learner's first namespace (the one their login defaults to)."""
    return f"{workshop}-{learner}"


def learner_namespaces(namespace: str) -> list[str]:
    """A learner's two namespaces, from the first."""
    return [namespace, f"{namespace}{SECOND_NAMESPACE_SUFFIX}"]


def node_port_reservation(which: int) -> str:
    """The Service that holds a learner's `which`-th fixed nodePort until a chapter uses it."""
    return f"kubelab-node-port-{which}"

# The Ingress controllers' Services, by name (Traefik's chart and K3s name it traefik,
# ingress-nginx's manifests ingress-nginx-controller) and by label: chapter 07 sends
# requests through it, and a workshop lets its learners read it by name.
CONTROLLER_SERVICES = ["traefik", "ingress-nginx-controller"]
CONTROLLER_SELECTOR = "app.kubernetes.io/name in (traefik,ingress-nginx)"


@dataclass
class ProgressRecord:
    """One chapter's entry in a learner's progress ConfigMap (key: the chapter), written by
    the learner's login at each check and read by the instructor's board. `failing` is the
    check that failed last, `since` when it first failed in a row (ISO times, UTC)."""
    checks: dict[str, bool] = field(default_factory=dict)
    at: str = ""
    failing: str = ""
    detail: str = ""
    since: str = ""

    def dumps(self) -> str:
        return json.dumps({"checks": self.checks, "at": self.at, "failing": self.failing,
                           "detail": self.detail, "since": self.since}, ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str | None) -> "ProgressRecord":
        """Also reads the earlier form (a plain {check: passed}); garbage reads as empty,
        since a learner's login can write anything there."""
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        if "checks" not in data:
            return cls(checks={str(k): bool(v) for k, v in data.items()})
        checks = data.get("checks") if isinstance(data.get("checks"), dict) else {}
        return cls(checks={str(k): bool(v) for k, v in checks.items()},
                   **{k: str(data.get(k) or "") for k in ("at", "failing", "detail", "since")})
