"""What the lab's processes use: memory (RSS) and listening sockets, read from /proc."""
from __future__ import annotations

import os
from pathlib import Path


def rss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            pass
    return total_kb / 1024


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
