"""The one shape every backend has, and the registry that lists them.

A backend is a subclass of `Backend` (repo2docker's buildpacks are the model): class
attributes say what it is (name, summary, features, node counts), methods what it does.
`available`, `up` and `down` every backend writes; the other hooks have safe defaults, so
a backend overrides only what it does differently. A backend module ends with
`register(TheBackend())`; the CLI, `kubelab doctor`, auto-selection and the chapters
(features, `lab.tool`, `lab.node_stop`, cleanup) all go through the registry, so adding a
backend is adding one module (and a README row), and no chapter code names a backend.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, ClassVar

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
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


class Backend:
    """A way to get a cluster. Subclasses set the class attributes and write `available`,
    `up` and `down`; every other hook may be left as it is."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""                   # one line for `kubelab up --help`
    features: ClassVar[frozenset[str]] = frozenset()   # see kubelab/_session/features.py
    fix: ClassVar[str] = ""                       # how to make it available (doctor)
    auto_rank: ClassVar[int | None] = None        # order in auto-selection; None: named only
    default_nodes: ClassVar[int | None] = None    # nodes `up` makes unless asked; None: n/a
    max_nodes: ClassVar[int | None] = None        # most nodes `up` can make; None: no limit

    # ------------------------------------------------------------------ every backend
    def available(self) -> tuple[bool, str]:
        """(usable here?, why): a cheap check, for auto-selection and doctor."""
        raise NotImplementedError

    def up(self, options: Options) -> Cluster:
        """Make (or adopt) the cluster, record it (`Cluster.save`) and return it.
        `options.nodes` is already the count to make (`default_nodes` when not asked)."""
        raise NotImplementedError

    def down(self, cluster: Cluster, log: Log) -> None:
        """Stop what `up` made; a cluster kubelab did not create is left running."""
        raise NotImplementedError

    # ------------------------------------------------------------------ hooks with defaults
    def stopped(self, cluster: Cluster) -> list[str]:
        """What of a recorded lab of this backend is not running as `up` left it (a
        crashed component, say); `up` then revives it, even if its API server answers."""
        return []

    def revive(self, cluster: Cluster, options: Options) -> Cluster | None:
        """A recorded lab of this backend that does not answer, or has something
        `stopped`: bring it back as it was, its data kept, and return it; None when it
        cannot be (after saying why in one line): `up` then removes it and makes a new one."""
        return None

    def clean_interrupted(self, log: Log) -> bool:
        """With no lab recorded: remove what an `up` that died before recording the lab
        left behind, and say so. True when there was something to remove."""
        return False

    def tool_argv(self, argv: list[str], cluster: Cluster) -> tuple[list[str], dict[str, str] | None]:
        """How `lab.tool` runs a command a chapter shows (this backend's own CLI, docker):
        the argv to run and its environment (None: kubelab's own). Raises KubelabError to
        refuse a command that would touch what kubelab did not make. By default `docker`
        talks to the engine kubelab uses, and anything else runs as it is."""
        if argv[:1] == ["docker"]:
            from kubelab._system.engine import docker_env
            return argv, {**os.environ, **docker_env()}
        return argv, None

    def after_tool(self, argv: list[str], cluster: Cluster, log: Log) -> None:
        """After a command `tool_argv` prepared ran to its end (argv as it ran)."""

    def node_command(self, node: str, start: bool) -> tuple[str, str]:
        """What a learner would type to stop (or start) `node` here, and the feature a
        chapter needs for kubelab to do it: by default the kubelet on that node, which
        a backend whose nodes joined (feature node-join) stops in `node_stop`."""
        return f"systemctl {'start' if start else 'stop'} kubelet        # on {node}", "node-join"

    def node_stop(self, cluster: Cluster, node: str, log: Log) -> None:
        """Stop node `node` the way `node_command` shows (chapter 02's node going down)."""
        raise _no_node_power(self.name, "stop")

    def node_start(self, cluster: Cluster, node: str, log: Log) -> None:
        """Start again a node `node_stop` stopped."""
        raise _no_node_power(self.name, "start")

    def node_containers(self) -> dict[str, str]:
        """The cluster's node containers on the Docker engine: name -> state ("running",
        "exited"), as `docker ps -a` shows them; empty where nodes are no containers."""
        return {}

    def after_chapter(self, cluster: Cluster, say: Log) -> None:
        """After a chapter's cleanup in a lab of one's own: remove what the chapter's own
        commands of this backend made (profiles, nodes), keeping what `up` made."""

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


def _no_node_power(backend: str, verb: str) -> KubelabError:
    able = ", ".join(b.name for b in REGISTRY.values()
                     if type(b).node_stop is not Backend.node_stop)
    problem = (tr("the {backend} backend cannot start a node.", backend=backend)
               if verb == "start" else
               tr("the {backend} backend cannot stop a node.", backend=backend))
    return KubelabError(problem, tr("use a backend whose nodes can be stopped: {able}.",
                                    able=able or tr("none here")))


REGISTRY: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    if not backend.name:
        raise ValueError(f"{type(backend).__name__} has no name")
    if backend.name in REGISTRY:
        raise ValueError(f"backend {backend.name!r} registered twice")
    REGISTRY[backend.name] = backend
    return backend
