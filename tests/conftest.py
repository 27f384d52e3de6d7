"""Shared fixtures. Tests that take `cluster` use the session's lab: the one `kubelab up`
started if it answers (.ci/run starts the sandbox), else a sandbox started for this run
when KUBELAB_TEST_BACKENDS names `sandbox`, else they skip and say why. The real-backend
modules start their own labs through `start_lab` (tests/labs.py); the others need none."""
from __future__ import annotations

import subprocess
import sys

import os
from pathlib import Path

import labs
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
    """The session's lab (tests/labs.py's SessionLab); skips with the reason without one."""
    return labs.SESSION.cluster()


@pytest.fixture(scope="session")
def start_lab(tmp_path_factory):
    """labs.start_lab with a private KUBELAB_HOME under pytest's temporary directory:
    `with start_lab("kind", 3, require_env=..., why_not_here=..., machine_state=...) as up:`
    """
    def start(backend, nodes=None, *, home=None, **kw):
        home = home or tmp_path_factory.mktemp(f"{backend}-home")
        return labs.start_lab(backend, nodes, home=home, **kw)
    return start


@pytest.fixture
def sandbox_may_start():
    """For a test that starts a sandbox of its own: skip unless this run asks for one
    (KUBELAB_TEST_BACKENDS names `sandbox`) and it can start without a build."""
    labs.decide("sandbox", None, labs.why_no_sandbox, "sandbox")


@pytest.fixture
def sleeper():
    """Start processes of this test's own (a sleep, with any extra words on its command
    line); each is ended by its PID afterwards."""
    started = []

    def start(*extra: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", *extra])
        started.append(proc)
        return proc
    yield start
    for proc in started:
        proc.kill()
        proc.wait()
