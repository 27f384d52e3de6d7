"""Chapter 00's exercise, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution


@solution("scale-web", reveals=("--replicas=4",))
def scale_web(lab) -> None:  # noqa: ANN001
    """kubectl scale deployment/web --replicas=4"""
    lab.kubectl(["scale", "deployment/web", "--replicas=4"])
