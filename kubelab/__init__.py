"""kubelab: learn Kubernetes by doing, against a real cluster.

In a notebook:

    import kubelab
    lab = kubelab.open_lab("05-objects")   # pins the lab context, opens the namespace
    %load_ext kubelab                      # %kubectl, %%kubectl, %%apply
"""
from __future__ import annotations

from kubelab._base.errors import CheckFailed, KubelabError
from kubelab._cluster.cluster import Cluster, current
from kubelab._session.objects import pod_ready
from kubelab.lab import Lab, current_lab, open_lab

__all__ = ["Cluster", "CheckFailed", "KubelabError", "Lab", "current", "current_lab",
           "open_lab", "pod_ready", "load_ipython_extension"]
__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:  # noqa: ANN001
    from kubelab._base.errors import install_notebook_handler
    from kubelab._session.magics import register
    register(ipython)
    install_notebook_handler()
