"""Chapter 07's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

import json

from kubelab._session.solutions import solution, wrong

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
    _admin_path(lab, 80)


def _admin_path(lab, service_port: int) -> None:  # noqa: ANN001
    path = {"path": "/admin", "pathType": "Prefix",
            "backend": {"service": {"name": "admin", "port": {"number": service_port}}}}
    lab.kubectl(["patch", "ingress", "shop", "--type=json", "-p", json.dumps(
        [{"op": "add", "path": "/spec/rules/0/http/paths/0", "value": path}])])


def _no_admin(lab) -> None:  # noqa: ANN001
    """kubectl delete service admin, and patch the /admin path out of the Ingress shop"""
    lab.kubectl(["delete", "service", "admin", "--ignore-not-found"])
    paths = lab.get("Ingress", "shop")["spec"]["rules"][0]["http"]["paths"]
    gone = [{"op": "remove", "path": f"/spec/rules/0/http/paths/{i}"}
            for i, p in reversed(list(enumerate(paths))) if p["path"] == "/admin"]
    if gone:
        lab.kubectl(["patch", "ingress", "shop", "--type=json", "-p", json.dumps(gone)])


@wrong("admin-route", shows=("'admin port': None", "names a Service port"), undo=_no_admin)
def service_on_another_port(lab) -> None:  # noqa: ANN001
    """kubectl apply the Service admin with port 8080 -> 8080, and the path /admin to
    admin's port 80 (no such port: the controller answers 503)"""
    lab.apply(ADMIN.replace("port: 80,", "port: 8080,"))
    _admin_path(lab, 80)


@wrong("admin-route", shows=("'targetPort': 80,", "targetPort"), undo=_no_admin)
def target_port_80(lab) -> None:  # noqa: ANN001
    """kubectl apply the Service admin with port 80 -> 80, and the path /admin to admin's
    port 80 (nothing listens on 80 in the api pods)"""
    lab.apply(ADMIN.replace("targetPort: 8080", "targetPort: 80"))
    _admin_path(lab, 80)


@solution("exact-api", reveals=("`pathType: Exact`",))
def exact_api(lab) -> None:  # noqa: ANN001
    """kubectl patch ingress shop: pathType Exact on the /api path"""
    paths = lab.get("Ingress", "shop")["spec"]["rules"][0]["http"]["paths"]
    index = next(i for i, p in enumerate(paths) if p["path"] == "/api")
    lab.kubectl(["patch", "ingress", "shop", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": f"/spec/rules/0/http/paths/{index}/pathType",
          "value": "Exact"}])])


@wrong("exact-api", shows=("ImplementationSpecific", "nothing below it"))
def implementation_specific(lab) -> None:  # noqa: ANN001
    """kubectl patch ingress shop: pathType ImplementationSpecific on the /api path (up to
    the controller: Traefik treats it as a prefix)"""
    paths = lab.get("Ingress", "shop")["spec"]["rules"][0]["http"]["paths"]
    index = next(i for i, p in enumerate(paths) if p["path"] == "/api")
    lab.kubectl(["patch", "ingress", "shop", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": f"/spec/rules/0/http/paths/{index}/pathType",
          "value": "ImplementationSpecific"}])])


# Exercise 3 starts broken: the Service docs selects app=doc, and the docs pods carry
# app=docs: no endpoints, so the controller answers the docs host with an error (404 from
# Traefik as kubelab installs it, 503 from controllers that keep such a route).
@solution("repair-docs", reveals=("%kubectl set selector service/docs app=docs",))
def repair_docs(lab) -> None:  # noqa: ANN001
    """kubectl set selector service/docs app=docs"""
    lab.kubectl(["set", "selector", "service/docs", "app=docs"])


def _no_stray_docs(lab) -> None:  # noqa: ANN001
    """kubectl delete pods -l app=doc (the pods set loose), then wait for docs's own pod"""
    lab.kubectl(["delete", "pods", "-l", "app=doc", "--wait=true"], timeout=90)
    lab.wait_pods("app=docs", 1)


@wrong("repair-docs", shows=("'docs pods among them': 0", "docs Deployment's own pods"),
       undo=_no_stray_docs)
def relabelled_the_pods(lab) -> None:  # noqa: ANN001
    """kubectl label pods -l app=docs app=doc --overwrite (their ReplicaSet lets them go)

    The Service finds them now, but the ReplicaSet starts a new pod it does not find."""
    lab.kubectl(["label", "pods", "-l", "app=docs", "app=doc", "--overwrite"])
    lab.wait_pods("app=docs", 1)      # the ReplicaSet's new pod


def _docs_backend(lab, service: str) -> None:  # noqa: ANN001
    lab.kubectl(["patch", "ingress", "docs", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/rules/0/http/paths/0/backend/service/name",
          "value": service}])])


def _back_to_docs(lab) -> None:  # noqa: ANN001
    """kubectl patch ingress docs: the backend Service docs again"""
    _docs_backend(lab, "docs")


@wrong("repair-docs", shows=("'backend': 'shop'", "not any pods that answer"),
       undo=_back_to_docs)
def routed_to_shop(lab) -> None:  # noqa: ANN001
    """kubectl patch ingress docs: backend Service shop (it answers, from other pods)"""
    _docs_backend(lab, "shop")
