"""Shared fixtures. Tests marked `cluster` use the lab that `kubelab up` started (.ci/run
starts the sandbox); the others need no cluster."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Exercises in notebooks apply their folded solution after checking that the unsolved
# state fails (see Lab.exercise); kernels started by nbval and papermill inherit this.
os.environ.setdefault("KUBELAB_SOLVE", "1")
# Tests read kubelab's English messages unless they choose a language themselves (a Korean
# locale on the test machine must not change them); the Korean notebooks pass lang="ko".
os.environ.setdefault("KUBELAB_LANG", "en")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """A KUBELAB_HOME of its own, so a test never touches the running lab's state."""
    monkeypatch.setenv("KUBELAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def cluster():
    from kubelab._cluster.cluster import current
    c = current(required=False)
    if c is None or not c.reachable()[0]:
        pytest.fail("no lab cluster answers: run `kubelab up --backend sandbox` first "
                    "(.ci/run does)")
    return c
