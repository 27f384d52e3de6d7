"""Chapter 05a's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution


@solution("new-image-only", reveals=("%kubectl delete pod NAME` for each old one",))
def new_image_only(lab) -> None:  # noqa: ANN001
    """kubectl delete pod <each pod running 2.59>, one at a time, each replaced before
    the next goes"""
    old = [p["metadata"]["name"] for p in lab.list("Pod", selector="app=echo")
           if p["spec"]["containers"][0]["image"].endswith(":2.59")]
    for name in old:
        lab.kubectl(["delete", "pod", name, "--wait=true"], timeout=90)
        lab.wait_pods("app=echo", 3)


@solution("release-stray", reveals=("%kubectl label pod stray app=free --overwrite",))
def release_stray(lab) -> None:  # noqa: ANN001
    """kubectl label pod stray app=free --overwrite"""
    lab.kubectl(["label", "pod", "stray", "app=free", "--overwrite"])
