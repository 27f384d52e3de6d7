"""Node containers on kubelab's Docker engine, their networks, and waiting for the nodes
to be Ready (kubelab._cluster.readiness: a watch of the Node objects, bounded)."""
from __future__ import annotations

import subprocess
from typing import Callable

from kubelab._cluster.cluster import Cluster
from kubelab._cluster.readiness import wait_nodes
from kubelab._system.engine import docker_env

Log = Callable[[str], None]


def wait_ready(cluster: Cluster, count: int, log: Log, seconds: int = 300,
               what: str = "the nodes") -> list[str]:
    """Until `count` nodes are Ready, logging "nodes Ready: N of M" as that changes."""
    return wait_nodes(cluster, count, log, seconds=seconds, what=what,
                      fix="look at `kubectl describe nodes`; then `kubelab down`.")


def containers(label: str) -> dict[str, str]:
    """Containers carrying `label` ("key=value") on the engine, running or not: name ->
    state ("running", "exited")."""
    proc = subprocess.run(["docker", "ps", "-a", "--filter", f"label={label}",
                           "--format", "{{.Names}} {{.State}}"],
                          capture_output=True, text=True, env=docker_env(), timeout=60)
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)


def network_exists(name: str) -> bool:
    return subprocess.run(["docker", "network", "inspect", name], capture_output=True,
                          env=docker_env(), timeout=30).returncode == 0


def remove_network(name: str, log: Log, *, label: str = "", who: str) -> None:
    """Remove Docker network `name` when nothing uses it (and, with `label`, when that
    label names it: the tool made it for this cluster); `who` made it, for the message."""
    fmt = "{{len .Containers}}" if not label else \
        '{{index .Labels "' + label + '"}} {{len .Containers}}'
    proc = subprocess.run(["docker", "network", "inspect", name, "--format", fmt],
                          capture_output=True, text=True, env=docker_env(), timeout=30)
    if proc.returncode != 0 or proc.stdout.split() != ([name, "0"] if label else ["0"]):
        return
    subprocess.run(["docker", "network", "rm", name], capture_output=True,
                   env=docker_env(), timeout=60)
    log(f"removed the Docker network {name!r} {who}")
