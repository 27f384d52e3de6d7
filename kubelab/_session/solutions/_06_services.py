"""Chapter 06's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution

ADMIN = """\
apiVersion: v1
kind: Service
metadata: {{name: admin}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 9000, targetPort: 8080, nodePort: {node_port}}}]
"""


@solution("fix-typo", reveals=("%kubectl set selector service/typo app=web",))
def fix_typo(lab) -> None:  # noqa: ANN001
    """kubectl set selector service/typo app=web"""
    lab.kubectl(["set", "selector", "service/typo", "app=web"])


@solution("admin-port", reveals=("  - port: 9000\n    targetPort: 8080\n    nodePort: 30123",))
def admin_port(lab, *, admin_port: int) -> None:  # noqa: ANN001
    """kubectl apply a NodePort Service admin: nodePort <yours> -> 9000 -> 8080"""
    lab.apply(ADMIN.format(node_port=admin_port))
