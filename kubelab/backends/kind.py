"""kind: each node is a Docker container. Exercised on machines with Docker; here the
command lines and the cluster config are what the tests check."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from .. import versions
from ..cluster import Cluster
from ..errors import KubelabError
from ..paths import lab_kubeconfig, state_dir
from .docker_check import docker_ready

NAME = "kubelab"
CONTEXT = f"kind-{NAME}"
# Host ports on 127.0.0.1 for the Ingress controller (80/443 in the node) and one
# NodePort the services chapter uses. Unprivileged host ports: no root, fewer clashes.
PORT_MAPPINGS = [(80, 8080), (443, 8443), (30080, 30080)]


def config(nodes: int = 1) -> dict:
    """A kind Cluster config: the control plane carries `ingress-ready=true` and the port
    mappings kind's Ingress guide uses; extra nodes are workers."""
    control_plane = {
        "role": "control-plane",
        "kubeadmConfigPatches": [
            "kind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n"
            "    node-labels: \"ingress-ready=true\"\n"],
        "extraPortMappings": [{"containerPort": c, "hostPort": h, "listenAddress": "127.0.0.1",
                               "protocol": "TCP"} for c, h in PORT_MAPPINGS],
    }
    return {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [control_plane] + [{"role": "worker"}] * (nodes - 1)}


def config_path(nodes: int) -> Path:
    path = state_dir() / "kind-config.yaml"
    path.write_text(yaml.safe_dump(config(nodes), sort_keys=False))
    return path


def create_argv(nodes: int = 1) -> list[str]:
    return ["kind", "create", "cluster", "--name", NAME, "--image", versions.KIND_NODE_IMAGE,
            "--config", str(config_path(nodes)), "--kubeconfig", str(lab_kubeconfig()),
            "--wait", "120s"]


def delete_argv() -> list[str]:
    return ["kind", "delete", "cluster", "--name", NAME, "--kubeconfig", str(lab_kubeconfig())]


def available() -> tuple[bool, str]:
    if not shutil.which("kind"):
        return False, "kind is not installed"
    return docker_ready()


def _run(argv: list[str], timeout: float) -> None:
    try:
        proc = subprocess.run(argv, timeout=timeout)
    except FileNotFoundError:
        raise KubelabError(f"{argv[0]} is not installed.",
                           f"install {argv[0]}, or use `kubelab up --backend sandbox`.") from None
    if proc.returncode != 0:
        raise KubelabError(f"`{' '.join(argv[:4])} ...` failed (exit {proc.returncode}).",
                           "read its output above; `kubelab doctor` checks Docker.")


def up(nodes: int = 1, **_: object) -> Cluster:
    ok, why = available()
    if not ok:
        raise KubelabError(f"the kind backend cannot start: {why}.",
                           "start Docker and install kind, or use `--backend sandbox`.")
    _run(create_argv(nodes), timeout=600)
    cluster = Cluster(backend="kind", kubeconfig=str(lab_kubeconfig()), context=CONTEXT,
                      created_by_kubelab=True, name=NAME, details={"nodes": nodes})
    cluster.save()
    return cluster


def down(cluster: Cluster) -> None:
    _run(delete_argv(), timeout=300)
