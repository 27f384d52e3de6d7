"""The node's long-lived processes (socat, containerd, kubelet, kube-proxy): started in
sessions of their own so they outlive the command that started them, each logging to
node/logs/NAME.log, and stopped by the PIDs the state records, each checked against the
create time recorded with it, so a PID the kernel gave to another program is left alone."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import psutil

from kubelab._backends.local.state import logs_kept, node_dir, save_state
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._system import procs


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
    state.setdefault("started", {})[name] = procs.started_at(proc.pid)
    save_state(state)
    return proc.pid


def recorded(state: dict, name: str) -> psutil.Process | None:
    """The process `name` the state records, if it still runs (and is the same one)."""
    return procs.process(state.get("pids", {}).get(name),
                         state.get("started", {}).get(name))


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
    raise KubelabError(tr("{what} did not happen within {seconds:.0f} s.{tail}", what=what,
                          seconds=seconds, tail=tail) if seconds else
                       tr("{what} did not happen: {program} exited.{tail}", what=what,
                          program=log_name, tail=tail),
                       tr("read the node's logs in {path} (kept after the node is removed).",
                          path=logs_kept()))


def stop(proc: psutil.Process | None, seconds: float = 20, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after `seconds`; with `group`, the process group it leads
    too (a daemon started in its own session, e.g. socat and its per-connection forks).
    Each signal goes only to the process `proc` was found as (psutil checks its create
    time)."""
    if proc is None:
        return

    def send(sig: int) -> None:
        try:
            if group:
                if proc.is_running():
                    os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except (psutil.Error, ProcessLookupError):
            pass
    send(signal.SIGTERM)
    if procs.wait_gone([proc], seconds):
        send(signal.SIGKILL)


def stop_node(state: dict, sock: Path, pid_name: Callable[[str], str] = str) -> None:
    """One node's daemons, of node 1 or of node 2 or 3 (pid_name: their names in the
    state): kubelet first (so it restarts nothing), the pods through the CRI, kube-proxy,
    containerd and its shims."""
    stop(recorded(state, pid_name("kubelet")))
    if sock.exists() and recorded(state, pid_name("containerd")):
        remove_pods(sock)
    stop(recorded(state, pid_name("kube-proxy")))
    stop(recorded(state, pid_name("containerd")))
    for shim in shims(str(sock)):
        stop(shim, 5)


def remove_pods(sock: Path) -> None:
    """Stop and remove every pod through the CRI, so CNI releases its addresses, rules and
    network namespaces."""
    try:
        crictl = binaries.node_group("cri-tools", build=False) / "crictl"
        subprocess.run([str(crictl), "--runtime-endpoint", f"unix://{sock}", "--timeout",
                        "60s", "rmp", "--all", "--force"], capture_output=True,
                       timeout=120)
    except (KubelabError, subprocess.TimeoutExpired):
        pass


def shims(sock: str) -> list[psutil.Process]:
    """containerd's shims for this lab: they name its socket on their command line."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if cmd and cmd[0].endswith("containerd-shim-runc-v2") and sock in cmd:
            found.append(proc)
    return found
