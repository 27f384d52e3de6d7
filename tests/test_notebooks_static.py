"""What a committed notebook must be: outputs stripped, a parameters cell, a cleanup at
the end, only pinned images, and the chapter shape (goal, check, exercise)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from kubelab._base import versions

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IMAGE_RE = re.compile(r"image[:=]\s*\"?([a-z0-9.\-]+/[A-Za-z0-9._/\-]+(?::[\w.\-]+)?)")
# Images that exercises which start broken use on purpose: misspellings of the pinned
# agnhost that no registry holds, so the pull fails everywhere, with or without internet.
UNPULLABLE = {
    "registry.k8s.io/e2e-test-images/agnhost:v2.63.0",    # 04, repair-notes: a `v` too many
    "registry.k8s.io/e2e-test-image/agnhost:2.63.0",      # 05b, repair-cart: images, no s
}


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def nb(request):
    return nbformat.read(request.param, as_version=4)


def test_there_are_notebooks():
    assert NOTEBOOKS


CHECKED = "nbval-check-output"


def test_outputs_are_stripped(nb):
    """Outputs come from runs, except the ones nbval compares (tests/record_checked_outputs.py
    writes those; nbstripout keeps them by their keep_output tag)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECKED not in cell.metadata.get("tags", []):
            assert not cell.outputs and cell.execution_count is None, cell.get("id")


def test_checked_outputs_are_recorded(nb):
    """A cell nbval checks holds the output it is compared with, and survives nbstripout."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if CHECKED in tags:
            assert "keep_output" in tags, cell.get("id")
            assert cell.outputs and cell.execution_count, (
                f"cell {cell.get('id')}: run tests/record_checked_outputs.py")


def test_nbval_checks_some_outputs():
    """--nbval-lax compares only tagged cells: without any, nbval would compare nothing."""
    tagged = [c for path in NOTEBOOKS for c in nbformat.read(path, as_version=4).cells
              if CHECKED in c.metadata.get("tags", [])]
    assert len(tagged) >= 5


def test_has_a_parameters_cell(nb):
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert "backend" in params[0].source and "namespace" in params[0].source


def test_ends_with_cleanup(nb):
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "lab.cleanup()" in code[-1].source


def test_reads_as_a_chapter(nb):
    text = "\n".join(c.source for c in nb.cells)
    assert "Goal" in text and "```mermaid" in text
    assert "lab.check(" in text and "lab.exercise(" in text
    assert "<details>" in text   # a folded solution


def test_chapters_have_two_exercises_with_folded_solutions():
    for path in NOTEBOOKS:
        if path.stem.startswith("00-"):
            continue
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        assert text.count("lab.exercise(") >= 2, path.stem
        assert text.count("<details>") >= 2, path.stem


def test_unpullable_images_are_no_pinned_image():
    assert not UNPULLABLE & set(versions.IMAGES.values())


def test_uses_only_pinned_images(nb):
    text = "\n".join(c.source for c in nb.cells)
    used = set(IMAGE_RE.findall(text))
    assert used, "a chapter with no image?"
    allowed = set(versions.IMAGES.values()) | UNPULLABLE
    assert used <= allowed, used - allowed
    assert ":latest" not in text
