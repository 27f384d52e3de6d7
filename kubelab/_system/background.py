"""Long-lived commands (port-forward, logs -f, get -w) as background processes that stop
by themselves after a bounded time, or when `.stop()` is called. A cell never hangs.

Commands kubelab waits for (captured, streamed, logged) are kubelab._system.run's."""
from __future__ import annotations

import atexit
import subprocess
import tempfile
import threading
import time


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
    chapter's cleanup stops it), or for `seconds` when given. `requests` counts the
    requests per path ('/web.yaml': 2): how a check tells that kubectl used the URL."""

    def __init__(self, directory: str, seconds: float | None = None) -> None:
        import collections
        import functools
        import http.server

        self.requests: collections.Counter[str] = collections.Counter()
        counted = self.requests

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def send_head(self):  # each GET and HEAD comes through here
                counted[self.path.split("?", 1)[0]] += 1
                return super().send_head()

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
