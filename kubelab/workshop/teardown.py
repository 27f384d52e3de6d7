"""`delete`: remove exactly what `create` made, found by the workshop's label."""
from __future__ import annotations

from kubelab._base.contract import WORKSHOP_LABEL
from kubelab._cluster.cluster import Cluster

# Every kind `create` makes that outlives a namespace (the rest goes with the namespaces).
DELETED_KINDS = ("namespaces,clusterroles,clusterrolebindings,"
                 "validatingadmissionpolicybindings,validatingadmissionpolicies")


def delete(cluster: Cluster, workshop: str, log=print) -> None:  # noqa: ANN001
    selector = f"{WORKSHOP_LABEL}={workshop}"
    out = cluster.kubectl(["delete", DELETED_KINDS, "-l", selector, "--ignore-not-found",
                           "--wait=true", "--timeout=300s"], timeout=330).stdout
    log(out.strip() or f"nothing labelled {selector}")

