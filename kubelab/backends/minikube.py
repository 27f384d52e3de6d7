"""minikube with the Docker driver: one profile, one or more node containers on this
machine. Exercised on machines with Docker; here the command lines are what is tested."""
from __future__ import annotations

import os
import shutil
import subprocess

from .. import versions
from ..cluster import Cluster
from ..errors import KubelabError
from ..paths import lab_kubeconfig
from .docker_check import docker_ready
from .base import Backend, register

PROFILE = "kubelab"


def start_argv(nodes: int = 1, profile: str = PROFILE) -> list[str]:
    # minikube writes the kubeconfig named by KUBECONFIG (see env()), never ~/.kube/config.
    return ["minikube", "start", "-p", profile, "--driver=docker",
            f"--kubernetes-version={versions.KUBERNETES}", f"--nodes={nodes}",
            "--cpus=2", "--memory=2g"]


def delete_argv(profile: str = PROFILE) -> list[str]:
    return ["minikube", "delete", "-p", profile]


def env() -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(lab_kubeconfig())}


def available() -> tuple[bool, str]:
    if not shutil.which("minikube"):
        return False, "minikube is not installed"
    return docker_ready()


def _run(argv: list[str], timeout: float) -> None:
    try:
        proc = subprocess.run(argv, env=env(), timeout=timeout)
    except FileNotFoundError:
        raise KubelabError("minikube is not installed.",
                           "install minikube, or use `kubelab up --backend sandbox`.") from None
    if proc.returncode != 0:
        raise KubelabError(f"`{' '.join(argv[:4])} ...` failed (exit {proc.returncode}).",
                           "read its output above; `minikube logs -p kubelab` says more.")


def up(nodes: int = 1, **_: object) -> Cluster:
    ok, why = available()
    if not ok:
        raise KubelabError(f"the minikube backend cannot start: {why}.",
                           "start Docker and install minikube, or use `--backend sandbox`.")
    _run(start_argv(nodes), timeout=900)
    lab_kubeconfig().chmod(0o600)
    cluster = Cluster(backend="minikube", kubeconfig=str(lab_kubeconfig()), context=PROFILE,
                      created_by_kubelab=True, name=PROFILE, details={"nodes": nodes})
    cluster.save()
    return cluster


def down(cluster: Cluster) -> None:
    _run(delete_argv(cluster.name), timeout=300)


register(Backend(
    name="minikube", auto_rank=2,
    summary="minikube, Docker driver, profile kubelab",
    features=frozenset({"containers", "minikube", "cluster-admin"}),
    available=lambda: available(), fix="install Docker and minikube to use it (optional)",
    up=lambda o: up(nodes=o.nodes or 1),
    down=lambda cluster, log: down(cluster)))
