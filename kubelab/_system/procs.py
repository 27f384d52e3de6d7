"""What the lab's processes use: memory (RSS and PSS) and listening sockets, read from
/proc."""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import psutil


class Memory(NamedTuple):
    """MB. rss counts the pages each process has resident, so a page that several
    processes share (one program's code, started four times) counts once per process.
    held counts the resident pages of the set each once, whoever else maps them: what the
    machine, or a memory cgroup such as Binder's, holds for these processes. exact is
    False where page frames cannot be read (they need CAP_SYS_ADMIN); held is then the
    sum of PSS, which divides each shared page among every process that maps it."""
    rss: float
    held: float
    exact: bool


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PRESENT, _FRAME = 1 << 63, (1 << 55) - 1


def _smaps(pid: int) -> tuple[int, int, list[tuple[int, int]]]:
    """RSS and PSS (kB) of a process, and the address ranges of its mappings that have
    resident pages, from one read of /proc/PID/smaps."""
    rss = pss = 0
    ranges = []
    start = end = 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=1)[0]
        if "-" in head and not head.endswith(":"):
            start, end = (int(x, 16) for x in head.split("-"))
        elif head == "Rss:":
            kb = int(line.split()[1])
            rss += kb
            if kb:
                ranges.append((start, end))
        elif head == "Pss:":
            pss += int(line.split()[1])
    return rss, pss, ranges


def _frames(pid: int, ranges: list[tuple[int, int]]) -> set[int]:
    """The physical page frames this process has resident, from /proc/PID/pagemap, read
    only for the ranges smaps says have resident pages (Go reserves gigabytes of address
    space it never touches)."""
    import array
    frames: set[int] = set()
    with open(f"/proc/{pid}/pagemap", "rb", buffering=0) as pagemap:
        for start, end in ranges:
            pagemap.seek(start // PAGE * 8)
            entries = array.array("Q", pagemap.read((end - start) // PAGE * 8))
            frames.update(e & _FRAME for e in entries if e & _PRESENT)
    return frames


def memory_mb(pids: list[int]) -> Memory:
    rss_kb = pss_kb = 0
    frames: set[int] = set()
    exact = True
    for pid in pids:
        try:
            rss, pss, ranges = _smaps(pid)
        except OSError:        # ended meanwhile
            continue
        rss_kb += rss
        pss_kb += pss
        if exact:
            try:
                found = _frames(pid, ranges) - {0}   # without CAP_SYS_ADMIN frames read as 0
            except OSError:
                found = set()
            exact = bool(found) or not rss
            frames |= found
    held = len(frames) * PAGE / 2**20 if exact else pss_kb / 1024
    return Memory(rss_kb / 1024, held, exact)


def rss_mb(pids: list[int]) -> float:
    """The summed RSS alone (no page frames read)."""
    total = 0
    for pid in pids:
        try:
            total += _smaps(pid)[0]
        except OSError:
            pass
    return total / 1024


def listening(pids: list[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that these processes hold."""
    found = set()
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        found.update((c.laddr.ip, c.laddr.port) for c in connections
                     if c.status == psutil.CONN_LISTEN)
    return sorted(found)


def process(pid: int | None, started: float | None = None) -> psutil.Process | None:
    """The running process `pid`, if it is the one recorded as started at `started` (its
    create time, from started_at): after a PID was reused by another program, None, so
    no signal reaches it. psutil checks the create time again before each signal."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if started is not None and abs(proc.create_time() - started) > 0.01:
            return None
        return proc
    except psutil.Error:
        return None


def running(proc: psutil.Process) -> bool:
    """Still the same process, and not a zombie waiting for its parent to reap it."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_gone(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Wait up to `seconds` for these to end; the ones still running."""
    import time
    deadline = time.monotonic() + seconds
    left = [p for p in processes if running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [p for p in left if running(p)]
    return left


def started_at(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def cgroup_pids(pid: int, controller: str = "memory", container: str = "") -> list[int]:
    """Every process in the cgroup subtree that `pid` belongs to (cgroup v1 controller);
    with `container` (an ID), the subtree of that container's own cgroup, since a
    container's systemd moves itself into init.scope below it: a kind node's systemd,
    containerd, kubelet and its pods."""
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                parts = path.strip("/").split("/")
                if container:
                    at = next((i for i, part in enumerate(parts) if container in part), None)
                    parts = parts if at is None else parts[:at + 1]
                root = Path(f"/sys/fs/cgroup/{controller}").joinpath(*parts)
                break
        else:
            return [pid]
    except OSError:
        return []
    found: set[int] = set()
    for procs_file in root.rglob("cgroup.procs"):
        try:
            found.update(int(p) for p in procs_file.read_text().split())
        except OSError:
            pass
    return sorted(found)


def matching(words: list[str]) -> list[int]:
    """PIDs whose command line contains every one of `words` (e.g. containerd shims
    started for one containerd socket, which are re-parented away from it)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if all(w in cmdline for w in words):
            out.append(int(entry.name))
    return out


def _own_processes() -> list[psutil.Process]:
    """This user's running processes (zombies left out), with their command lines."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    out = []
    for proc in psutil.process_iter(["cmdline", "uids", "status"]):
        info = proc.info
        if info.get("status") == psutil.STATUS_ZOMBIE or not info.get("cmdline"):
            continue
        if uid is not None and info.get("uids") is not None and info["uids"].real != uid:
            continue
        out.append(proc)
    return out


def started_from(directory: Path) -> list[psutil.Process]:
    """This user's running processes whose program (argv[0]) lies under `directory`: the
    copies of its programs kwokctl starts for one sandbox, say."""
    prefix = str(directory).rstrip("/") + "/"
    return [p for p in _own_processes() if p.info["cmdline"][0].startswith(prefix)]


def with_argument(argument: str) -> list[psutil.Process]:
    """This user's running processes that have `argument` as one whole argument."""
    return [p for p in _own_processes() if argument in p.info["cmdline"][1:]]


def end(processes: list[psutil.Process], seconds: float = 10) -> list[psutil.Process]:
    """SIGKILL these (psutil checks first that each PID is still the same process), and
    wait up to `seconds` for them to be gone; the ones still running."""
    for proc in processes:
        try:
            proc.kill()
        except psutil.Error:
            pass
    return wait_gone(processes, seconds)
