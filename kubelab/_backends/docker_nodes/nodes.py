"""Node containers on kubelab's Docker engine, their networks, and waiting for the nodes
to be Ready (kubelab._cluster.readiness: a watch of the Node objects, bounded)."""
from __future__ import annotations

from typing import Callable

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._cluster.readiness import wait_nodes
from kubelab._system.engine import answers, docker_env
from kubelab._system.run import run

Log = Callable[[str], None]


def wait_ready(cluster: Cluster, count: int, log: Log, seconds: int = 300,
               what: str = "the nodes") -> list[str]:
    """Until `count` nodes are Ready, logging "nodes Ready: N of M" as that changes."""
    return wait_nodes(cluster, count, log, seconds=seconds, what=what,
                      fix=tr("look at `kubectl describe nodes`; then `kubelab down`."))


def containers(label: str) -> dict[str, str]:
    """Containers carrying `label` ("key=value") on the engine, running or not: name ->
    state ("running", "exited")."""
    proc = run(["docker", "ps", "-a", "--filter", f"label={label}",
                "--format", "{{.Names}} {{.State}}"], 60, env=docker_env())
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)


def network_exists(name: str) -> bool:
    return run(["docker", "network", "inspect", name], 30, env=docker_env()).returncode == 0


def remove_network(name: str, log: Log, *, label: str = "", who: str) -> None:
    """Remove Docker network `name` when nothing uses it (and, with `label`, when that
    label names it: the tool made it for this cluster); `who` made it, for the message."""
    fmt = "{{len .Containers}}" if not label else \
        '{{index .Labels "' + label + '"}} {{len .Containers}}'
    proc = run(["docker", "network", "inspect", name, "--format", fmt], 30, env=docker_env())
    if proc.returncode != 0 or proc.stdout.split() != ([name, "0"] if label else ["0"]):
        return
    run(["docker", "network", "rm", name], 60, env=docker_env())
    log(tr("removed the Docker network {name!r} {who}", name=name, who=who))


def available(find_program: Callable[[], object]) -> tuple[bool, str]:
    """Whether a backend of Docker nodes can start here: its program (kind, minikube)
    is found, and a Docker engine answers; (usable?, why)."""
    try:
        find_program()
    except KubelabError as e:
        return False, e.problem.rstrip(".")
    ok, why = answers()
    return ok, (tr("Docker engine {version}", version=why) if ok else why)
