"""The node's long-lived processes (socat, containerd, kubelet, kube-proxy): started in
sessions of their own so they outlive the command that started them, each logging to
node/logs/NAME.log, and stopped by the PIDs the state records."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

from ... import procs
from ...errors import KubelabError
from .state import logs_kept, node_dir, save_state


def start(name: str, argv: list[str], state: dict, env: dict[str, str] | None = None) -> int:
    """Start one process and record its PID at once, so `down` finds it even if `up`
    dies on the next line."""
    logs = node_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=env or dict(os.environ))
    state.setdefault("pids", {})[name] = proc.pid
    save_state(state)
    return proc.pid


def wait_for(what: str, ok: Callable[[], bool], seconds: float, log_name: str | None = None,
             pid: int | None = None) -> None:
    """Wait for ok(); give up early, with the log's tail, if the process `pid` ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ok():
            return
        if pid and not procs.alive(pid):
            seconds = 0
            break
        time.sleep(0.3)
    tail = ""
    if log_name:
        log = node_dir() / "logs" / f"{log_name}.log"
        if log.exists():
            tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-8:])
    raise KubelabError(f"{what} did not happen" + (f" within {seconds:.0f} s" if seconds
                                                   else f": {log_name} exited") + f".{tail}",
                       f"read the node's logs in {logs_kept()} (kept after "
                       "the node is removed).")


def stop(pid: int | None, seconds: float = 20, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after `seconds`; with `group`, the process group it leads
    too (a daemon started in its own session, e.g. socat and its per-connection forks)."""
    if not pid or not procs.alive(pid):
        return

    def send(sig: int) -> None:
        try:
            os.killpg(pid, sig) if group else os.kill(pid, sig)
        except ProcessLookupError:
            pass
    send(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if procs.alive(pid):
        send(signal.SIGKILL)


def shim_pids(sock: str) -> list[int]:
    """containerd's shims for this lab: they name its socket on their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in cmd:
                found.append(int(entry.name))
    return found
