"""Readiness of API objects as the API returns them (plain dicts), and the one wait for
a cluster's nodes to be Ready. Every layer above reads readiness from here: the
backends while they start a cluster, the chapters (kubelab._session.objects re-exports
the predicates) when they check one."""
from __future__ import annotations

import time
from typing import Callable

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._cluster.cluster import Cluster


def condition_true(obj: dict, kind: str) -> bool:
    """Whether the object's status holds condition `kind` ("Ready", "Available") as True."""
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conds)


def pod_ready(pod: dict) -> bool:
    return condition_true(pod, "Ready")


def node_ready(node: dict) -> bool:
    return condition_true(node, "Ready")


def has_pod_range(node: dict) -> bool:
    """The controller-manager has given the node its podCIDR."""
    return bool((node.get("spec") or {}).get("podCIDR"))


def wait_nodes(cluster: Cluster, count: int, log: Callable[[str], None],
               seconds: float = 300, what: str = N_("the nodes"),
               fix: str = N_("look at `kubectl describe nodes`; then `kubelab down`."),
               state: Callable[[dict], bool] = node_ready, label: str = N_("Ready")) -> list[str]:
    """Until `count` nodes are in `state` (Ready), watching the Node objects (no polling),
    for at most `seconds`; logs "nodes Ready: N of M" each time that changes. Returns
    those nodes' names. A watch that breaks (an API server that has just started may drop
    it) is listed and watched again, within the same deadline."""
    from kubernetes import client, watch
    from urllib3.exceptions import HTTPError

    core = client.CoreV1Api(cluster.api_client())
    deadline = time.monotonic() + seconds
    ready: dict[str, bool] = {}
    said = ""

    def enough() -> bool:
        nonlocal said
        line = tr("nodes {label}: {ready} of {count}", label=tr(label),
                  ready=sum(ready.values()), count=count)
        if line != said:
            log(line)
            said = line
        return sum(ready.values()) >= count

    while (left := deadline - time.monotonic()) > 0:
        try:
            listing = core.list_node(_request_timeout=min(30.0, left))
            ready = {n.metadata.name: state(core.api_client.sanitize_for_serialization(n))
                     for n in listing.items}
            if enough():
                return sorted(n for n, r in ready.items() if r)
            stream = watch.Watch()
            for event in stream.stream(core.list_node,
                                       resource_version=listing.metadata.resource_version,
                                       timeout_seconds=max(1, int(min(left, 60)))):
                raw = event.get("raw_object") or {}
                if event["type"] == "ERROR":        # e.g. 410 Gone: list again
                    break
                name = (raw.get("metadata") or {}).get("name", "")
                if event["type"] == "DELETED":
                    ready.pop(name, None)
                else:
                    ready[name] = state(raw)
                if enough():
                    stream.stop()
                    return sorted(n for n, r in ready.items() if r)
                if time.monotonic() >= deadline:
                    stream.stop()
                    break
        except (client.ApiException, HTTPError, OSError):
            # not answering yet, or the watch was dropped: try again shortly
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    raise KubelabError(tr("{what} were not {label} within {seconds:.0f} s ({said}).",
                          what=tr(what), label=tr(label), seconds=seconds, said=said), tr(fix))
