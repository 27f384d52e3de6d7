"""kubelab: learn Kubernetes by doing, against a real cluster.

In a notebook:

    import kubelab
    lab = kubelab.open_lab("05-objects")   # pins the lab context, opens the namespace
    %load_ext kubelab                      # %kubectl, %%kubectl, %%apply

This module and the public modules it names in `__all__` (lab, errors, facts, charts,
traffic, versions, magics) are kubelab's public shell: what the chapters use, kept
working across releases. Everything under a name that starts with `_` (kubelab._session,
_backends, _cluster, _build, _system, _base) is the private core, free to change; its
layers import only downwards (tests/test_layers.py).
"""
from __future__ import annotations

import importlib
from types import ModuleType

from kubelab.errors import CheckFailed, KubelabError
from kubelab.lab import Cluster, Lab, current, current_lab, node_ready, open_lab, pod_ready

# Public modules, loaded when first used (charts loads matplotlib).
_MODULES = ("charts", "errors", "facts", "lab", "magics", "traffic", "versions")

__all__ = ["Cluster", "CheckFailed", "KubelabError", "Lab", "current", "current_lab",
           "node_ready", "open_lab", "pod_ready", "load_ipython_extension", *_MODULES]
__version__ = "0.1.0"


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:
        return importlib.import_module(f"kubelab.{name}")
    raise AttributeError(f"module 'kubelab' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:  # noqa: ANN001
    from kubelab.errors import install_notebook_handler
    from kubelab.magics import register
    register(ipython)
    install_notebook_handler()
