"""`%kubectl`, `%%kubectl` and `%%apply`: the real kubectl against the lab context, shown
as a terminal would show it. Commands that never end by themselves are bounded."""
from __future__ import annotations

import os
import shlex

from .errors import KubelabError
from .i18n import N_, tr
from .cluster import kubectl_words
from .lab import current_lab

WATCH_SECONDS = float(os.environ.get("KUBELAB_WATCH_SECONDS", "8"))


def _never_ends(argv: list[str]) -> str | None:
    """Why a command would hang a cell, or None."""
    words = [a for a in argv if not a.startswith("-")]
    verb = words[0] if words else ""
    flags = set(argv)
    if verb in ("edit",):
        return N_("opens an editor, which a notebook cell does not have")
    if verb in ("exec", "attach", "run") and (flags & {"-it", "-ti", "-i", "--stdin", "--tty",
                                                       "-t"}):
        return N_("needs an interactive terminal, which a notebook cell does not have")
    if verb == "port-forward" or verb == "proxy":
        return N_("runs until stopped")
    return None


def _bounded(argv: list[str]) -> bool:
    """Watches and followed logs: run them for a few seconds and show what was seen."""
    words = [a for a in argv if not a.startswith("-")]
    verb = words[0] if words else ""
    if verb in ("get", "events"):
        return bool(set(argv) & {"-w", "--watch", "--watch-only"})
    return verb == "logs" and bool(set(argv) & {"-f", "--follow"})


def run_line(line: str) -> None:
    lab = current_lab()
    argv = kubectl_words(line)
    print(f"$ kubectl {shlex.join(argv)}")
    why = _never_ends(argv)
    if why:
        raise KubelabError(tr("`kubectl {command}` {why}.", command=" ".join(argv),
                              why=tr(why)),
                           tr("run it in a JupyterLab Terminal (File > New > Terminal) after "
                              "`eval $(kubelab env)`, or use lab.background(...) with a time "
                              "limit."))
    if _bounded(argv):
        bg = lab.background(argv, seconds=WATCH_SECONDS)
        bg.wait(timeout=WATCH_SECONDS + 10)
        print(bg.output().rstrip())
        print(tr("(stopped after {seconds:.0f} s: a watch never ends by itself)",
                 seconds=WATCH_SECONDS))
        return
    out = lab.kubectl(argv, check=True, stderr=True)
    if out.strip():
        print(out.rstrip())


def kubectl_magic(line: str, cell: str | None = None) -> None:
    """%kubectl ARGS runs one command; %%kubectl runs each line of the cell in turn."""
    if cell is None:
        run_line(line)
        return
    from IPython import get_ipython
    shell = get_ipython()
    for cmd in cell.splitlines():
        cmd = cmd.strip()
        if cmd and not cmd.startswith("#"):
            # like a line magic, {name} inserts a Python variable
            run_line(shell.var_expand(cmd) if shell is not None else cmd)


def apply_magic(line: str, cell: str) -> None:
    """%%apply: the cell is YAML; apply it in the chapter's namespace."""
    print("$ kubectl apply -f -")
    print(current_lab().apply(cell).rstrip())


def register(ipython) -> None:  # noqa: ANN001
    ipython.register_magic_function(kubectl_magic, "line_cell", "kubectl")
    ipython.register_magic_function(apply_magic, "cell", "apply")
