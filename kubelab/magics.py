"""%kubectl, %%kubectl and %%apply (`%load_ext kubelab`).

Public: the notebooks import this module; its code lives in `kubelab._session.magics`."""
from kubelab._session.magics import (
    WATCH_SECONDS,
    apply_magic,
    kubectl_magic,
    register,
    run_line,
)

__all__ = ["WATCH_SECONDS", "apply_magic", "kubectl_magic", "register", "run_line"]
