"""`%kubectl`, `%%kubectl` and `%%apply`: the real kubectl against the lab context, shown
as a terminal would show it. Commands that never end by themselves are bounded.

The echo is the command a terminal needs after `eval "$(kubelab env)"`: that pins kubelab's
context, not a namespace, so the echo carries the `-n NAMESPACE` kubelab adds
(`$ kubectl -n lab-00-start-here get pods`)."""
from __future__ import annotations

import os
import re
from typing import Any, Callable

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._cluster.cluster import kubectl_words, split_verb

WATCH_SECONDS = float(os.environ.get("KUBELAB_WATCH_SECONDS", "8"))


def _no_lab() -> Any:
    raise KubelabError(tr("no chapter is open in this notebook."),
                       tr("run the first code cell (`lab = kubelab.open_lab(...)`)."))


# The chapter's Lab, as the caller of `register` finds it (kubelab.lab.current_lab): the
# session layer does not import the public shell above it.
_current_lab: Callable[[], Any] = _no_lab


def current_lab() -> Any:  # kubelab.lab.Lab
    return _current_lab()

def _flags(rest: list[str]) -> set[str]:
    """The flags of a command up to `--` (what follows belongs to the container), with
    `--flag=true` read as `--flag`."""
    out = set()
    for arg in rest:
        if arg == "--":
            break
        if arg.startswith("-"):
            name, _, value = arg.partition("=")
            if value.lower() not in ("false", "0"):
                out.add(name)
    return out


def _never_ends(argv: list[str]) -> str | None:
    """Why a command would hang a cell, or None."""
    verb, rest = split_verb(argv)
    flags = _flags(rest)
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
    verb, rest = split_verb(argv)
    flags = _flags(rest)
    if verb in ("get", "events"):
        return bool(flags & {"-w", "--watch", "--watch-only"})
    return verb == "logs" and bool(flags & {"-f", "--follow"})


def run_line(line: str) -> None:
    lab = current_lab()
    argv = kubectl_words(line)
    print(f"$ {lab.terminal_line(argv)}")
    why = _never_ends(argv)
    if why:
        raise KubelabError(tr("`kubectl {command}` {why}.", command=" ".join(argv),
                              why=tr(why)),
                           tr("run it in a JupyterLab Terminal (File > New > Terminal) after "
                              "`eval $(kubelab env)`, or use lab.background(...) with a time "
                              "limit."))
    if _bounded(argv):
        from kubelab._cluster.cluster import env_without_kubeconfig
        from kubelab._system.run import stream
        full = lab.cluster.kubectl_argv(argv, lab.namespace_of(argv))
        stream(full, WATCH_SECONDS, env=env_without_kubeconfig(), progress=False)
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


# `$NAME` (or `${NAME}`) in a %%apply cell: a string variable of the notebook. IPython's own
# `{name}` expansion cannot serve YAML, whose flow mappings are written in braces.
_NAME = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def expand_names(text: str, names: dict[str, Any]) -> str:
    """Put each `$NAME` of `text` that is a string or number in `names` in its place;
    any other `$` stays as it is (a shell variable in a container's command, say)."""
    def value(match: re.Match[str]) -> str:
        found = names.get(match.group(1) or match.group(2))
        ok = isinstance(found, (str, int)) and not isinstance(found, bool)
        return str(found) if ok else match.group(0)
    return _NAME.sub(value, text)


def apply_magic(line: str, cell: str) -> None:
    """%%apply: the cell is YAML; apply it in the chapter's namespace, with `$NAME`
    replaced by the notebook's variable NAME (a host of the learner's own, say)."""
    lab = current_lab()
    from IPython import get_ipython
    shell = get_ipython()
    if shell is not None:
        cell = expand_names(cell, shell.user_ns)
    print(f"$ {lab.terminal_line(['apply', '-f', '-'])}")
    print(lab.apply(cell).rstrip())


def register(ipython, current_lab: Callable[[], Any]) -> None:  # noqa: ANN001
    """Register the magics; `current_lab` gives the Lab they act in (kubelab.current_lab)."""
    global _current_lab
    _current_lab = current_lab
    ipython.register_magic_function(kubectl_magic, "line_cell", "kubectl")
    ipython.register_magic_function(apply_magic, "cell", "apply")
