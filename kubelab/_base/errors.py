"""kubelab's errors: each carries the fix, so users see a sentence instead of a traceback.

Every error is a `KubelabError(problem, fix)`. Callers that need to tell one failure from
another catch a subclass:

- `UsageError`: the command line or a call's arguments are wrong (`kubelab` exits 2);
- `BackendUnavailable`: a backend cannot run on this machine (Docker missing, not root);
- `BinaryError`: a pinned binary is missing, of the wrong version, or failed its digest;
- `ApiError`: the apiserver refused or failed a request (`status` holds the HTTP code);
- `ClusterUnreachable`: the apiserver does not answer at all;
- `WaitTimeout`: a wait ran out of time before its condition held;
- `PredicateError`: a condition handed to a wait or a check raised instead of answering;
- `CheckFailed`: a check about the cluster did not hold;
- `ProgramMissing`, `CommandTimeout`, `CommandFailed`: a command kubelab runs
  (kubelab._system.run) is not installed, ran out of time, or failed.
"""
from __future__ import annotations

from kubelab._base.i18n import tr


class KubelabError(Exception):
    """A problem the user can act on: `problem` says what happened, `fix` what to do."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return self.problem + (tr("\n  fix: {fix}", fix=self.fix) if self.fix else "")


class UsageError(KubelabError):
    """The command line (or a call's arguments) asks for something that cannot be meant."""


class BackendUnavailable(KubelabError):
    """A backend cannot run here (its program or Docker is missing, it needs root, ...)."""


class BinaryError(KubelabError):
    """A pinned binary is missing, reports the wrong version, or failed its digest."""


class ApiError(KubelabError):
    """The apiserver answered a request with an error; `status` is its HTTP code."""

    def __init__(self, problem: str, fix: str = "", status: int | None = None) -> None:
        super().__init__(problem, fix)
        self.status = status


class ClusterUnreachable(KubelabError):
    """The apiserver did not answer (connection refused, reset, timed out)."""


class WaitTimeout(KubelabError):
    """A wait's condition did not hold before its time was up."""


class WaitStopped(WaitTimeout):
    """A wait ended early because the cluster said it cannot succeed (an image that
    cannot be pulled, a crash loop, a quota refusal): a timeout that came sooner."""


class PredicateError(KubelabError):
    """A condition (a wait's `until`, a check's lambda) raised instead of answering: a bug
    in that function, reported at once rather than waited out."""


class CheckFailed(KubelabError):
    """A check about the cluster did not hold (a learner's answer, or a lesson's claim)."""


class ExerciseUnfit(KubelabError):
    """An exercise's check passed before its solution ran (KUBELAB_SOLVE=1): a check
    that no answer could fail."""


class ProgramMissing(KubelabError):
    """A program kubelab runs is not installed (not on PATH, or not at the path given)."""


class CommandTimeout(KubelabError):
    """A command kubelab runs did not end within its time limit (it was stopped)."""


class CommandFailed(KubelabError):
    """A command kubelab runs ended with a non-zero exit code; `returncode` holds it."""

    def __init__(self, problem: str, fix: str = "", returncode: int | None = None) -> None:
        super().__init__(problem, fix)
        self.returncode = returncode


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
        icon = tr("✗ check failed") if isinstance(value, CheckFailed) else "✗ kubelab"
        print(f"{icon}: {value}")
        return None

    shell.set_custom_exc((KubelabError,), _handler)
