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


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _hex_addr(hexaddr: str) -> str:
    if len(hexaddr) == 8:
        return ".".join(str(int(hexaddr[i:i + 2], 16)) for i in (6, 4, 2, 0))
    words = [hexaddr[i:i + 8] for i in range(0, 32, 8)]
    flipped = "".join(w[6:8] + w[4:6] + w[2:4] + w[0:2] for w in words)
    groups = [flipped[i:i + 4].lstrip("0") or "0" for i in range(0, 32, 4)]
    return ":".join(groups)


def listening(pids: list[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that these processes hold."""
    inodes = set().union(*(_socket_inodes(p) for p in pids)) if pids else set()
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and inode in inodes:       # 0A = LISTEN
                addr, port = local.split(":")
                found.append((_hex_addr(addr), int(port, 16)))
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
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


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
