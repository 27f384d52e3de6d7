"""What a chapter's namespace is called in a lab of one's own. Its own module, below
scope.py and recordings.py, which both need it (a recording is keyed by the command as
it reads in the chapter's default namespace)."""
from __future__ import annotations


def default_namespace(chapter: str) -> str:
    """A chapter's namespace in a lab of one's own, unless the notebook names another."""
    return f"lab-{chapter}"
