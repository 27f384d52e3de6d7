"""Any cluster the user names by context. kubelab pins that context on every call and
never deletes the cluster; `kubelab down` only forgets it."""
from __future__ import annotations

from kubelab._backends.base import Backend, Log, Options, register
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster, require_context, user_kubeconfig


def up(context: str | None = None, kubeconfig: str | None = None, **_: object) -> Cluster:
    if not context:
        raise KubelabError(tr("the existing backend needs the context to use."),
                           tr("pass `--context NAME` (see `kubectl config get-contexts`)."))
    path = user_kubeconfig(kubeconfig)
    require_context(path, context)
    cluster = Cluster(backend="existing", kubeconfig=str(path), context=context,
                      created_by_kubelab=False, name=context)
    ok, why = cluster.reachable()
    if not ok:
        raise KubelabError(tr("context {context!r} does not answer: {why}", context=context,
                              why=why),
                           tr("check that cluster is running, or choose another context."))
    cluster.save()
    return cluster


def down(cluster: Cluster) -> None:
    """Nothing to stop: the cluster is not kubelab's."""


def available() -> tuple[bool, str]:
    return True, tr("any context you name with --context")


class Existing(Backend):
    name = "existing"
    summary = "any cluster you name: --context NAME [--kubeconfig F]; never deleted"
    features = frozenset({"containers", "cluster-admin"})
    max_nodes = 1

    def available(self) -> tuple[bool, str]:
        return available()

    def up(self, options: Options) -> Cluster:
        return up(context=options.context, kubeconfig=options.kubeconfig)

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster)


register(Existing())
