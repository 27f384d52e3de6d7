"""Chapter 02's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution

FAST = """\
apiVersion: v1
kind: Pod
metadata:
  name: fast
spec:
  nodeSelector:
    disktype: ssd
  containers:
  - name: agnhost
    image: registry.k8s.io/e2e-test-images/agnhost:2.63.0
    args: ["pause"]
"""


@solution("label-ssd", reveals=("label node NODE disktype=ssd",))
def label_ssd(lab) -> None:  # noqa: ANN001
    """kubectl label node <the first node that takes pods> disktype=ssd"""
    takes_pods = [n["metadata"]["name"] for n in lab.list("Node")
                  if not n["metadata"]["name"].startswith("lab-agent")
                  and not any(t.get("effect") in ("NoSchedule", "NoExecute")
                              for t in n["spec"].get("taints") or [])]
    first = sorted(takes_pods)[0]     # not a tainted control plane (kind, minikube)
    lab.kubectl(["label", "node", first, "disktype=ssd", "--overwrite"])


@solution("fast-pod", reveals=("  nodeSelector:\n    disktype: ssd",))
def fast_pod(lab) -> None:  # noqa: ANN001
    """kubectl apply a pod fast with nodeSelector disktype: ssd"""
    lab.apply(FAST)
