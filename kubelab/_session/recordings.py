"""What a skipped cell printed on a real cluster, shown under it where it cannot run.

The sandbox (Binder) simulates its nodes, so the cells that send packets, read logs or
stop a node are skipped there; those are the cells that show behaviour. CI runs every
chapter on the local node and on minikube and keeps, per chapter, the text each such cell
printed; tests/recording_capture.py makes those captures, and
tests/record_skipped_outputs.py copies them into kubelab/_session/recordings/ in git.
Each recording names its backend, Kubernetes version and date, and the digest of the
cell's source: tests/test_recordings.py fails when a cell changed since it was recorded,
or when a skipped cell has no recording.

Here is what a chapter needs while it runs: finding a recording and showing it.
"""
from __future__ import annotations

import json
from pathlib import Path

from kubelab._base.i18n import tr
from kubelab._session.namespaces import default_namespace

DIR = Path(__file__).resolve().parent / "recordings"


def tool_key(command: str, chapter: str, namespace: str) -> str:
    """What a `lab.tool` command's recording is found by: the command with the chapter's
    default namespace, so a workshop login (its own namespace) finds it too."""
    return f"`{command.replace(namespace, default_namespace(chapter))}`"


def path_for(chapter: str, folder: Path = DIR) -> Path:
    return folder / f"{chapter}.json"


def load(chapter: str, folder: Path = DIR) -> dict[str, dict]:
    try:
        return json.loads(path_for(chapter, folder).read_text())
    except (OSError, ValueError):
        return {}


def show(chapter: str, what: str) -> bool:
    """Print the recording of the cell skipped for `what`, labelled as one; False when
    there is none."""
    rec = load(chapter).get(what)
    if not rec:
        return False
    print(tr("▶ recorded on the {backend} backend, Kubernetes {version}, {date} "
             "(a recording, not this cluster):", backend=rec["backend"],
             version=rec["kubernetes"], date=rec["date"]))
    for line in rec["text"].splitlines():
        print("  │ " + line)
    if rec.get("pictures"):
        print("  │ " + tr("(and {count} pictures, not kept in the recording)",
                          count=rec["pictures"]))
    return True
