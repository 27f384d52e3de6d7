"""The errors kubelab raises: each is one message and its fix (`problem`, `fix`);
catch them by type.

Public: the notebooks import this module; its code lives in `kubelab._base.errors`."""
from kubelab._base.errors import (
    ApiError,
    BackendUnavailable,
    BinaryError,
    CheckFailed,
    ClusterUnreachable,
    CommandFailed,
    CommandTimeout,
    ExerciseUnfit,
    KubelabError,
    PredicateError,
    ProgramMissing,
    UsageError,
    WaitStopped,
    WaitTimeout,
    install_notebook_handler,
)

__all__ = ["ApiError", "BackendUnavailable", "BinaryError", "CheckFailed", "ClusterUnreachable", "CommandFailed", "CommandTimeout", "ExerciseUnfit", "KubelabError", "PredicateError", "ProgramMissing", "UsageError", "WaitStopped", "WaitTimeout", "install_notebook_handler"]
