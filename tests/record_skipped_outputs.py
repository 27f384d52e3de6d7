"""Copy the recordings CI made of the cells the sandbox skips (.ci-state/recordings/, written
by tests/test_local_node.py and tests/test_minikube.py) into kubelab/_session/recordings/, where the
sandbox shows them. Run the chapters on those backends first, for example:

    python -m pytest tests/test_local_node.py tests/test_minikube.py -k chapter_runs
    python tests/record_skipped_outputs.py

A backend's entries replace that backend's entries of the same chapter, so a cell that no
longer exists loses its recording."""
from __future__ import annotations

from pathlib import Path

import recording_capture

from kubelab._session import recordings

ROOT = Path(__file__).resolve().parent.parent
FRESH = ROOT / ".ci-state" / "recordings"


def main() -> None:
    for path in sorted(FRESH.glob("*.json")):
        fresh = recordings.load(path.stem, FRESH)
        backends = {rec["backend"] for rec in fresh.values()}
        if not fresh:
            continue
        kept = {what: rec for what, rec in recordings.load(path.stem).items()
                if rec["backend"] not in backends}
        out = recording_capture.write(path.stem, {**kept, **fresh})
        print(f"{out.relative_to(ROOT)}: {len(fresh)} cells from {', '.join(sorted(backends))}")


if __name__ == "__main__":
    main()
