"""One error type that carries the fix, so users see a sentence instead of a traceback."""
from __future__ import annotations


class KubelabError(Exception):
    """A problem the user can act on: `problem` says what happened, `fix` what to do."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        from .i18n import tr
        return self.problem + (tr("\n  fix: {fix}", fix=self.fix) if self.fix else "")


class CheckFailed(KubelabError):
    """A check about the cluster did not hold (a learner's answer, or a lesson's claim)."""


def install_notebook_handler() -> None:
    """Show KubelabError in a notebook as its message and fix, without the traceback wall."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def _handler(shell, etype, value, tb, tb_offset=None):  # noqa: ANN001
        from .i18n import tr
        icon = tr("✗ check failed") if isinstance(value, CheckFailed) else "✗ kubelab"
        print(f"{icon}: {value}")
        return None

    shell.set_custom_exc((KubelabError,), _handler)
