"""Any cluster the user names by context. kubelab pins that context on every call and
never deletes the cluster; `kubelab down` only forgets it."""
from __future__ import annotations

from kubelab._backends.base import Backend, register
from kubelab._base.errors import KubelabError
from kubelab._cluster.cluster import Cluster, require_context, user_kubeconfig


def up(context: str | None = None, kubeconfig: str | None = None, **_: object) -> Cluster:
    if not context:
        raise KubelabError("the existing backend needs the context to use.",
                           "pass `--context NAME` (see `kubectl config get-contexts`).")
    path = user_kubeconfig(kubeconfig)
    require_context(path, context)
    cluster = Cluster(backend="existing", kubeconfig=str(path), context=context,
                      created_by_kubelab=False, name=context)
    ok, why = cluster.reachable()
    if not ok:
        raise KubelabError(f"context {context!r} does not answer: {why}",
                           "check that cluster is running, or choose another context.")
    cluster.save()
    return cluster


def down(cluster: Cluster) -> None:
    """Nothing to stop: the cluster is not kubelab's."""


def available() -> tuple[bool, str]:
    return True, "any context you name with --context"


register(Backend(
    name="existing",
    summary="any cluster you name: --context NAME [--kubeconfig F]; never deleted",
    features=frozenset({"containers", "cluster-admin"}),
    available=lambda: available(),
    max_nodes=1, up=lambda o: up(context=o.context, kubeconfig=o.kubeconfig),
    down=lambda cluster, log: down(cluster)))
