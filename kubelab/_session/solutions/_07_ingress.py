"""Chapter 07's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

import json

from kubelab._session.solutions import solution

ADMIN = """\
apiVersion: v1
kind: Service
metadata: {name: admin}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 8080}]
"""


@solution("admin-route", reveals=("      - path: /admin\n        pathType: Prefix",))
def admin_route(lab) -> None:  # noqa: ANN001
    """kubectl apply the Service admin (app=api), then add the path /admin to the first
    rule of the Ingress shop"""
    lab.apply(ADMIN)
    path = {"path": "/admin", "pathType": "Prefix",
            "backend": {"service": {"name": "admin", "port": {"number": 80}}}}
    lab.kubectl(["patch", "ingress", "shop", "--type=json", "-p", json.dumps(
        [{"op": "add", "path": "/spec/rules/0/http/paths/0", "value": path}])])


@solution("exact-api", reveals=("`pathType: Exact`",))
def exact_api(lab) -> None:  # noqa: ANN001
    """kubectl patch ingress shop: pathType Exact on the /api path"""
    paths = lab.get("Ingress", "shop")["spec"]["rules"][0]["http"]["paths"]
    index = next(i for i, p in enumerate(paths) if p["path"] == "/api")
    lab.kubectl(["patch", "ingress", "shop", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": f"/spec/rules/0/http/paths/{index}/pathType",
          "value": "Exact"}])])
