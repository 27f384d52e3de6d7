"""Every cell the sandbox skips shows what it printed on a real cluster, labelled as a
recording (kubelab/_session/recordings.py; made by tests/recording_capture.py). Here, without a cluster: each such cell has a recording,
made from the cell's current source and the pinned Kubernetes, and the label says where
and when. tests/test_local_node.py and tests/test_minikube.py make fresh ones in CI and
compare them with these."""
from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest
import recording_capture as capture

from kubelab._backends import BACKENDS
from kubelab._base import versions
from kubelab._session import recordings

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RECORDED_ON = capture.RECORDED_ON


def skipped_on_the_sandbox() -> list[tuple[str, str, str, str]]:
    """(chapter, feature, what, cell source) of every cell the sandbox skips, and of every
    backend command (`lab.tool`) it skips."""
    sandbox = set(BACKENDS["sandbox"].features)
    lacking = capture.sandbox_lacks()
    out = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                out += [(path.stem, f, w, cell.source) for f, w in
                        capture.skip_calls(cell.source) if f not in sandbox]
                out += [(path.stem, f, w, cell.source) for f, w in
                        capture.tool_calls(cell.source, path.stem, lacking)]
    return out


def test_every_skipped_command_is_known_before_its_cell_runs():
    """A recording is found by the command `lab.tool` shows: a literal, or an f-string
    that fills in only the chapter's namespace."""
    unknown = [(c, s.splitlines()[0]) for c, _, w, s in skipped_on_the_sandbox() if not w]
    assert not unknown, unknown


def test_the_recorded_features_are_the_ones_the_sandbox_lacks():
    lacking = {f for _, f, _, _ in skipped_on_the_sandbox()}
    assert lacking and lacking <= set(RECORDED_ON), lacking


def test_a_skipped_cell_has_one_meaning_per_chapter():
    """A recording is found by the chapter and the `what` its cell passes to skip_unless."""
    keys = [(c, w) for c, _, w, _ in skipped_on_the_sandbox()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


@pytest.mark.parametrize("chapter,feature,what,source", [
    pytest.param(*cell, id=f"{cell[0]}: {cell[2][:40]}") for cell in skipped_on_the_sandbox()])
def test_every_skipped_cell_has_a_fresh_recording(chapter, feature, what, source):
    rec = recordings.load(chapter).get(what)
    assert rec, (f"{chapter}: no recording for “{what}”: run the chapter on the "
                 f"{RECORDED_ON[feature]} backend (tests/record_skipped_outputs.py)")
    assert rec["backend"] == RECORDED_ON[feature]
    assert rec["source"] == capture.source_digest(source), (
        f"{chapter}: the cell “{what}” changed since it was recorded on {rec['date']}: "
        "record it again (tests/record_skipped_outputs.py)")
    assert rec["kubernetes"] == versions.KUBERNETES, "recorded on another Kubernetes"
    assert rec["text"].strip() and "⏭ skipped" not in rec["text"]


def test_the_recording_is_labelled_with_backend_version_and_date():
    chapter, _, what, _ = skipped_on_the_sandbox()[0]
    rec = recordings.load(chapter)[what]
    out = io.StringIO()
    with redirect_stdout(out):
        assert recordings.show(chapter, what)
    first, *rest = out.getvalue().splitlines()
    assert rec["backend"] in first and rec["kubernetes"] in first and rec["date"] in first
    assert "recording" in first
    assert rest and all(line.startswith("  │ ") for line in rest)
    assert not recordings.show(chapter, "a cell that does not exist")


def test_capture_keeps_what_ran_and_leaves_out_what_was_skipped():
    cell = nbformat.v4.new_code_cell('if lab.skip_unless("containers", "`kubectl logs`"):\n'
                                     '    print("hello")')
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    skipped = nbformat.v4.new_code_cell('if lab.skip_unless("containers", "exec"):\n  pass')
    skipped.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                              text="⏭ skipped on the sandbox backend\n")]
    other = nbformat.v4.new_code_cell('if lab.skip_unless("minikube", "a node"):\n  pass')
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text="node m02\n")]
    nb = nbformat.v4.new_notebook(cells=[cell, skipped, other])
    got = capture.capture(nb, "00-start-here", "local", "v1.36.3", {"containers"})
    assert set(got) == {"`kubectl logs`"}
    assert got["`kubectl logs`"]["text"] == "hello"
    assert got["`kubectl logs`"]["source"] == capture.source_digest(cell.source)


def test_capture_gives_each_skipped_command_what_followed_it():
    cell = nbformat.v4.new_code_cell(
        'lab.tool("minikube ip -p kubelab", needs="minikube")\n'
        'lab.tool(f"minikube service web -n {lab.namespace} --url", needs="minikube")\n'
        'if lab.supports("minikube"):\n'
        '    lab.tool("minikube addons list", needs="minikube")')
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "$ minikube ip -p kubelab\n192.168.49.2\n"
        "$ minikube service web -n lab-01-minikube --url\nhttp://192.168.49.2:31000\n"
        "✓ it answers\n$ minikube addons list\n| headlamp | disabled |\n"))]
    got = capture.capture(nbformat.v4.new_notebook(cells=[cell]), "01-minikube",
                             "minikube", "v1.36.3", {"minikube"})
    assert {w: r["text"] for w, r in got.items()} == {
        "`minikube ip -p kubelab`": "192.168.49.2",
        "`minikube service web -n lab-01-minikube --url`":
            "http://192.168.49.2:31000\n✓ it answers"}
    assert recordings.tool_key("minikube service web -n ws-ana --url", "01-minikube",
                               "ws-ana") == "`minikube service web -n lab-01-minikube --url`"
