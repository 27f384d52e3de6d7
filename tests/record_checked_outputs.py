"""Record the outputs nbval compares: run each chapter holding a cell tagged
`nbval-check-output` on the lab that is up (the sandbox, as in CI), and copy those cells'
outputs into the committed notebook. Every other output stays stripped.

    kubelab up --backend sandbox && python tests/record_checked_outputs.py [CHAPTER ...]

The tagged cells print what does not change between runs once tests/sanitize.cfg has
masked ages, hashes, IPs and ports: `kubectl explain`, refusals, error messages. Run this
after editing such a cell; `pytest` then fails when the cluster answers differently."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parent.parent
TAG = "nbval-check-output"


def checked(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and TAG in c.metadata.get("tags", [])]


def record(path: Path, scratch: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    if not checked(nb):
        return 0
    out = scratch / path.name
    papermill.execute_notebook(str(path), str(out), kernel_name="python3",
                               parameters={"backend": "auto"}, cwd=str(path.parent),
                               progress_bar=False)
    ran = {c.id: c for c in nbformat.read(out, as_version=4).cells}
    for cell in checked(nb):
        outputs = [o for o in ran[cell.id].outputs if o.output_type != "display_data"]
        for o in outputs:
            if o.output_type == "execute_result":
                o.execution_count = 1
        if not outputs:
            sys.exit(f"{path.name} cell {cell.id} printed nothing: nothing to compare")
        cell.outputs = outputs
        cell.execution_count = 1     # nbval compares only cells that ran
    nbformat.write(nb, path)
    return len(checked(nb))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kubelab-record-") as tmp:
        for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
            if sys.argv[1:] and path.stem not in sys.argv[1:]:
                continue
            if count := record(path, Path(tmp)):
                print(f"{path.name}: {count} checked outputs recorded")


if __name__ == "__main__":
    main()
