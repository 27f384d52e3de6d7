"""Every chapter executed end-to-end by papermill against the lab. nbval (the README's
`pytest` collects notebooks/ after tests/) runs the chapters holding cells tagged
`nbval-check-output` a second time on the same lab (see the root conftest.py), so a chapter
must clean up after itself and survive a rerun.
The Korean edition (notebooks/ko) runs once per chapter, and must print Korean check lines."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import recording_capture
from notebook_runs import (RECORDED, check_lines, checks_passed, execute, report,
                           skipped_cells, text_of)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KOREAN = sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
HANGUL = re.compile(r"[가-힣]")

pytestmark = pytest.mark.cluster


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
                and any(f in recording_capture.RECORDED_ON for f, _ in recording_capture.skip_calls(c.source))]
        assert not bare, f"{notebook.stem}: skipped cells without a recording: {bare}"


@pytest.mark.parametrize("notebook", KOREAN, ids=lambda p: f"ko/{p.stem}")
def test_korean_notebook_runs_once(notebook, tmp_path, cluster):
    nb, figures = execute(notebook, tmp_path / f"ko-{notebook.stem}.ipynb",
                          {"backend": "auto", "lang": "ko"}, wrong_answers=False)
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


# 05a-07 run under workshop logins on kind's real nodes, as a class (tests/test_kind.py);
# here, the chapters before them, on the sandbox.
WORKSHOP_HERE = [p for p in NOTEBOOKS if p.stem < "05"]


@pytest.mark.parametrize("notebook", WORKSHOP_HERE, ids=lambda p: p.stem)
def test_notebook_runs_under_a_workshop_login(notebook, tmp_path, learner_login):
    nb, figures = execute(notebook, tmp_path / f"{notebook.stem}.workshop.ipynb",
                          {"kubeconfig": learner_login}, wrong_answers=False)
    report(f"{notebook.stem} as a workshop learner: {figures}")
    assert checks_passed(nb) > 0
