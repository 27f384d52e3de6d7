"""%kubectl, %%kubectl and %%apply (`%load_ext kubelab`).

Public: the notebooks import this module; its code lives in `kubelab._session.magics`."""
from kubelab._session import magics as _magics
from kubelab._session.magics import (
    WATCH_SECONDS,
    apply_magic,
    kubectl_magic,
    run_line,
)
from kubelab.lab import current_lab


def register(ipython) -> None:  # noqa: ANN001
    """Register %kubectl, %%kubectl and %%apply; they act in the open chapter's Lab."""
    _magics.register(ipython, current_lab)


__all__ = ["WATCH_SECONDS", "apply_magic", "kubectl_magic", "register", "run_line"]
