"""Every chapter executed end-to-end by papermill against the lab. nbval (the README's
`pytest` collects notebooks/ after tests/) runs each a second time on the same lab, so a
chapter must clean up after itself and survive a rerun; two papermill passes and a third
by nbval ran every chapter three times for what two runs prove.
The Korean edition (notebooks/ko) runs once per chapter, and must print Korean check lines."""
from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from kubelab._session import recordings

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KOREAN = sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
HANGUL = re.compile(r"[가-힣]")
REPORT = ROOT / ".ci-state" / "notebook-report.txt"

pytestmark = pytest.mark.cluster


def report(line: str, path: Path = REPORT) -> None:
    """Print a chapter's figures and keep them for the CI summary."""
    print(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(line + "\n")


def execute(notebook: Path, out: Path, parameters: dict) -> tuple[object, str]:
    """Run a chapter with papermill; return the executed notebook and a line of figures:
    code cells, skipped cells, checks passed, seconds."""
    start = time.monotonic()
    papermill.execute_notebook(str(notebook), str(out), kernel_name="python3",
                               parameters=parameters, cwd=str(notebook.parent),
                               progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return nb, (f"{len(code)} code cells, {skipped_cells(nb)} skipped, "
                f"{checks_passed(nb)} checks passed, {time.monotonic() - start:.1f} s")


def skipped_cells(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []) if "⏭ skipped" in o.get("text", ""))


def checks_passed(nb) -> int:
    """Check lines this run printed (a recording shown under a skipped cell is indented)."""
    return len(check_lines(nb))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, tmp_path, cluster):
    nb, figures = execute(notebook, tmp_path / f"{notebook.stem}.ipynb", {"backend": "auto"})
    code = [c for c in nb.cells if c.cell_type == "code"]
    skipped = skipped_cells(nb)
    line = f"{notebook.stem}: {figures}"
    report(line)
    assert checks_passed(nb) > 0
    # a chapter that skips more than a third of its cells here teaches too little
    if cluster.backend == "sandbox":
        assert skipped * 3 <= len(code), line
        # and each cell `skip_unless` skips shows what that cell printed on a real cluster
        # (a backend's own CLI through lab.tool, minikube's or k3s's, shows its command)
        bare = [c.id for c in code if "⏭ skipped" in text_of(c) and RECORDED not in text_of(c)
                and any(f in recordings.RECORDED_ON for f, _ in recordings.skip_calls(c.source))]
        assert not bare, f"{notebook.stem}: skipped cells without a recording: {bare}"


RECORDED = "▶ recorded on the"


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def check_lines(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            for line in o.get("text", "").splitlines() if line.startswith("✓ ")]


@pytest.mark.parametrize("notebook", KOREAN, ids=lambda p: f"ko/{p.stem}")
def test_korean_notebook_runs_once(notebook, tmp_path, cluster):
    nb, figures = execute(notebook, tmp_path / f"ko-{notebook.stem}.ipynb",
                          {"backend": "auto", "lang": "ko"})
    report(f"ko/{notebook.stem}: {figures}")
    assert checks_passed(nb) > 0
    lines = check_lines(nb)
    # every check line is kubelab's, translated from the chapter's catalogue
    assert lines and all(HANGUL.search(line) for line in lines), lines


@pytest.fixture(scope="module")
def learner_login(cluster, tmp_path_factory):
    """One learner of a rehearsal workshop on the lab: the chapters under a scoped login."""
    from kubelab import workshop
    out = tmp_path_factory.mktemp("workshop")
    made = workshop.create(cluster, workshop.learners_from(["rehearsal"], None, "nbws"),
                           out, hours=1, log=lambda m: None)
    yield made[0]["kubeconfig"]
    workshop.delete(cluster, "nbws", log=lambda m: None)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_a_workshop_login(notebook, tmp_path, learner_login):
    nb, figures = execute(notebook, tmp_path / f"{notebook.stem}.workshop.ipynb",
                          {"kubeconfig": learner_login})
    report(f"{notebook.stem} as a workshop learner: {figures}")
    assert checks_passed(nb) > 0
