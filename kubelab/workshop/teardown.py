"""`reset` (empty a learner's namespaces), `remove` (one learner's objects, found by their
label) and `delete` (exactly what `create` and `add` made, found by the workshop's label)."""
from __future__ import annotations

import time
from collections import Counter

from kubelab._base.contract import LEARNER_LABEL, WORKSHOP_LABEL
from kubelab._cluster.cluster import Cluster
from kubelab.workshop.learners import Learner, check_workshop_name
from kubelab.workshop.roster import existing_learners

# Every kind `create` makes that outlives a namespace (the rest goes with the namespaces).
# (RoleBindings: a learner's binding in the Ingress controller's namespace.)
DELETED_KINDS = ("namespaces,clusterroles,clusterrolebindings,rolebindings,"
                 "validatingadmissionpolicybindings,validatingadmissionpolicies")
# What a learner has outside their namespaces: their read-only ClusterRoles and bindings.
LEARNER_KINDS = "namespaces,clusterroles,clusterrolebindings,rolebindings"


def reset(cluster: Cluster, learners: list[Learner], log=print,  # noqa: ANN001
          timeout: float = 90) -> None:
    """Empty each learner's namespaces of what chapters made, as a chapter's first cell
    does, keeping the workshop's own objects (quota, limits, Role, ServiceAccount,
    node-port reservations, which are made again if a chapter had released one) and their
    progress record."""
    from kubelab._session.reads import Reads
    from kubelab._session.scope import empty_learner_namespaces
    for learner in learners:
        reads = Reads(cluster, learner.namespace)
        empty_learner_namespaces(cluster, reads, learner.namespaces, timeout)
        log(f"{learner.name:<20} emptied {', '.join(learner.namespaces)}")


def remove(cluster: Cluster, workshop: str, names: list[str], log=print) -> list[str]:  # noqa: ANN001
    """Delete these learners' objects, and only theirs (selected by workshop and learner
    label). Their slot and ports are not given to anyone later. Names not (or no longer) in
    the workshop are skipped, so running it twice is safe. The learners removed."""
    check_workshop_name(workshop)
    have = existing_learners(cluster, workshop)
    removed = []
    for name in names:
        selector = f"{WORKSHOP_LABEL}={workshop},{LEARNER_LABEL}={name}"
        out = cluster.kubectl(["delete", LEARNER_KINDS, "-l", selector, "--all-namespaces",
                               "--ignore-not-found",
                               "--wait=true", "--timeout=300s", "-o", "name"],
                              timeout=330).stdout
        if name in have:
            removed.append(name)
        deleted = [line for line in out.splitlines() if "/" in line]
        log(f"{name:<20} " + (f"deleted {', '.join(deleted)}" if deleted
                              else f"nothing to remove (nothing labelled {selector})"))
    return removed


def busy_namespaces(cluster: Cluster, workshop: str) -> list[str]:
    """The workshop's namespaces that hold pods now (learners at work)."""
    out = cluster.kubectl(["get", "namespaces", "-l", f"{WORKSHOP_LABEL}={workshop}",
                           "-o", "jsonpath={.items[*].metadata.name}"], timeout=120).stdout
    mine = set(out.split())
    if not mine:
        return []
    pods = cluster.kubectl(["get", "pods", "--all-namespaces", "-o",
                            "jsonpath={.items[*].metadata.namespace}"], timeout=120).stdout
    return sorted(set(pods.split()) & mine)


def delete(cluster: Cluster, workshop: str, log=print) -> None:  # noqa: ANN001
    """Delete everything labelled with the workshop, and wait until its namespaces are
    gone: the namespace controller empties them one by one, about a second each on a
    small cluster, so the wait grows with the class (hundreds of learners: minutes)."""
    selector = f"{WORKSHOP_LABEL}={workshop}"
    out = cluster.kubectl(["delete", DELETED_KINDS, "-l", selector, "--all-namespaces",
                           "--ignore-not-found",
                           "--wait=false", "-o", "name"], timeout=330).stdout
    deleted = [line for line in out.splitlines() if "/" in line]
    if not deleted:
        log(f"nothing labelled {selector}")
        return
    kinds = Counter(line.split("/")[0].split(".")[0] for line in deleted)
    log("deleted " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
    namespaces = kinds.get("namespace", 0)
    start = time.monotonic()
    deadline = start + 60 + 2 * namespaces
    while True:
        left = cluster.kubectl(["get", "namespaces", "-l", selector, "-o", "name"],
                               timeout=120).stdout.split()
        if not left:
            log(f"{namespaces} namespaces gone in {time.monotonic() - start:.0f} s")
            return
        if time.monotonic() >= deadline:
            log(f"{len(left)} namespaces are still being emptied by the cluster "
                "(Terminating); a new workshop of the same name must wait for them")
            return
        time.sleep(2)
