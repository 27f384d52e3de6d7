"""One interface over the ways to get a cluster: `up(backend)`, `down()`, `choose()`.

Every module in this package registers one Backend (base.py): a class whose hooks are
all the chapters and the CLI ask of a backend, so nothing above this package names one.
`up` gives a backend its own node count (`Backend.default_nodes`) unless asked for
another: the one place that default is decided. Auto-selection tries the
backends that have an `auto_rank`, in that order: kind, then minikube (both need a
running Docker engine), then the sandbox (needs nothing but the binaries kubelab fetches
or builds). k3s and existing clusters are used only when named: kubelab never touches a
cluster it did not create unless the user asks for it. local (a real node on this
machine, root) is also used only when named, because it adds interfaces and firewall
rules to the machine.
"""
from __future__ import annotations

import importlib
import pkgutil

from kubelab._backends.base import REGISTRY, Backend, Log, Options
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster, current

SHARED = {"base", "addons", "docker_nodes"}     # toolkits the backends share, not backends
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in SHARED:
        importlib.import_module(f"{__name__}.{_module.name}")

BACKENDS: dict[str, Backend] = dict(sorted(REGISTRY.items(),
                                           key=lambda kv: (kv[1].auto_rank or 99, kv[0])))
AUTO_ORDER = tuple(name for name, b in BACKENDS.items() if b.auto_rank is not None)

__all__ = ["BACKENDS", "AUTO_ORDER", "Backend", "Options", "choose", "up", "down",
           "check_nodes", "current", "for_cluster"]

_PLAIN = Backend()      # the hooks' defaults, for a cluster no backend made (a workshop login)


def for_cluster(cluster: Cluster) -> Backend:
    """The backend that made `cluster`; for a workshop login, a backend with every hook's
    default (tools run as they are, no node is stopped, nothing to tidy)."""
    return BACKENDS.get(cluster.backend, _PLAIN)


def choose(backend: str = "auto") -> tuple[str, str]:
    """The backend to use and why, e.g. ('sandbox', 'kind: kind is not installed; ...')."""
    if backend != "auto":
        if backend not in BACKENDS:
            raise KubelabError(tr("unknown backend {name!r}.", name=backend),
                               tr("use one of: auto, {names}.", names=", ".join(BACKENDS)))
        return backend, tr("named by you")
    reasons = []
    for name in AUTO_ORDER:
        ok, why = BACKENDS[name].available()
        if ok:
            return name, "; ".join(reasons + [f"{name}: {why}"])
        reasons.append(f"{name}: {why}")
    raise KubelabError(tr("no backend can start here: {reasons}", reasons="; ".join(reasons)),
                       tr("run `kubelab doctor`."))


def up(backend: str = "auto", log: Log = print, **options: object) -> Cluster:
    name, why = choose(backend)
    if options.get("nodes") is None:
        options["nodes"] = BACKENDS[name].default_nodes
    check_nodes(name, options.get("nodes"))
    running = current(required=False)
    if running is not None:
        if running.backend == name or backend == "auto":
            ok, _ = running.reachable()
            if ok and not BACKENDS[running.backend].stopped(running):
                log(tr("the lab is already up: backend {backend}, context {context}",
                       backend=running.backend, context=running.context))
                return running
            # down or part of it stopped: its backend brings it back on its data if it can
            revived = BACKENDS[running.backend].revive(running, Options(log=log))
            if revived is not None:
                log(tr("the lab is back: backend {backend}, context {context}",
                       backend=running.backend, context=running.context))
                return revived
        down(log=log)
    log(tr("backend: {name} ({why})", name=name, why=why))
    known = {k: v for k, v in options.items() if k in Options.__dataclass_fields__}
    return BACKENDS[name].up(Options(log=log, **known))


def check_nodes(name: str, nodes: object) -> None:
    """A node count the backend cannot make is refused before anything starts."""
    most = BACKENDS[name].max_nodes
    if not isinstance(nodes, int) or most is None or nodes <= most:
        return
    able = ", ".join(n for n, b in BACKENDS.items()
                     if n != name and (b.max_nodes is None or b.max_nodes >= nodes))
    if most == 1:
        raise KubelabError(tr("the {name} backend does not make nodes; --nodes {nodes} asks "
                              "for more than one.", name=name, nodes=nodes),
                           tr("leave --nodes out, or use a backend that makes them: {able}.",
                              able=able))
    raise KubelabError(tr("the {name} backend makes at most {most} nodes; --nodes {nodes} "
                          "asks for more.", name=name, most=most, nodes=nodes),
                       tr("use --nodes {most} or less, or a backend with more nodes: {able}.",
                          most=most, able=able))


def down(log: Log = print) -> None:
    cluster = current(required=False)
    if cluster is None:
        # an `up` that died before recording the lab: each backend removes what it left
        if [name for name, b in BACKENDS.items() if b.clean_interrupted(log)]:
            return
        log(tr("no lab cluster is recorded; nothing to stop"))
        return
    BACKENDS[cluster.backend].down(cluster, log)
    Cluster.forget()
    log(tr("stopped the {backend} lab", backend=cluster.backend) if cluster.created_by_kubelab
        else tr("forgot context {context} (the cluster itself was not kubelab's)",
                context=cluster.context))
