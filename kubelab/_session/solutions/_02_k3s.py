"""Chapter 02's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution, wrong

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


def _first_node(lab) -> str:  # noqa: ANN001
    """The first node that takes pods: not a tainted control plane (kind, minikube)."""
    takes_pods = [n["metadata"]["name"] for n in lab.list("Node")
                  if not n["metadata"]["name"].startswith("lab-agent")
                  and not any(t.get("effect") in ("NoSchedule", "NoExecute")
                              for t in n["spec"].get("taints") or [])]
    return sorted(takes_pods)[0]


@solution("label-ssd", reveals=("label node NODE disktype=ssd",))
def label_ssd(lab) -> None:  # noqa: ANN001
    """kubectl label node <the first node that takes pods> disktype=ssd"""
    lab.kubectl(["label", "node", _first_node(lab), "disktype=ssd", "--overwrite"])


@wrong("label-ssd", shows=("disktype=ssd", "key=value"))
def labelled_ssd_in_capitals(lab) -> None:  # noqa: ANN001
    """kubectl label node NODE disktype=SSD (labels are case-sensitive)"""
    lab.kubectl(["label", "node", _first_node(lab), "disktype=SSD", "--overwrite"])


def _unlabel_type(lab) -> None:  # noqa: ANN001
    """kubectl label node NODE type-"""
    lab.kubectl(["label", "node", _first_node(lab), "type-"])


@wrong("label-ssd", shows=("disktype=ssd", "key=value"), undo=_unlabel_type)
def labelled_another_key(lab) -> None:  # noqa: ANN001
    """kubectl label node NODE type=ssd (another key)"""
    lab.kubectl(["label", "node", _first_node(lab), "type=ssd", "--overwrite"])


@solution("fast-pod", reveals=("  nodeSelector:\n    disktype: ssd",))
def fast_pod(lab) -> None:  # noqa: ANN001
    """kubectl apply a pod fast with nodeSelector disktype: ssd"""
    lab.apply(FAST)


def _delete_fast(lab) -> None:  # noqa: ANN001
    """kubectl delete pod fast (a pod's nodeSelector and node cannot change)"""
    lab.kubectl(["delete", "pod", "fast", "--wait=true", "--ignore-not-found"])


@wrong("fast-pod", shows=("nodeSelector None", "nodeSelector"), undo=_delete_fast)
def placed_by_node_name(lab) -> None:  # noqa: ANN001
    """kubectl apply a pod fast with nodeName: <the ssd node> (placed by hand: without a
    nodeSelector it may run anywhere)"""
    node = lab.names("Node", selector="disktype=ssd")[0]
    lab.apply(FAST.replace("  nodeSelector:\n    disktype: ssd\n", f"  nodeName: {node}\n"))


@wrong("fast-pod", shows=("'disktype': 'SSD'", "nodeSelector"), undo=_delete_fast)
def selector_in_capitals(lab) -> None:  # noqa: ANN001
    """kubectl apply a pod fast with nodeSelector disktype: SSD (no node has that label:
    the pod stays Pending)"""
    lab.apply(FAST.replace("disktype: ssd", "disktype: SSD"))
