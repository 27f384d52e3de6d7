"""Long-lived commands (port-forward, logs -f, get -w) as background processes that stop
by themselves after a bounded time, or when `.stop()` is called. A cell never hangs."""
from __future__ import annotations

import atexit
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

_RUNNING: list["Background"] = []


class Background:
    """A command running beside the notebook; its output accumulates in a file."""

    def __init__(self, argv: list[str], seconds: float, label: str,
                 env: dict[str, str] | None = None) -> None:
        self.label = label
        self.seconds = seconds
        self._out = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, text=True, env=env)
        self._timer = threading.Timer(seconds, self.stop)
        self._timer.daemon = True
        self._timer.start()
        self.started = time.monotonic()
        _RUNNING.append(self)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        self._timer.cancel()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self in _RUNNING:
            _RUNNING.remove(self)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the command to end (it ends at the latest after its bound)."""
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self) -> str:
        self._out.flush()
        self._out.seek(0)
        return self._out.read()

    def __repr__(self) -> str:
        state = "running" if self.running else f"stopped (exit {self._proc.returncode})"
        return f"<{self.label}: {state}, pid {self.pid}, bounded to {self.seconds:.0f} s>"


def stop_all() -> None:
    for bg in list(_RUNNING):
        bg.stop()


atexit.register(stop_all)


class FileServer:
    """Serve a directory over HTTP on 127.0.0.1 (apply -f URL) until `.stop()` (a
    chapter's cleanup stops it), or for `seconds` when given."""

    def __init__(self, directory: str, seconds: float | None = None) -> None:
        import functools
        import http.server

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Quiet, directory=directory)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._timer = None
        if seconds is not None:
            self._timer = threading.Timer(seconds, self.stop)
            self._timer.daemon = True
            self._timer.start()
        self._stopped = False
        _RUNNING.append(self)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop serving (safe to call twice)."""
        if self._timer is not None:
            self._timer.cancel()
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()
        if self in _RUNNING:
            _RUNNING.remove(self)  # type: ignore[arg-type]


def stream(argv: list[str], seconds: float, *, what: str = "", env: dict[str, str] | None = None,
           printer=None, progress: bool = True, batch: float = 0.5) -> tuple[str, bool]:  # noqa: ANN001
    """Run a command for at most `seconds`, printing its output as it comes (in batches at
    most every `batch` seconds), not at the end. Returns (everything it printed, whether
    it ended by itself). With `progress`, a silent command shows what is running after a
    moment (kubelab/progress.py). Raises FileNotFoundError for a missing program."""
    done = run_streamed(argv, seconds, what=what, env=env, printer=printer,
                        progress=progress, batch=batch)
    return done.output, done.finished


@dataclass
class Streamed:
    output: str
    finished: bool              # ended by itself, before its time was up
    returncode: int | None      # None when it was stopped


def run_streamed(argv: list[str], seconds: float, *, what: str = "",
                 env: dict[str, str] | None = None,
                 printer=None,  # noqa: ANN001 - a callable taking the printed text
                 progress: bool = True, batch: float = 0.5) -> Streamed:
    """`stream`, also returning the command's exit code (for commands whose failure
    matters, such as `kind create cluster`)."""
    import queue

    from kubelab._session.progress import Waiting
    say = printer or (lambda text: print(text, flush=True))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, env=env, bufsize=1)
    lines: "queue.Queue[str | None]" = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    waiting = Waiting(what or " ".join(argv[:3]), seconds, show=progress, stop_on=False,
                      printer=printer)
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
            waiting.tick()
    finished = ended
    if not ended:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
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
    waiting.finish(True)
    return Streamed("".join(seen), finished, proc.returncode if finished else None)


def run_logged(argv: list[str], seconds: float, *, what: str, log: Callable[[str], None],
               env: dict[str, str], fix: Callable[[str], str]) -> str:
    """Run a cluster tool (kind, minikube), passing its lines to `log` as they come,
    bounded by `seconds`; a failure raises with `fix(output)`. Returns its output."""
    from kubelab._base.errors import KubelabError
    log(f"$ {' '.join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))}")
    done = run_streamed(argv, seconds, what=what, env=env, progress=True,
                        printer=lambda text: [log("  " + line.rstrip())
                                              for line in text.splitlines() if line.strip()])
    if not done.finished:
        raise KubelabError(f"{what} did not finish in {seconds:.0f} s.",
                           "run `kubelab down`, then `kubelab doctor`.")
    if done.returncode != 0:
        raise KubelabError(f"{what} failed (exit {done.returncode}).", fix(done.output))
    return done.output
