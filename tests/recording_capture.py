"""Making the recordings of the cells the sandbox skips (kubelab/_session/recordings.py
shows them): which cells and `lab.tool` commands the sandbox skips, what each printed in a
chapter run on a real cluster (`capture`), and keeping that in a folder (`save`, `write`).

CI captures them while it runs every chapter (tests/cluster_checks.py);
tests/record_skipped_outputs.py copies them into git; tests/test_recordings.py holds the
committed ones to the chapters' current cells. None of it runs in a chapter, so it lives
here, beside the tests, and not in the package.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from datetime import date
from pathlib import Path

from kubelab._session.namespaces import default_namespace
from kubelab._session.recordings import DIR, load, path_for

SKIP_CALL = re.compile(r'skip_unless\(\s*"([\w-]+)",\s*"([^"]+)"')
MAX_LINES = 40          # a recording is a glimpse, not a log
TOOL_ECHOES = ("$ minikube ", "$ docker ", "$ k3s ", "$ kind ")   # lab.tool's `$ command`
# What the sandbox lacks, and which backend in CI records the cells that need it
RECORDED_ON = {"containers": "local", "host-network": "local", "minikube": "minikube",
               "node-join": "local (3 nodes)"}


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def skip_calls(source: str) -> list[tuple[str, str]]:
    """The (feature, what) pairs of a cell's `lab.skip_unless(...)` calls."""
    return SKIP_CALL.findall(source)


def sandbox_lacks() -> set[str]:
    """The features whose cells the sandbox skips."""
    from kubelab._session.features import FEATURES, backend_features
    return set(FEATURES) - backend_features()["sandbox"]


def tool_calls(source: str, chapter: str, lacking: set[str]) -> list[tuple[str, str]]:
    """The (needs, what) of the `lab.tool(...)` calls a backend lacking `lacking` reaches,
    and skips: not those under `if lab.supports(F)` or `if lab.skip_unless(F, ...)` for an
    F in `lacking` (that branch does not run there, or its cell's own recording covers it).
    `what` is the command as `lab.tool` shows it, the chapter's own namespace filled in;
    "" when the command cannot be known before the cell runs."""
    from IPython.core.inputtransformer2 import TransformerManager
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _guards(node.test) & lacking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Call) and _is_lab(node.func, "tool") and node.args:
            needs = next((k.value.value for k in node.keywords if k.arg == "needs"
                          and isinstance(k.value, ast.Constant)), "")
            command = _text(node.args[0], chapter)
            found.append((needs, f"`{command}`" if command is not None else ""))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(TransformerManager().transform_cell(source)))
    return found


def _is_lab(func: ast.AST, method: str) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == method
            and isinstance(func.value, ast.Name) and func.value.id == "lab")


def _guards(test: ast.AST) -> set[str]:
    """The features an `if` needs: `lab.supports("F")`, `lab.skip_unless("F", ...)`, alone
    or joined by `and`."""
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) \
        else [test]
    return {p.args[0].value for p in parts
            if isinstance(p, ast.Call) and p.args and isinstance(p.args[0], ast.Constant)
            and (_is_lab(p.func, "supports") or _is_lab(p.func, "skip_unless"))}


def _text(node: ast.AST, chapter: str) -> str | None:
    """A string literal's value; an f-string's, when all it fills in is the namespace."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            elif isinstance(value, ast.FormattedValue) and \
                    ast.unparse(value.value) == "lab.namespace":
                parts.append(default_namespace(chapter))
            else:
                return None
        return "".join(parts)
    return None


def recorded_on(backend: str) -> set[str]:
    """The features whose cells `backend` records for the sandbox."""
    return {feature for feature, b in RECORDED_ON.items() if b == backend}


def write(chapter: str, entries: dict[str, dict], folder: Path = DIR) -> Path:
    """The chapter's recordings in `folder` become `entries`, sorted by cell."""
    path = path_for(chapter, folder)
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(entries.items())), ensure_ascii=False, indent=1)
                    + "\n")
    return path


def capture(executed: dict, chapter: str, backend: str, kubernetes: str,
            features: set[str]) -> dict:
    """From an executed chapter (nbformat JSON), what each cell guarded by a feature of
    `features` printed, keyed by its `what`; cells that were skipped there are left out.
    A `lab.tool` call the sandbox skips gets what was printed from its `$ command` line
    to the cell's next such line."""
    out: dict[str, dict] = {}
    lacking = sandbox_lacks()
    for cell in executed["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        calls = [(f, w) for f, w in skip_calls(source) if f in features]
        tools = [w for f, w in tool_calls(source, chapter, lacking) if f in features and w]
        if not calls and not tools:
            continue
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream")
        if "⏭ skipped" in text or not text.strip():
            continue
        pictures = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        entry = {"backend": backend, "kubernetes": kubernetes,
                 "date": date.today().isoformat(), "source": source_digest(source)}
        for _, what in calls:
            out[what] = {**entry, "text": _glimpse(text.splitlines()), "pictures": pictures}
        for what, lines in _after_commands(text, tools).items():
            if "".join(lines).strip():
                out[what] = {**entry, "text": _glimpse(lines), "pictures": 0}
    return out


def _glimpse(lines: list[str]) -> str:
    """At most MAX_LINES, with this run's state directory written as a learner's default
    one (no path of the machine that recorded it)."""
    from kubelab._system.paths import state_dir
    text = "\n".join(lines).replace(str(state_dir()), "~/.local/state/kubelab")
    lines = text.rstrip().splitlines()
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"… ({len(lines) - MAX_LINES} more lines)"]
    return "\n".join(lines)


def _after_commands(text: str, whats: list[str]) -> dict[str, list[str]]:
    """The lines printed after each command's `$ command` echo, up to the next backend
    command's (`lab.tool` echoes every one so)."""
    echoes = {f"$ {w[1:-1]}": w for w in whats}
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith(TOOL_ECHOES):
            current = echoes.get(line, "")
            if current:
                out[current] = []
        elif current:
            out[current].append(line)
    return out


def save(chapter: str, entries: dict[str, dict], folder: Path) -> Path:
    """Merge `entries` into the chapter's recordings in `folder`."""
    merged = {**load(chapter, folder), **entries}
    return write(chapter, merged, folder) if merged else path_for(chapter, folder)
