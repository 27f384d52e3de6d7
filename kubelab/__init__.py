"""kubelab: learn Kubernetes by doing, against a real cluster.

In a notebook:

    import kubelab
    lab = kubelab.open_lab("05-objects")   # pins the lab context, opens the namespace
    %load_ext kubelab                      # %kubectl, %%kubectl, %%apply
"""
from __future__ import annotations

from .cluster import Cluster, current
from .errors import CheckFailed, KubelabError
from .lab import Lab, current_lab, open_lab
from .objects import pod_ready

__all__ = ["Cluster", "CheckFailed", "KubelabError", "Lab", "current", "current_lab",
           "open_lab", "pod_ready", "load_ipython_extension"]
__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:  # noqa: ANN001
    from .errors import install_notebook_handler
    from .magics import register
    register(ipython)
    install_notebook_handler()
