"""Every command kubelab runs and waits for, bounded: one place that starts a subprocess
and makes sure it ends.

- `run`: capture a command's output, within a time limit. A missing program raises
  ProgramMissing, a command out of time CommandTimeout (it is killed first), a failure
  (with `check=True`) CommandFailed.
- `stream` / `run_streamed`: show a command's output as it comes, for at most `seconds`,
  then stop it.
- `run_logged`: a cluster tool (kind, minikube) whose lines go to a log, and whose
  failure raises with its fix.

A command that is silent for a while shows that it is still running. What shows it is
the caller's to choose (`waiting`, a factory called with what runs, its time limit and
the printer): this layer knows nothing of notebooks or of the cluster's events
(kubelab._session.progress has the live notebook display). By default a few printed
lines say what is running and, at the end, how long it took.

Long-lived processes with a stop handle (port-forward, a file server) are
kubelab._system.background's.
"""
from __future__ import annotations

import queue
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from kubelab._base.errors import CommandFailed, CommandTimeout, ProgramMissing
from kubelab._base.i18n import tr

QUIET = 2.0          # a command silent for less than this shows nothing of waiting


class Waiting(Protocol):
    """What a streamed command tells its waiting display: `tick()` while it is silent,
    `finish(ok)` at the end (kubelab._session.progress.Waiting is one)."""

    def tick(self) -> None: ...

    def finish(self, ok: bool) -> None: ...


WaitingFactory = Callable[[str, float, "Callable[[str], None] | None"], Waiting]


class PrintedWaiting:
    """The default waiting display: after QUIET seconds of silence one line says what
    runs and for how long at most; at the end one line says how long it took."""

    def __init__(self, what: str, timeout: float,
                 printer: Callable[[str], None] | None = None) -> None:
        self.what, self.timeout = what, timeout
        self.started = time.monotonic()
        self.shown = False
        self._print = printer or (lambda line: print(line, flush=True))

    def tick(self) -> None:
        if not self.shown and time.monotonic() - self.started >= QUIET:
            self.shown = True
            self._print(tr("⏳ waiting for {what} (at most {timeout:.0f} s)", what=self.what,
                           timeout=self.timeout))

    def finish(self, ok: bool) -> None:
        if not self.shown:
            return
        elapsed = time.monotonic() - self.started
        self._print(tr("⌛ {elapsed:.0f} s waiting for {what}", elapsed=elapsed, what=self.what)
                    if ok else tr("⌛ {elapsed:.0f} s waiting for {what}, in vain",
                                  elapsed=elapsed, what=self.what))


class _NoWaiting:
    def tick(self) -> None:
        pass

    def finish(self, ok: bool) -> None:
        pass


def _program(argv: list[str]) -> str:
    return Path(argv[0]).name if argv else "?"


# ---------------------------------------------------------------- captured

def run(argv: list[str], seconds: float, *, env: dict[str, str] | None = None,
        cwd: str | Path | None = None, input: str | None = None,
        check: bool = False, what: str = "",
        fix: str = "") -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output (text), for at most `seconds`.

    Raises ProgramMissing when the program is not there, CommandTimeout when it ran out
    of time (it is killed), and with `check`, CommandFailed when it exits non-zero (its
    last lines of stderr in the message). `what` names it in those messages (default:
    the program's name); `fix` is the fix of a CommandFailed."""
    name = what or _program(argv)
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=seconds, env=env,
                              cwd=cwd, input=input, check=check,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise ProgramMissing(tr("{program} is not installed (or not on PATH).",
                                program=_program(argv)),
                             tr("install it, or run `kubelab doctor`.")) from None
    except subprocess.TimeoutExpired:
        raise CommandTimeout(tr("{what} did not finish in {seconds:.0f} s.", what=name,
                                seconds=seconds),
                             tr("run `kubelab doctor`.")) from None
    except subprocess.CalledProcessError as e:
        tail = "\n".join((e.stderr or e.stdout or "").strip().splitlines()[-5:])
        raise CommandFailed(tr("{what} failed (exit {code}).", what=name, code=e.returncode)
                            + (f"\n{tail}" if tail else ""), fix,
                            returncode=e.returncode) from None


# ---------------------------------------------------------------- streamed

@dataclass
class Streamed:
    output: str
    finished: bool              # ended by itself, before its time was up
    returncode: int | None      # None when it was stopped


def stream(argv: list[str], seconds: float, *, what: str = "",
           env: dict[str, str] | None = None,
           printer: Callable[[str], None] | None = None, progress: bool = True,
           batch: float = 0.5, waiting: WaitingFactory | None = None) -> tuple[str, bool]:
    """Run a command for at most `seconds`, printing its output as it comes (in batches at
    most every `batch` seconds), not at the end. Returns (everything it printed, whether
    it ended by itself). With `progress`, a silent command shows what is running after a
    moment (through `waiting`, default PrintedWaiting). Raises FileNotFoundError for a
    missing program."""
    done = run_streamed(argv, seconds, what=what, env=env, printer=printer,
                        progress=progress, batch=batch, waiting=waiting)
    return done.output, done.finished


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def run_streamed(argv: list[str], seconds: float, *, what: str = "",
                 env: dict[str, str] | None = None,
                 printer: Callable[[str], None] | None = None,
                 progress: bool = True, batch: float = 0.5,
                 waiting: WaitingFactory | None = None) -> Streamed:
    """`stream`, also returning the command's exit code (for commands whose failure
    matters, such as `kind create cluster`)."""
    say = printer or (lambda text: print(text, flush=True))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, env=env, bufsize=1)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    shown: Waiting = (waiting or PrintedWaiting)(what or " ".join(argv[:3]), seconds,
                                                  printer) if progress else _NoWaiting()
    deadline = time.monotonic() + seconds
    seen: list[str] = []
    pending: list[str] = []
    last_print = 0.0
    ended = False
    while True:
        now = time.monotonic()
        try:
            line = lines.get(timeout=max(0.05, min(0.25, deadline - now)))
        except queue.Empty:
            line = ""
        if line is None:
            ended = True
        elif line:
            seen.append(line)
            pending.append(line.rstrip("\n"))
        now = time.monotonic()
        if pending and (ended or now - last_print >= batch or now >= deadline):
            say("\n".join(pending))
            pending, last_print = [], now
        if ended or now >= deadline:
            break
        if not seen:
            shown.tick()
    finished = ended
    if not ended:
        _stop(proc)
        reader.join(timeout=2)
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line:
                seen.append(line)
                pending.append(line.rstrip("\n"))
        if pending:
            say("\n".join(pending))
    else:
        proc.wait(timeout=5)
    shown.finish(True)
    return Streamed("".join(seen), finished, proc.returncode if finished else None)


def run_logged(argv: list[str], seconds: float, *, what: str, log: Callable[[str], None],
               env: dict[str, str], fix: Callable[[str], str],
               waiting: WaitingFactory | None = None) -> str:
    """Run a cluster tool (kind, minikube), passing its lines to `log` as they come,
    bounded by `seconds`; running out of time raises CommandTimeout, a failure
    CommandFailed with `fix(output)`. Returns its output."""
    log(f"$ {' '.join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))}")
    done = run_streamed(argv, seconds, what=what, env=env, progress=True, waiting=waiting,
                        printer=lambda text: [log("  " + line.rstrip())
                                              for line in text.splitlines() if line.strip()])
    if not done.finished:
        raise CommandTimeout(tr("{what} did not finish in {seconds:.0f} s.", what=what,
                                seconds=seconds),
                             tr("run `kubelab down`, then `kubelab doctor`."))
    if done.returncode != 0:
        raise CommandFailed(tr("{what} failed (exit {code}).", what=what,
                               code=done.returncode), fix(done.output),
                            returncode=done.returncode)
    return done.output
