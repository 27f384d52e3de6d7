"""Chapter 01's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution


@solution("twice-the-nodes", reveals=("scale deployment/web --replicas=N",))
def twice_the_nodes(lab) -> None:  # noqa: ANN001
    """kubectl scale deployment/web --replicas=<2 x the number of nodes>"""
    want = 2 * len(lab.names("Node"))
    lab.kubectl(["scale", "deployment/web", f"--replicas={want}"])


@solution("web-fixed", reveals=("nodePort: 30080",))
def web_fixed(lab) -> None:  # noqa: ANN001
    """kubectl create service nodeport web-fixed --tcp=80:8080 --node-port=<yours>, then
    kubectl set selector service/web-fixed app=web"""
    lab.kubectl(["create", "service", "nodeport", "web-fixed", "--tcp=80:8080",
                 f"--node-port={lab.node_port(0)}"])
    lab.kubectl(["set", "selector", "service/web-fixed", "app=web"])
