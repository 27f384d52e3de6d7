"""An existing K3s install. kubelab only reads its kubeconfig (into a private 0600 copy:
no `chmod 777` on /etc/rancher/k3s/k3s.yaml) and never stops or uninstalls K3s."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from kubelab._backends.base import Backend, Log, Options, register
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._cluster.cluster import Cluster
from kubelab._system.paths import state_dir

K3S_KUBECONFIG = Path(os.environ.get("KUBELAB_K3S_KUBECONFIG", "/etc/rancher/k3s/k3s.yaml"))
CONTEXT = "default"   # the context name K3s writes


def available() -> tuple[bool, str]:
    if not K3S_KUBECONFIG.exists():
        return False, tr("no K3s kubeconfig at {path}", path=K3S_KUBECONFIG)
    if not os.access(K3S_KUBECONFIG, os.R_OK):
        return False, tr("{path} is not readable: copy it to ~/.kube/config with sudo (then "
                         "chown it to you, mode 600), or install K3s with "
                         "--write-kubeconfig-group GROUP --write-kubeconfig-mode 640 (never "
                         "644: every local user would get the admin credentials)",
                         path=K3S_KUBECONFIG)
    return True, tr("K3s kubeconfig at {path}", path=K3S_KUBECONFIG)


def up(**_: object) -> Cluster:
    ok, why = available()
    if not ok:
        raise KubelabError(tr("the k3s backend cannot be used: {why}.", why=why),
                           tr("install K3s (see notebooks/02-k3s), or choose another "
                              "backend."))
    copy = state_dir() / "k3s-kubeconfig"
    shutil.copyfile(K3S_KUBECONFIG, copy)
    copy.chmod(0o600)
    cluster = Cluster(backend="k3s", kubeconfig=str(copy), context=CONTEXT,
                      created_by_kubelab=False, name="k3s")
    cluster.save()
    return cluster


def down(cluster: Cluster) -> None:
    Path(cluster.kubeconfig).unlink(missing_ok=True)   # K3s itself keeps running


class K3s(Backend):
    name = "k3s"
    summary = "an existing K3s install, through a private 0600 copy of its kubeconfig"
    features = frozenset({"containers", "k3s", "cluster-admin"})
    fix = N_("install K3s to use it (optional)")
    max_nodes = 1

    def available(self) -> tuple[bool, str]:
        return available()

    def up(self, options: Options) -> Cluster:
        return up()

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster)


register(K3s())
