"""Chapter 04's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

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
