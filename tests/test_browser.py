"""What a learner sees: chapters in a real browser, on the running lab (CI's sandbox).
JupyterLab is started as `kubelab open` starts it, headless Chromium opens each chapter and
runs every cell from the Run menu (tests/browser.py). Then the page must show no traceback,
the checks' ✓ and no ✗, each mermaid diagram as an SVG of real size, each chart as an
image, and the live charts must have changed while the cells ran. Screenshots go to
.ci-state/screenshots/ and a line each to .ci-state/browser-report.txt.
tests/test_local_node.py runs the same on the real node.

Without Debian's chromium and chromium-driver, Selenium or JupyterLab the module is skipped
and says why, unless KUBELAB_REQUIRE_BROWSER=1 (CI), where it fails.
"""
from __future__ import annotations

from pathlib import Path

import browser as learner
import pytest
import recording_capture
from notebook_runs import report as notebook_report

from kubelab._backends import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / ".ci-state" / "browser-report.txt"
# 00: the mermaid diagrams; 05b: the rollout charts, live; 06: the Service picture
CHAPTERS = ["00-start-here", "05b-deployments", "06-services"]

pytestmark = pytest.mark.cluster


def report(line: str) -> None:
    notebook_report(line, REPORT)


@pytest.fixture(scope="module")
def browser(request, tmp_path_factory):
    """JupyterLab on the workbook and Chromium on it, against the running lab."""
    learner.require_browser()
    cluster = request.getfixturevalue("cluster")  # the running lab, which the chapters use
    with learner.jupyterlab(tmp_path_factory.mktemp("jupyterlab")) as server, \
            learner.chromium_driver() as driver:
        yield server, driver, set(BACKENDS[cluster.backend].features)


@pytest.fixture(scope="module", params=CHAPTERS)
def page(request, browser):
    """A chapter open in the browser with every cell run; figures of the run."""
    server, driver, features = browser
    run = learner.run_all(driver, server, request.param)
    report(f"{request.param} in Chromium: page and kernel ready in {run['opened']:.1f} s, "
           f"{run['code_cells']} code cells run in {run['ran']:.1f} s")
    return dict(run, chapter=request.param, driver=driver, features=features)


def draws(page: dict, *what: str) -> int:
    """How many code cells that run on this backend call one of `what`."""
    return sum(1 for c in page["nb"]["cells"] if c["cell_type"] == "code"
               and any(w in "".join(c["source"]) for w in what)
               and all(f in page["features"]
                       for f, _ in recording_capture.skip_calls("".join(c["source"]))))


def test_no_error_in_the_page(page):
    errors = learner.page_errors(page["driver"])
    assert not errors, "\n---\n".join(errors)


def test_the_checks_passed(page):
    passed, failed = learner.checks(page["driver"])
    assert not failed, failed
    assert passed, "no check printed ✓ in the page"
    report(f"{page['chapter']} in Chromium: {len(passed)} checks passed (✓), none failed")


def test_every_picture_rendered(page):
    driver, nb = page["driver"], page["nb"]
    fences = sum("```mermaid" in "".join(c["source"]) for c in nb["cells"]
                 if c["cell_type"] == "markdown")
    sizes = learner.mermaid_sizes(driver, fences) if fences else []
    for w, h, _ in sizes:
        assert w > 50 and h > 50, f"a diagram of {w:.0f}x{h:.0f} px"
    images = learner.output_images(driver)
    for src, complete, w, h in images:
        assert complete and w > 10 and h > 10, f"image {src} is {w}x{h} px"
    charts = learner.charts(driver)
    assert len(charts) >= draws(page, "charts.show(", "charts.follow_"), (
        f"{page['chapter']} draws charts, the page shows {len(charts)}")
    assert fences or charts, f"{page['chapter']} has no picture: it is here for its pictures"
    report(f"{page['chapter']} in Chromium: {len(sizes)} mermaid SVGs, {len(charts)} charts, "
           f"{len(images)} images loaded, each of real size")


def test_the_live_charts_changed_while_the_cells_ran(page):
    live = draws(page, "charts.follow_")
    if not live:
        pytest.skip(f"{page['chapter']} has no live chart")
    changed = {cell: n for cell, n in page["pictures_per_cell"].items() if n > 1}
    assert len(changed) >= live, (
        f"{live} cells follow the cluster with a live chart, but only {len(changed)} showed "
        f"more than one picture: {page['pictures_per_cell']}")
    report(f"{page['chapter']} in Chromium: live charts changed while running ("
           + ", ".join(f"{n} pictures in one cell" for n in changed.values()) + ")")


def test_screenshots_of_every_section_and_picture(page):
    shots = learner.screenshots(page["driver"], page["chapter"])
    assert any("section" in what for _, what in shots), "no section headings in the page"
    for path, what in shots:
        assert path.stat().st_size > 5000, f"{path.name} is nearly empty"
        report(f"screenshot {path.relative_to(ROOT)}: {what} "
               f"({path.stat().st_size // 1024} KiB)")



def test_the_board_renders_and_follows_a_learner_in_the_browser(browser, cluster, tmp_path):
    """The instructor's board in JupyterLab: it shows the class, then changes by itself
    when a learner's check fails and again when it passes (the watch API, no re-run)."""
    from kubelab import workshop
    from kubelab._base.errors import CheckFailed
    from kubelab._session.scope import workshop_login
    from kubelab.lab import Lab
    server, driver, _ = browser
    name = "class"                      # the board notebook's default workshop
    workshop.delete(cluster, name, log=lambda m: None)
    made = workshop.create(cluster, workshop.learners_from(["ann", "ben"], None, name),
                           tmp_path, hours=1, log=lambda m: None)
    try:
        learner.run_all(driver, server, "instructor/board")

        def board() -> str:
            return driver.execute_script(
                "const b = document.querySelector('.kubelab-board');"
                "return b ? b.innerText : '';")
        learner.wait_for("the board with both learners", lambda: "ann" in board()
                         and "ben" in board() and "self-reported" in board(), 30)
        login, ns = workshop_login(made[0]["kubeconfig"])
        lab = Lab(cluster=login, namespace=ns, chapter="97-browser", workshop=True)
        lab.check("a first check holds", True)
        with pytest.raises(CheckFailed):
            lab.check("a second check holds", False)
        learner.wait_for("ann's failing check on the board", lambda: "1/2 ✗" in board(), 30)
        lab.check("a second check holds", True)
        learner.wait_for("ann's chapter all passed on the board",
                         lambda: "2/2" in board() and "✗" not in board(), 30)
        shot = learner.SHOTS / "board.png"
        learner.SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        report(f"board in Chromium: followed ann's checks live; screenshot {shot.name}")
    finally:
        learner.close_sessions(server)
        workshop.delete(cluster, name, log=lambda m: None)
