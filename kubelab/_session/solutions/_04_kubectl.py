"""Chapter 04's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution


@solution("delete-from-url", reveals=("%kubectl delete -f {url}",))
def delete_from_url(lab, *, url: str) -> None:  # noqa: ANN001
    """kubectl delete -f <the URL>"""
    lab.kubectl(["delete", "-f", url])


@solution("delete-busybox", reveals=("%kubectl delete pod two",))
def delete_busybox(lab) -> None:  # noqa: ANN001
    """kubectl delete pod two"""
    lab.kubectl(["delete", "pod", "two", "--wait=true"])
