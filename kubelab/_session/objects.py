"""Questions about API objects as the API returns them (plain dicts), with no cluster and
no kubelab state: what lab.py, live.py and the chapters share, so none imports another
for them."""
from __future__ import annotations


def condition_true(obj: dict, kind: str) -> bool:
    """Whether the object's status holds condition `kind` ("Ready", "Available") as True."""
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conds)


def pod_ready(pod: dict) -> bool:
    return condition_true(pod, "Ready")


def node_ready(node: dict) -> bool:
    return condition_true(node, "Ready")


def leaving(obj: dict) -> bool:
    """Whether the object is on its way out (deleted, still finishing)."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))
