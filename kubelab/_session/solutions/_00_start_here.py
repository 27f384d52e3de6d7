"""Chapter 00's exercise, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution, wrong


@solution("scale-web", reveals=("--replicas=4",))
def scale_web(lab) -> None:  # noqa: ANN001
    """kubectl scale deployment/web --replicas=4"""
    lab.kubectl(["scale", "deployment/web", "--replicas=4"])


def _delete_extra(lab) -> None:  # noqa: ANN001
    """kubectl delete pod web-extra"""
    lab.kubectl(["delete", "pod", "web-extra", "--wait=true", "--ignore-not-found"])


@wrong("scale-web", shows=("replicas: 3", "a pod you start yourself"), undo=_delete_extra)
def a_fourth_pod_by_hand(lab) -> None:  # noqa: ANN001
    """kubectl run web-extra --labels=app=web ... (a 4th pod beside the Deployment's 3)"""
    lab.kubectl(["run", "web-extra", "--labels=app=web",
                 "--image=registry.k8s.io/e2e-test-images/agnhost:2.63.0", "--",
                 "netexec", "--http-port=8080"])
    lab.wait_pods("app=web", 4)
