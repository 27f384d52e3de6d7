"""What each backend can do, so a cell that needs running containers (or a specific tool)
says why it is skipped instead of failing or faking its output.

One mechanism for every chapter: `if lab.supports("containers"): ...` or
`lab.skip_unless("containers", "kubectl logs")`.
"""
from __future__ import annotations

import sys

FEATURES = {
    "containers": "containers really running in pods (the sandbox simulates its nodes)",
    "minikube": "a cluster made by minikube",
    "k3s": "a K3s install",
    "kind": "a cluster made by kind",
    "simulated-nodes": "nodes simulated by kwok (a real API, no container runs)",
    "host-network": "the node's addresses reachable from where the notebook runs",
    "cluster-admin": "rights over the whole cluster (a workshop login has rights in its "
                     "own namespaces only)",
}

BACKEND_FEATURES = {
    "sandbox": {"simulated-nodes", "cluster-admin"},
    "local": {"containers", "cluster-admin", "host-network"},
    # on Linux the kind network is this machine's own bridge: node addresses answer here
    # (the kind backend drops the feature when it cannot route its LoadBalancer range)
    "kind": {"containers", "kind", "cluster-admin"}
    | ({"host-network"} if sys.platform == "linux" else set()),
    "minikube": {"containers", "minikube", "cluster-admin"},
    "k3s": {"containers", "k3s", "cluster-admin"},
    "existing": {"containers", "cluster-admin"},
    # a learner's login to a shared cluster: what its nodes are decides the rest
    "workshop-sandbox": {"simulated-nodes"},
    "workshop-containers": {"containers"},
}


def supported(backend: str, feature: str) -> bool:
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
    return feature in BACKEND_FEATURES.get(backend, set())


def skip_message(backend: str, feature: str, what: str) -> str:
    where = [b for b, f in BACKEND_FEATURES.items() if feature in f
             and not b.startswith("workshop")]
    backend = backend.replace("workshop-", "workshop on a ")
    return (f"⏭ skipped on the {backend} backend: {what} needs {FEATURES[feature]}. "
            f"It runs on: {', '.join(where)}.")
