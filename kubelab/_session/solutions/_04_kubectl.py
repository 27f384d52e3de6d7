"""Chapter 04's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from typing import Callable

from kubelab._base.errors import WaitTimeout
from kubelab._base.versions import IMAGES
from kubelab._session.facts import is_leaving, is_ready
from kubelab._session.solutions import solution, wrong

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/e2e-test-images/agnhost:2.63.0
        args: ["netexec", "--http-port=8080"]
      - name: sidecar
        image: docker.io/library/busybox:1.35.0-glibc
        command: ["sh", "-c", "while true; do date; sleep 5; done"]
"""

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: one, labels: {exercise: "2"}}
spec:
  containers: [{name: main, image: "registry.k8s.io/e2e-test-images/agnhost:2.63.0", args: ["pause"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: two, labels: {exercise: "2"}}
spec:
  containers: [{name: main, image: "docker.io/library/busybox:1.35.0-glibc", command: ["sleep", "3600"]}]
"""


@solution("delete-from-url", reveals=("%kubectl delete -f {url}",))
def delete_from_url(lab, *, url: str, **_: object) -> None:  # noqa: ANN001
    """kubectl delete -f <the URL>"""
    lab.kubectl(["delete", "-f", url])


def _web_again(lab, **_: object) -> None:  # noqa: ANN001
    """kubectl apply -f - (the same Deployment web, not from the URL)"""
    lab.apply(WEB)
    lab.wait_pods("app=web", 2)


@wrong("delete-from-url", shows=("not downloaded", "URL"), undo=_web_again)
def delete_by_name(lab, **_: object) -> None:  # noqa: ANN001
    """kubectl delete deployment web (by name: the URL is not used)"""
    lab.kubectl(["delete", "deployment", "web", "--wait=true"])
    lab.wait_pods("app=web", 0)


@wrong("delete-from-url", shows=("not downloaded", "URL"), undo=_web_again)
def delete_the_local_file(lab, *, manifest: str, **_: object) -> None:  # noqa: ANN001
    """kubectl delete -f <the local file web.yaml> (the file, not the URL)"""
    lab.kubectl(["delete", "-f", str(manifest), "--wait=true"])
    lab.wait_pods("app=web", 0)


@wrong("delete-from-url", shows=("still there", "delete -f"))
def only_get_from_the_url(lab, *, url: str, **_: object) -> None:  # noqa: ANN001
    """kubectl get -f <the URL> (reads it, deletes nothing)"""
    lab.kubectl(["get", "-f", url])


@solution("delete-busybox", reveals=("%kubectl delete pod two",))
def delete_busybox(lab) -> None:  # noqa: ANN001
    """kubectl delete pod two"""
    lab.kubectl(["delete", "pod", "two", "--wait=true"])


def _both_pods_again(lab) -> None:  # noqa: ANN001
    """kubectl apply -f - (pods one and two again)"""
    lab.apply(PODS)
    lab.wait_pods("exercise=2", 2)


@wrong("delete-busybox", shows=("['two']", "Image:"), undo=_both_pods_again)
def deleted_the_other_pod(lab) -> None:  # noqa: ANN001
    """kubectl delete pod one (the agnhost pod, not the busybox one)"""
    lab.kubectl(["delete", "pod", "one", "--wait=true"])


@wrong("delete-busybox", shows=("[]", "Image:"), undo=_both_pods_again)
def deleted_both(lab) -> None:  # noqa: ANN001
    """kubectl delete pods -l exercise=2 (both pods)"""
    lab.kubectl(["delete", "pods", "-l", "exercise=2", "--wait=true"])


# Exercise 3 starts broken: the Deployment notes asks for an image no registry has.
NOTES_IMAGE = IMAGES["agnhost"]


def _notes_pods(lab) -> list[dict]:  # noqa: ANN001
    return [p for p in lab.list("Pod", "app=notes") if not is_leaving(p)]


def _notes_settled(lab, what: str, done: Callable[[list[dict]], bool],  # noqa: ANN001
                   timeout: float = 90) -> None:
    """Wait (bounded, and not stopped by the broken pod's pull errors) for notes' pods."""
    lab.wait_for("Pod", done, selector="app=notes", timeout=timeout, stop_on=False,
                 describe=what)


@solution("repair-notes", reveals=("a `v` too many",
                                   f"%kubectl set image deployment/notes notes={NOTES_IMAGE}"))
def repair_notes(lab) -> None:  # noqa: ANN001
    """kubectl set image deployment/notes notes=registry.k8s.io/e2e-test-images/agnhost:2.63.0"""
    lab.kubectl(["set", "image", "deployment/notes", f"notes={NOTES_IMAGE}"])
    # until the broken pod is gone and the new one is Ready: the check's first look passes
    _notes_settled(lab, "1 Ready pod of notes on agnhost 2.63.0, the broken one gone",
                   lambda ps: len(ps) == 1 and all(
                       is_ready(p) and p["spec"]["containers"][0]["image"] == NOTES_IMAGE
                       for p in ps))


@wrong("repair-notes", shows=("as it arrived", "comes back"))
def deleted_the_pod(lab) -> None:  # noqa: ANN001
    """kubectl delete pod <notes' pod> (its ReplicaSet makes the same pod again)"""
    gone = {p["metadata"]["name"] for p in _notes_pods(lab)}
    for name in sorted(gone):
        lab.kubectl(["delete", "pod", name, "--wait=true"], timeout=90)
    _notes_settled(lab, "a new pod of notes", lambda ps: any(
        p["metadata"]["name"] not in gone for p in ps if not is_leaving(p)))


@wrong("repair-notes", shows=("as it arrived", "a pod you change is not the template"))
def changed_the_pod(lab) -> None:  # noqa: ANN001
    """kubectl set image pod/<notes' pod> notes=...agnhost:2.63.0 (the pod, not the template)

    The pod runs, but the Deployment's template still names the broken image."""
    for p in _notes_pods(lab):
        lab.kubectl(["set", "image", f"pod/{p['metadata']['name']}", f"notes={NOTES_IMAGE}"])
    try:    # where containers run, the pod starts again on the good image once its
        # pull back-off ends; the check refuses it for its template either way
        _notes_settled(lab, "the changed pod of notes to be Ready",
                       lambda ps: bool(ps) and all(map(is_ready, ps)), timeout=20)
    except WaitTimeout:
        pass            # refused for its template either way
