"""What each backend can do, so a cell that needs running containers (or a specific tool)
says why it is skipped instead of failing or faking its output.

One mechanism for every chapter: `if lab.supports("containers"): ...` or
`lab.skip_unless("containers", "kubectl logs")`.
"""
from __future__ import annotations

from kubelab._base.i18n import N_, tr

FEATURES = {
    "containers": N_("containers really running in pods (the sandbox simulates its nodes)"),
    "minikube": N_("a cluster made by minikube"),
    "node-join": N_("a node that joined with a bootstrap token (minikube, or the local "
                    "backend with --nodes 2 or 3)"),
    "k3s": N_("a K3s install"),
    "kind": N_("a cluster made by kind"),
    "simulated-nodes": N_("nodes simulated by kwok (a real API, no container runs)"),
    "host-network": N_("the node's addresses reachable from where the notebook runs"),
    "cluster-admin": N_("rights over the whole cluster (a workshop login has rights in its "
                        "own namespaces only)"),
}

# A learner's login to a shared cluster: what its nodes are decides the rest. Whether a
# lab is a learner's is for kubelab.scope to say; it names one of these.
WORKSHOP_FEATURES = {
    "workshop-sandbox": {"simulated-nodes"},
    "workshop-containers": {"containers"},
}


def learner_backend(simulated: bool) -> str:
    """The features a workshop learner has: those of a shared cluster whose nodes kwok
    simulates, or whose nodes run containers."""
    return "workshop-sandbox" if simulated else "workshop-containers"


def backend_features() -> dict[str, set[str]]:
    """Each backend's features as it declares them (kubelab/backends), plus workshops'."""
    from kubelab._backends import BACKENDS
    return {**{name: set(b.features) for name, b in BACKENDS.items()}, **WORKSHOP_FEATURES}


def supported(backend: str, feature: str) -> bool:
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
    return feature in backend_features().get(backend, set())


def skip_message(backend: str, feature: str, what: str) -> str:
    where = [b for b, f in backend_features().items() if feature in f
             and not b.startswith("workshop")]
    if backend.startswith("workshop-"):
        backend = tr("workshop on a {backend}", backend=backend[len("workshop-"):])
    # "⏭ skipped" stays as it is in every language: the CI report counts it
    return tr("⏭ skipped on the {backend} backend: {what} needs {needs}. It runs on: "
              "{where}.", backend=backend, what=what, needs=tr(FEATURES[feature]),
              where=", ".join(where))
