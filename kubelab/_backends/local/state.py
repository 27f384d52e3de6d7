"""Where the local node keeps its files, and the record of what `up` did.

The record (node/state.json) is written after every step, so `down` can undo a node that
came up only partly, even after kubelab itself was interrupted.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kubelab._backends import sandbox
from kubelab._system.paths import state_dir


def node_dir() -> Path:
    """The node's configuration, data and logs, inside this lab's state directory."""
    return state_dir() / "node"


def run_dir() -> Path:
    """Short (sockets are limited to 108 bytes) and unique to this lab's state directory."""
    tag = hashlib.sha256(str(state_dir().resolve()).encode()).hexdigest()[:8]
    return Path("/run") / f"kubelab-{tag}"


def sandbox_pki() -> Path:
    """The keys and certificates of the sandbox's control plane, which the node runs on."""
    return sandbox.workdir() / "clusters" / sandbox.NAME / "pki"


def logs_kept() -> Path:
    """The last node's logs, moved here by `down` so they can be read after it."""
    return state_dir() / "node-logs"


def _state_file() -> Path:
    return node_dir() / "state.json"


def load_state() -> dict:
    """What `up` recorded; empty when no node was started (or `down` finished)."""
    try:
        return json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}


def save_state(state: dict) -> None:
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(state, indent=2))
