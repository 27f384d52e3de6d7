"""The labs a test run uses, and the one factory that starts them.

Which backends a run may start is named by KUBELAB_TEST_BACKENDS, a comma list such as
`sandbox,local,kind,minikube` (.ci/run sets it); without it, the tests start nothing.
KUBELAB_REQUIRE_KIND=1 and KUBELAB_REQUIRE_MINIKUBE=1 ask for kind and minikube too, and
make "cannot run here" a failure instead of a skip. A backend that is asked for but cannot
run on this machine is skipped, and says why.

`start_lab` gives each lab a KUBELAB_HOME of its own, records the machine's state, starts
the backend through kubelab._backends.up, yields, and on the way out runs `down` (unless a
test already did) and asserts the machine is as it was.

The session's lab (tests/conftest.py's `cluster`, and the notebooks nbval compares; see
the root conftest.py) is the one `kubelab up` started if it answers, else a sandbox from
`start_lab` when KUBELAB_TEST_BACKENDS asks for one, else none: then those tests skip.
A helper module, not a test module: nothing here is collected."""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import psutil
import pytest

BACKENDS_ENV = "KUBELAB_TEST_BACKENDS"
EXAMPLE = "sandbox,local,kind,minikube"
# What the environment was when pytest started (tests change KUBELAB_HOME for themselves).
AMBIENT_HOME = os.environ.get("KUBELAB_HOME")


def requested() -> list[str] | None:
    """The backends KUBELAB_TEST_BACKENDS names, or None when it is not set."""
    value = os.environ.get(BACKENDS_ENV)
    if value is None:
        return None
    return [b.strip() for b in value.split(",") if b.strip()]


def not_requested(backend: str, require_env: str | None = None) -> str | None:
    """Why this run does not start `backend`, or None when it asks for it."""
    if require_env and os.environ.get(require_env) == "1":
        return None
    wanted = requested()
    if wanted is None:
        return (f"not requested: {BACKENDS_ENV} is not set (a comma list such as "
                f"{EXAMPLE}) and the tests start no lab unless asked")
    if backend not in wanted:
        return f"not requested: {BACKENDS_ENV}={','.join(wanted)} lacks {backend}"
    return None


def decide(backend: str, require_env: str | None,
           why_not_here: Callable[[], str | None], what: str | None = None) -> None:
    """Return when `backend` may start here; else skip, or fail where it is required."""
    what = what or f"{backend} cluster"
    why = not_requested(backend, require_env)
    if why:
        pytest.skip(f"no {what} started: {why}")
    why = why_not_here()
    if why:
        if require_env and os.environ.get(require_env) == "1":
            pytest.fail(f"{backend} is required here ({require_env}=1): {why}")
        pytest.skip(f"no {what} here: {why}")


@dataclass
class Started:
    """A lab `start_lab` started: its Cluster, the machine's state before, seconds to up."""
    cluster: object
    before: object
    seconds: float
    home: Path


@contextlib.contextmanager
def start_lab(backend: str, nodes: int | None = None, *, home: Path,
              require_env: str | None, why_not_here: Callable[[], str | None],
              machine_state: Callable[[], object] | None,
              what: str | None = None, log: Callable[[str], None] = print,
              ) -> Iterator[Started]:
    """Start `backend` (with `nodes`, else its own count) in KUBELAB_HOME=`home`, or skip
    or fail saying why (see `decide`). Yields a Started; afterwards `down` (if the lab is
    still recorded) and the machine's state must equal what it was before."""
    decide(backend, require_env, why_not_here, what)
    from kubelab import _backends as backends
    mp = pytest.MonkeyPatch()
    mp.setenv("KUBELAB_HOME", str(home))
    try:
        before = machine_state() if machine_state else None
        start = time.monotonic()
        options = {} if nodes is None else {"nodes": nodes}
        cluster = backends.up(backend, log=log, **options)
        yield Started(cluster, before, time.monotonic() - start, home)
    finally:
        mp.setenv("KUBELAB_HOME", str(home))     # whatever a test set meanwhile
        try:
            if backends.current(required=False) is not None:   # no test ran `down`
                backends.down(log=log)
        finally:
            mp.undo()
    if machine_state:
        mp.setenv("KUBELAB_HOME", str(home))
        try:
            after = machine_state()
        finally:
            mp.undo()
        assert after == before, f"{backend}: `down` left the machine changed"


# ------------------------------------------------------------------ why not here

def why_no_local_node() -> str | None:
    """Why the local backend's real node cannot start here (Linux, root, tools), or None."""
    from kubelab._backends.local import host
    from kubelab._base.errors import KubelabError
    try:
        host.preflight()
    except KubelabError as e:
        return e.problem
    return None


def why_no_sandbox() -> str | None:
    """Why a sandbox cannot start here without building anything, or None. The tests never
    build: `kubelab build` (or `kubelab up`) does, once."""
    from kubelab._build import binaries
    missing = []
    for name in binaries.SANDBOX_COMPONENTS:
        component = binaries.COMPONENTS[name]
        if os.environ.get(component.env_var) or binaries.cached(name):
            continue
        if os.environ.get("KUBELAB_DOWNLOAD", "1") != "0" and \
                binaries.release_urls(component.group):
            continue                                 # fetched at `up` (etcd)
        missing.append(name)
    if missing:
        return (f"the sandbox's programs are not built ({', '.join(missing)}): run "
                "`kubelab build` first")
    return None


def sandbox_processes(home: Path) -> list[tuple[int, str]]:
    """Processes running with this sandbox's state directory on their command line."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(str(home) in arg for arg in cmdline):
            found.append((proc.info["pid"], proc.info["name"]))
    return sorted(found)


# ------------------------------------------------------------------ the session's lab

def lab_that_answers() -> tuple[object | None, str]:
    """The lab `kubelab up` recorded (in the KUBELAB_HOME pytest started with) if its
    apiserver answers, and a word on what was found."""
    from kubelab._cluster.cluster import current
    mp = pytest.MonkeyPatch()
    if AMBIENT_HOME is None:
        mp.delenv("KUBELAB_HOME", raising=False)
    else:
        mp.setenv("KUBELAB_HOME", AMBIENT_HOME)
    try:
        c = current(required=False)
        if c is None:
            return None, "no lab is recorded"
        ok, why = c.reachable()
        if not ok:
            return None, f"the recorded {c.backend} lab does not answer ({why})"
        return c, f"the {c.backend} lab `kubelab up` started (context {c.context})"
    finally:
        mp.undo()


NO_LAB = (f"no lab answers and {BACKENDS_ENV} does not ask for a sandbox: run "
          f"`kubelab up --backend sandbox`, or set {BACKENDS_ENV}=sandbox")


class SessionLab:
    """The lab the session's cluster tests and nbval's notebooks use, found or started
    once, on first use; `close` (at the session's end) stops a sandbox it started."""

    def __init__(self) -> None:
        self._found: tuple[object | None, str] | None = None
        self._cluster = None
        self._failure: BaseException | None = None
        self._stack = contextlib.ExitStack()
        self.tmp: Callable[[str], Path] | None = None    # set by the root conftest

    def found(self) -> tuple[object | None, str]:
        if self._found is None:
            self._found = lab_that_answers()
        return self._found

    def will_have_a_lab(self) -> tuple[bool, str]:
        """Whether the session will have a lab, without starting one, and why."""
        cluster, what = self.found()
        if cluster is not None:
            return True, what
        if not_requested("sandbox") is None:
            why = why_no_sandbox()
            if why:
                return False, f"{what}; no sandbox can start here: {why}"
            return True, f"{what}; a sandbox is started for this run ({BACKENDS_ENV})"
        return False, f"{what}; {NO_LAB}"

    def cluster(self) -> object:
        """The session's Cluster; skips (or fails) with the reason when there is none."""
        if self._cluster is not None:
            return self._cluster
        if self._failure is not None:
            raise self._failure
        cluster, _ = self.found()
        if cluster is not None:
            self._cluster = cluster
            return cluster
        if not_requested("sandbox") is not None:
            pytest.skip(NO_LAB)
        home = self.tmp("sandbox-home") if self.tmp else Path(
            tempfile.mkdtemp(prefix="kubelab-test-sandbox-")) / "home"
        try:
            started = self._stack.enter_context(start_lab(
                "sandbox", home=home, require_env=None, why_not_here=why_no_sandbox,
                machine_state=lambda: sandbox_processes(home), what="sandbox"))
        except BaseException as e:   # skip, fail or a KubelabError: the same for every test
            self._failure = e
            raise
        print(f"\nsandbox for this run: up in {started.seconds:.1f} s (KUBELAB_HOME={home})")
        self._cluster = started.cluster
        return self._cluster

    def close(self) -> None:
        self._cluster = None
        self._stack.close()


SESSION = SessionLab()
