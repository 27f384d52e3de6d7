"""Where kubelab keeps its cache (binaries, by version) and its state (the lab cluster)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def cache_dir() -> Path:
    """Binaries built or downloaded, keyed by version; safe to share between labs."""
    root = os.environ.get("KUBELAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kubelab")
    return Path(root)


def state_dir() -> Path:
    """The running lab: its kubeconfig, kwok work dir, and which backend it uses."""
    root = os.environ.get("KUBELAB_HOME") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "kubelab")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


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
