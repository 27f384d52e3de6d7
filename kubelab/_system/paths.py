"""Where kubelab keeps its cache (binaries, by version) and its state (the lab cluster)."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

# What marks a directory named by KUBELAB_HOME as kubelab's state (from before it was
# made private).
STATE_MARKERS = ("lab.json", "kubeconfig", "kwok", "kwokctl.yaml", "engine",
                 "jupyterlab-settings")


def cache_dir() -> Path:
    """Binaries built or downloaded, keyed by version; safe to share between labs."""
    root = os.environ.get("KUBELAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kubelab")
    return Path(root)


def state_dir() -> Path:
    """The running lab: its kubeconfig, kwok work dir, and which backend it uses.

    It holds the sandbox's CA key and admin kubeconfigs, so it is private to its user:
    created 0700, and a state directory an older kubelab left open is closed again."""
    explicit = os.environ.get("KUBELAB_HOME")
    root = explicit or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "kubelab")
    path = Path(root)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.chmod(0o700)          # whatever the umask was
    else:
        _close(path, named=bool(explicit))
    return path


def _close(path: Path, named: bool) -> None:
    """Make an existing state directory 0700 if it is this user's: always the default one
    (it is kubelab's), and one named by KUBELAB_HOME when it is empty or holds kubelab's
    state. A folder shared on purpose (sticky, like /tmp) or holding other things
    (KUBELAB_HOME=$HOME) is left as it is."""
    st = path.stat()
    if not st.st_mode & 0o077 or st.st_mode & stat.S_ISVTX:
        return
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return
    names = {p.name for p in path.iterdir()}
    if not named or not names or names & set(STATE_MARKERS):
        path.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, 0600 from its first byte: never written
    world-readable and narrowed afterwards."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)    # an existing file keeps its old mode otherwise
        f.write(text)


def lab_kubeconfig() -> Path:
    """kubelab's own kubeconfig: the learner's ~/.kube/config is never written."""
    return state_dir() / "kubeconfig"


def publish_dir(tmp: Path, final: Path) -> None:
    """Move a finished directory into place in one step, so a half-written one is never
    mistaken for a good one."""
    if final.exists():
        shutil.rmtree(final)
    tmp.chmod(0o755)
    tmp.rename(final)
