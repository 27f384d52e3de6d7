"""The one shape every backend has, and the registry that lists them (papermill's engine
registry is the model). A backend module ends with `register(Backend(...))`; the CLI,
`kubelab doctor`, auto-selection and the chapters' feature gates all read the registry,
so adding a backend is adding one module (and a README row)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from kubelab._cluster.cluster import Cluster

Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """What `kubelab up` may pass; each backend reads the fields it understands."""
    nodes: int | None = None
    port: int | None = None
    context: str | None = None
    kubeconfig: str | None = None
    log: Log = print


@dataclass(frozen=True)
class Backend:
    name: str
    summary: str                                  # one line for `kubelab up --help`
    features: frozenset[str]                      # see kubelab/features.py
    available: Callable[[], tuple[bool, str]]     # (usable here?, why)
    up: Callable[[Options], Cluster]
    down: Callable[[Cluster, Log], None]
    fix: str = ""                                 # how to make it available (doctor)
    auto_rank: int | None = None                  # order in auto-selection; None: named only
    max_nodes: int | None = None                  # most nodes `up` can make; None: no limit


REGISTRY: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    if backend.name in REGISTRY:
        raise ValueError(f"backend {backend.name!r} registered twice")
    REGISTRY[backend.name] = backend
    return backend
