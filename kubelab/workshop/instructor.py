"""Which cluster a workshop runs on: a named context (the shared cluster), or the lab."""
from __future__ import annotations

from kubelab._base.errors import KubelabError
from kubelab._cluster.cluster import Cluster, require_context, user_kubeconfig


def instructor_cluster(context: str | None, kubeconfig: str | None) -> Cluster:
    """The cluster the workshop runs on: a named context, or the running lab."""
    from kubelab._cluster.cluster import current
    if context:
        path = user_kubeconfig(kubeconfig)
        require_context(path, context)
        return Cluster(backend="existing", kubeconfig=str(path), context=context,
                       created_by_kubelab=False, name=context)
    lab = current(required=False)
    if lab is None:
        raise KubelabError("which cluster? no --context was given and no lab is running.",
                           "pass --context NAME (the shared cluster), or `kubelab up` for a "
                           "rehearsal on the sandbox.")
    return lab

