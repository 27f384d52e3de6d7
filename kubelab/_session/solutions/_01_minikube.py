"""Chapter 01's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution, wrong


@solution("twice-the-nodes", reveals=("scale deployment/web --replicas=N",))
def twice_the_nodes(lab) -> None:  # noqa: ANN001
    """kubectl scale deployment/web --replicas=<2 x the number of nodes>"""
    want = 2 * len(lab.names("Node"))
    lab.kubectl(["scale", "deployment/web", f"--replicas={want}"])


@wrong("twice-the-nodes", shows=("2 ×", "count the nodes"))
def as_many_as_the_nodes(lab) -> None:  # noqa: ANN001
    """kubectl scale deployment/web --replicas=<the number of nodes> (the x 2 forgotten)"""
    nodes = len(lab.names("Node"))
    lab.kubectl(["scale", "deployment/web", f"--replicas={nodes}"])
    lab.wait_pods("app=web", nodes, timeout=90)


@solution("web-fixed", reveals=("nodePort: 30080",))
def web_fixed(lab) -> None:  # noqa: ANN001
    """kubectl create service nodeport web-fixed --tcp=80:8080 --node-port=<yours>, then
    kubectl set selector service/web-fixed app=web"""
    lab.kubectl(["create", "service", "nodeport", "web-fixed", "--tcp=80:8080",
                 f"--node-port={lab.node_port(0)}"])
    lab.kubectl(["set", "selector", "service/web-fixed", "app=web"])


def _delete_web_fixed(lab) -> None:  # noqa: ANN001
    """kubectl delete service web-fixed"""
    lab.kubectl(["delete", "service", "web-fixed", "--ignore-not-found"])


@wrong("web-fixed", shows=("'app': 'web-fixed'", "endpoints: []", "selector"),
       undo=_delete_web_fixed)
def created_without_a_selector(lab) -> None:  # noqa: ANN001
    """kubectl create service nodeport web-fixed --tcp=80:8080 --node-port=<yours> (its
    selector stays app=web-fixed)"""
    lab.kubectl(["create", "service", "nodeport", "web-fixed", "--tcp=80:8080",
                 f"--node-port={lab.node_port(0)}"])


@wrong("web-fixed", shows=("80, 80,", "targetPort"), undo=_delete_web_fixed)
def target_port_80(lab) -> None:  # noqa: ANN001
    """kubectl create service nodeport web-fixed --tcp=80:80 --node-port=<yours>, then
    kubectl set selector service/web-fixed app=web (targetPort 80: nothing listens there)"""
    lab.kubectl(["create", "service", "nodeport", "web-fixed", "--tcp=80:80",
                 f"--node-port={lab.node_port(0)}"])
    lab.kubectl(["set", "selector", "service/web-fixed", "app=web"])


@wrong("web-fixed", shows=("nodePort",), undo=_delete_web_fixed)
def exposed_with_a_random_node_port(lab) -> None:  # noqa: ANN001
    """kubectl expose deployment web --name=web-fixed --type=NodePort --port=80
    --target-port=8080 (the cluster picks the nodePort)"""
    lab.kubectl(["expose", "deployment", "web", "--name=web-fixed", "--type=NodePort",
                 "--port=80", "--target-port=8080"])
