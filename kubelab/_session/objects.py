"""Questions about API objects as the API returns them (plain dicts), with no cluster and
no kubelab state: what lab.py, live.py and the chapters share, so none imports another
for them. Readiness itself is the cluster layer's (kubelab._cluster.readiness), which
the backends use too; it is re-exported here for the chapters."""
from __future__ import annotations

from kubelab._cluster.readiness import condition_true, node_ready, pod_ready

__all__ = ["condition_true", "leaving", "node_ready", "pod_ready"]


def leaving(obj: dict) -> bool:
    """Whether the object is on its way out (deleted, still finishing)."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))
