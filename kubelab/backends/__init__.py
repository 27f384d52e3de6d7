"""One interface over the ways to get a cluster: `up(backend)`, `down()`, `choose()`.

Auto-selection tries, in order: kind, then minikube (both need a running Docker engine),
then the sandbox (needs nothing but the binaries kubelab fetches or builds). k3s and
existing clusters are used only when named: kubelab never touches a cluster it did not
create unless the user asks for it. local (a real node on this machine, root) is also
used only when named, because it adds interfaces and firewall rules to the machine.
"""
from __future__ import annotations

from types import ModuleType

from ..cluster import Cluster, current
from ..errors import KubelabError
from . import existing, k3s, kind, local, minikube, sandbox

BACKENDS: dict[str, ModuleType] = {"sandbox": sandbox, "local": local, "kind": kind,
                                   "minikube": minikube, "k3s": k3s, "existing": existing}
AUTO_ORDER = ("kind", "minikube", "sandbox")


def choose(backend: str = "auto") -> tuple[str, str]:
    """The backend to use and why, e.g. ('sandbox', 'kind: kind is not installed; ...')."""
    if backend != "auto":
        if backend not in BACKENDS:
            raise KubelabError(f"unknown backend {backend!r}.",
                               f"use one of: auto, {', '.join(BACKENDS)}.")
        return backend, "named by you"
    reasons = []
    for name in AUTO_ORDER:
        if name == "sandbox":
            return name, "; ".join(reasons + ["sandbox: needs no Docker"])
        ok, why = BACKENDS[name].available()
        if ok:
            return name, "; ".join(reasons + [f"{name}: {why}"])
        reasons.append(f"{name}: {why}")
    raise AssertionError("unreachable")


def up(backend: str = "auto", log=print, **options: object) -> Cluster:  # noqa: ANN001
    name, why = choose(backend)
    running = current(required=False)
    if running is not None:
        if running.backend == name or backend == "auto":
            ok, _ = running.reachable()
            if ok:
                log(f"the lab is already up: backend {running.backend}, "
                    f"context {running.context}")
                return running
        down(log=log)
    log(f"backend: {name} ({why})")
    module = BACKENDS[name]
    if name == "sandbox":
        return module.up(log=log, **{k: v for k, v in options.items() if k in ("nodes", "port")})
    if name == "local":
        return module.up(log=log, port=options.get("port"))
    if name == "kind":
        return module.up(nodes=options.get("nodes") or 3, log=log)
    return module.up(**options)


def down(log=print) -> None:  # noqa: ANN001
    cluster = current(required=False)
    if cluster is None:
        if local.node_state():      # an `up` that died before recording the lab
            local.down(None)
            log("removed what an interrupted local node had left")
            return
        log("no lab cluster is recorded; nothing to stop")
        return
    if cluster.backend == "kind":
        kind.down(cluster, log=log)
    else:
        BACKENDS[cluster.backend].down(cluster)
    Cluster.forget()
    log(f"stopped the {cluster.backend} lab" if cluster.created_by_kubelab
        else f"forgot context {cluster.context} (the cluster itself was not kubelab's)")
