"""What `python -m pytest` collects and reports, for the whole run (tests/ and notebooks/).

nbval (--nbval-lax in pyproject.toml) compares the outputs of cells tagged
`nbval-check-output`. It collects a chapter only when the session has a lab (the rule of
tests/conftest.py's `cluster`: the lab `kubelab up` started, or a sandbox this run starts
because KUBELAB_TEST_BACKENDS names `sandbox`), and only a chapter that holds such a cell:
every chapter is executed by tests/test_notebooks.py with papermill already. A chapter
named on the command line is collected regardless.

Each test module's wall time (setup, calls and teardown, fixtures included) goes to
.ci-state/module-times.txt, longest first, with the total.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))       # the helper modules, under the names tests use
import labs  # noqa: E402

# Exercises try every stored wrong answer before their solution in the passes that ask
# for it (tests/notebook_runs.execute: the English sandbox pass and the local node's);
# the other passes (Korean, workshop, kind, minikube, nbval) run the same checks again,
# so the kernels they start inherit 0.
os.environ.setdefault("KUBELAB_WRONG_ANSWERS", "0")

CHECKED = "nbval-check-output"
TIMES = ROOT / ".ci-state" / "module-times.txt"
_seconds: dict[str, float] = defaultdict(float)


def checked_cells(path: Path) -> int:
    """How many cells of a notebook nbval compares."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return 0
    return sum(1 for c in cells if CHECKED in (c.get("metadata", {}).get("tags") or []))


def is_nbval(item: pytest.Item) -> bool:
    return type(item).__module__.split(".")[0] == "nbval"


def pytest_configure(config: pytest.Config) -> None:
    labs.SESSION.tmp = lambda name: config._tmp_path_factory.mktemp(name)


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.getoption("nbval_lax", False) and not config.getoption("nbval", False):
        return None
    ok, why = labs.SESSION.will_have_a_lab()
    chapters = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb") if checked_cells(p))
    if ok:
        return f"lab: {why}; nbval compares the tagged outputs of {', '.join(chapters)}"
    return f"lab: none ({why}); nbval collects no chapter"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix != ".ipynb":
        return None
    if not checked_cells(collection_path):
        return True                       # nothing to compare: papermill runs it already
    if not labs.SESSION.will_have_a_lab()[0]:
        return True                       # no lab to run it on (see the report header)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_nbval(item):
            item.add_marker(pytest.mark.cluster)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before nbval starts a chapter's kernel: the session's lab, so the kernel inherits
    its KUBELAB_HOME (a sandbox this run starts), or a skip saying why there is none."""
    if is_nbval(item):
        labs.SESSION.cluster()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[report.nodeid.split("::")[0]] += report.duration


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    start = time.monotonic()
    try:
        labs.SESSION.close()              # a sandbox this run started, after every fixture
    except AssertionError as e:           # `down` left something: the run fails, says what
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"session sandbox: {e}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        closing = time.monotonic() - start
        if closing >= 0.05:
            _seconds["(session end: the sandbox this run started, down)"] += closing
        write_module_times()


def write_module_times() -> None:
    rows = sorted(_seconds.items(), key=lambda kv: kv[1], reverse=True)
    width = max([len(name) for name, _ in rows] + [len("total")])
    lines = [f"{seconds:8.1f} s  {name}" for name, seconds in rows]
    lines.append(f"{sum(_seconds.values()):8.1f} s  {'total':<{width}}".rstrip())
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text("\n".join(lines) + "\n")
