"""Running a chapter with papermill and reading what it printed: shared by the test modules
that execute chapters (tests/test_notebooks.py on the session's lab, and the real-backend
modules on theirs). A helper module, not a test module: nothing here is collected."""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / ".ci-state" / "notebook-report.txt"
RECORDED = "▶ recorded on the"


def report(line: str, path: Path = REPORT) -> None:
    """Print a chapter's figures and keep them for the CI summary."""
    print(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(line + "\n")


def execute(notebook: Path, out: Path, parameters: dict, *,
            wrong_answers: bool = True) -> tuple[object, str]:
    """Run a chapter with papermill; return the executed notebook and a line of figures:
    code cells, skipped cells, checks passed, seconds. `wrong_answers=False`: its
    exercises run their solutions without first trying every stored wrong answer, for a
    pass whose checks another pass already tried them on (same chapter, same checks)."""
    start = time.monotonic()
    saved = os.environ.get("KUBELAB_WRONG_ANSWERS")
    os.environ["KUBELAB_WRONG_ANSWERS"] = "1" if wrong_answers else "0"   # the kernel's
    try:
        papermill.execute_notebook(str(notebook), str(out), kernel_name="python3",
                                   parameters=parameters, cwd=str(notebook.parent),
                                   progress_bar=False)
    finally:
        if saved is None:
            os.environ.pop("KUBELAB_WRONG_ANSWERS", None)
        else:
            os.environ["KUBELAB_WRONG_ANSWERS"] = saved
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return nb, (f"{len(code)} code cells, {skipped_cells(nb)} skipped, "
                f"{checks_passed(nb)} checks passed, {time.monotonic() - start:.1f} s")


def skipped_cells(nb) -> int:  # noqa: ANN001
    return sum(1 for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []) if "⏭ skipped" in o.get("text", ""))


def checks_passed(nb) -> int:  # noqa: ANN001
    """Check lines this run printed (a recording shown under a skipped cell is indented)."""
    return len(check_lines(nb))


def text_of(cell) -> str:  # noqa: ANN001
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def check_lines(nb) -> list[str]:  # noqa: ANN001
    return [line for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            for line in o.get("text", "").splitlines() if line.startswith("✓ ")]
