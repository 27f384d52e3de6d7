"""What kwokctl recorded for the sandbox, read back: its components (`kwok.yaml`), their
pid files, and which of those processes still run and are still the ones it started.

kwokctl (`--runtime binary`, v0.8.0) starts each component in a session of its own
(setsid) from a copy of its program under `<cluster>/bin/`, then writes the PID to
`<cluster>/pids/<component>.pid`. It counts a component as running when `kill -0` on
that PID succeeds (pkg/kwokctl/runtime/exec.go), and `kwokctl start cluster` starts every
component it does not count as running, with the command line recorded in `kwok.yaml`,
on the cluster's existing files: etcd's data, the certificates, the kubeconfigs. That is
how `up` brings a crashed component back (sandbox.revive). A stale pid file (the process
died, or the machine rebooted and the PID now belongs to another program) would make
kwokctl skip that component, so kubelab removes the ones that are not the sandbox's.

A process is the sandbox's when it began before its pid file was written and its command
line names the sandbox's directory. A process kwokctl started but never wrote a pid file
for (kwokctl killed between the two) is found by its program: one under `<cluster>/bin/`.
A kwokctl that still runs for this sandbox (kubelab killed while it created the cluster)
is found by the configuration file kubelab gave it. Nothing else is ever signalled.
"""
from __future__ import annotations

from pathlib import Path

import psutil

from kubelab._system import procs
from kubelab._system.paths import state_dir

NAME = "kubelab"
# kwokctl's components for the sandbox, in the order it starts them; the local backend
# runs without kwok-controller (its kwok.yaml says which ones run).
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
              "kwok-controller")


def workdir() -> Path:
    return state_dir() / "kwok"


def cluster_dir() -> Path:
    return workdir() / "clusters" / NAME


def kwokctl_config() -> Path:
    """The configuration file kubelab writes for kwokctl (sandbox.config_path)."""
    return state_dir() / "kwokctl.yaml"


def components() -> list[str]:
    """The components kwokctl runs for the sandbox, in start order, from its record
    (`kwok.yaml`); before kwokctl wrote it, the ones that have a pid file."""
    import yaml
    try:
        docs = list(yaml.safe_load_all((cluster_dir() / "kwok.yaml").read_text()))
    except (OSError, yaml.YAMLError):
        docs = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "KwokctlConfiguration":
            names = [c.get("name") for c in doc.get("components") or []
                     if isinstance(c, dict)]
            found = [n for n in names if n in COMPONENTS]
            if found:
                return found
    present = set(pid_files())
    return [c for c in COMPONENTS if c in present] + sorted(present - set(COMPONENTS))


def pid_files() -> dict[str, tuple[int, float]]:
    """component -> (PID, when its pid file was written), from kwokctl's pid files."""
    out = {}
    for f in sorted((cluster_dir() / "pids").glob("*.pid")):
        try:
            out[f.stem] = (int(f.read_text().strip()), f.stat().st_mtime)
        except (OSError, ValueError):
            pass
    return out


def _names_dir(proc: psutil.Process, directory: Path) -> bool:
    """Whether the process's command line names `directory` or a path under it."""
    d = str(directory)
    for arg in proc.cmdline():
        for part in arg.replace("=", ",").split(","):
            if part == d or part.startswith(d + "/"):
                return True
    return False


def _recorded_process(pid: int, written: float) -> psutil.Process | None:
    """The process a pid file names, if it is still the one kwokctl started: created
    before the file was written, running with the sandbox's directory on its command
    line. A PID reused since (an editor open on a kubelab file, say) matches neither."""
    proc = procs.process(pid)
    try:
        if proc and proc.create_time() <= written + 1 and _names_dir(proc, workdir()):
            return proc
    except psutil.Error:
        pass
    return None


def states() -> dict[str, psutil.Process | None]:
    """Each component -> its running process, or None when it is not running (no pid
    file, the process ended, or its PID now belongs to another program)."""
    files = pid_files()
    out: dict[str, psutil.Process | None] = {}
    for name in components():
        pid, written = files.get(name, (0, 0.0))
        out[name] = _recorded_process(pid, written) if pid else None
    return out


def clear_stale_pid_files() -> list[str]:
    """Remove the pid files whose process is not the sandbox's any more, so that
    `kwokctl start cluster` starts those components again; the components cleared."""
    cleared = []
    for name, (pid, written) in pid_files().items():
        if _recorded_process(pid, written) is None:
            (cluster_dir() / "pids" / f"{name}.pid").unlink(missing_ok=True)
            cleared.append(name)
    return cleared


def _argv0(proc: psutil.Process) -> str:
    try:
        return (proc.cmdline() or [""])[0]
    except psutil.Error:
        return ""


def running_kwokctl() -> list[psutil.Process]:
    """A kwokctl still working for this sandbox (given kubelab's configuration file)."""
    return [proc for proc in procs.with_argument(str(kwokctl_config()))
            if Path(_argv0(proc)).name == "kwokctl"]


def processes() -> list[psutil.Process]:
    """Every running process that is the sandbox's: a kwokctl working for it first (it
    could start more), then the recorded components, then the programs started from its
    `bin/` directory that no pid file names (kwokctl stopped before writing it)."""
    found: dict[int, psutil.Process] = {p.pid: p for p in running_kwokctl()}
    for pid, written in pid_files().values():
        proc = _recorded_process(pid, written)
        if proc is not None:
            found.setdefault(proc.pid, proc)
    for proc in procs.started_from(cluster_dir() / "bin"):
        found.setdefault(proc.pid, proc)
    return list(found.values())
