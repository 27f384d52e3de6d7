"""What a skipped cell printed on a real cluster, shown under it where it cannot run.

The sandbox (Binder) simulates its nodes, so the cells that send packets, read logs or
stop a node are skipped there; those are the cells that show behaviour. CI runs every
chapter on the local node and on minikube and keeps, per chapter, the text each such cell
printed (`capture`); tests/record_skipped_outputs.py copies those captures into
kubelab/recordings/ in git. Each recording names its backend, Kubernetes version and date,
and the digest of the cell's source: tests/test_recordings.py fails when a cell changed
since it was recorded, or when a skipped cell has no recording.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

from .i18n import tr

DIR = Path(__file__).resolve().parent / "recordings"
SKIP_CALL = re.compile(r'skip_unless\(\s*"([\w-]+)",\s*"([^"]+)"')
MAX_LINES = 40          # a recording is a glimpse, not a log
# What the sandbox lacks, and which backend in CI records the cells that need it
RECORDED_ON = {"containers": "local", "host-network": "local", "minikube": "minikube",
               "node-join": "local (3 nodes)"}


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def skip_calls(source: str) -> list[tuple[str, str]]:
    """The (feature, what) pairs of a cell's `lab.skip_unless(...)` calls."""
    return SKIP_CALL.findall(source)


def recorded_on(backend: str) -> set[str]:
    """The features whose cells `backend` records for the sandbox."""
    return {feature for feature, b in RECORDED_ON.items() if b == backend}


def path_for(chapter: str, folder: Path = DIR) -> Path:
    return folder / f"{chapter}.json"


def load(chapter: str, folder: Path = DIR) -> dict[str, dict]:
    try:
        return json.loads(path_for(chapter, folder).read_text())
    except (OSError, ValueError):
        return {}


def write(chapter: str, entries: dict[str, dict], folder: Path = DIR) -> Path:
    """The chapter's recordings in `folder` become `entries`, sorted by cell."""
    path = path_for(chapter, folder)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(entries.items())), ensure_ascii=False, indent=1)
                    + "\n")
    return path


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


def capture(executed: dict, backend: str, kubernetes: str, features: set[str]) -> dict:
    """From an executed chapter (nbformat JSON), what each cell guarded by a feature of
    `features` printed, keyed by its `what`; cells that were skipped there are left out."""
    out: dict[str, dict] = {}
    for cell in executed["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        calls = [(f, w) for f, w in skip_calls(source) if f in features]
        if not calls:
            continue
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream")
        if "⏭ skipped" in text or not text.strip():
            continue
        lines = text.rstrip().splitlines()
        if len(lines) > MAX_LINES:
            lines = [*lines[:MAX_LINES], f"… ({len(lines) - MAX_LINES} more lines)"]
        pictures = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        for _, what in calls:
            out[what] = {"backend": backend, "kubernetes": kubernetes,
                         "date": date.today().isoformat(), "source": source_digest(source),
                         "text": "\n".join(lines), "pictures": pictures}
    return out


def save(chapter: str, entries: dict[str, dict], folder: Path) -> Path:
    """Merge `entries` into the chapter's recordings in `folder`."""
    merged = {**load(chapter, folder), **entries}
    return write(chapter, merged, folder) if merged else path_for(chapter, folder)
