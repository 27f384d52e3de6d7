"""What a cluster of Docker nodes (kind, minikube) gets beyond its tool's own: the
chapters' images in every node (each backend's `load`), MetalLB's controller for
LoadBalancer addresses, and Traefik as the Ingress controller on the `ingress-ready` node
(the same manifests as the local backend, kubelab/_backends/addons), reachable on
127.0.0.1:8080 where kind maps the control plane's port 80."""
from __future__ import annotations

import ipaddress
import json
import time
from typing import Callable

from kubelab._backends import addons
from kubelab._backends.docker_nodes import network
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._cluster.cluster import Cluster
from kubelab._system.engine import docker_env
from kubelab._system.run import run

# Traefik on the node kind maps 127.0.0.1:8080 to (the `ingress-ready` control plane).
TRAEFIK_ON_INGRESS_NODE = {"spec": {"template": {"spec": {
    "nodeSelector": {"ingress-ready": "true"},
    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                     "effect": "NoSchedule"}],
    "containers": [{"name": "traefik", "ports": [
        {"name": "web", "containerPort": 8000, "hostPort": 80}]}]}}}}


def lb_range(network_name: str) -> tuple[str, str]:
    """LoadBalancer addresses: the top of the Docker network's IPv4 subnet."""
    out = run(["docker", "network", "inspect", network_name, "--format",
               "{{json .IPAM.Config}}"], 30, env=docker_env())
    subnets = [c.get("Subnet", "") for c in json.loads(out.stdout or "[]")]
    v4 = next(ipaddress.ip_network(s) for s in subnets if s and ":" not in s)
    last = v4.broadcast_address
    return str(last - 55), str(last - 6)


def install(cluster: Cluster, log: Callable[[str], None], *, network_name: str,
            control_plane: str, load: Callable[[], int] | None) -> dict:
    """Images (`load`, unless the node image carries them), MetalLB and Traefik on the
    `ingress-ready` node, LoadBalancer addresses from the top of the Docker network
    `network_name`, routed via `control_plane`. Returns what `down` and the report need."""
    start = time.monotonic()
    details: dict = {}
    try:
        if load:
            details["images_loaded"] = load()
    except binaries.NotBuilt:
        log(tr("the chapters' images are not built here: the nodes pull them from their "
               "registries"))
    lo, hi = lb_range(network_name)
    crds = binaries.node_group("metallb") / "crds"
    for f in sorted(crds.glob("*.yaml")):
        addons.apply(cluster, f.read_text())
    addons.apply(cluster, addons.manifest("metallb", (lo, hi)))
    addons.apply(cluster, addons.manifest("traefik", (lo, hi)))
    cluster.kubectl(["patch", "deployment/traefik", "-n", "kube-system", "--type",
                     "strategic", "-p", json.dumps(TRAEFIK_ON_INGRESS_NODE)])
    details["gateway_api"] = addons.install_gateway_api(cluster, log)
    cluster.kubectl(["wait", "--for=condition=Established", "crd/ipaddresspools.metallb.io",
                     "--timeout=60s"], timeout=70)
    addons.apply(cluster, addons.manifest("metallb-pool", (lo, hi)))
    for namespace, deployment in (("kube-system", "coredns"), ("metallb-system", "controller"),
                                  ("kube-system", "traefik")):
        log(tr("waiting for {namespace}/{deployment}", namespace=namespace,
               deployment=deployment))
        addons.rollout(cluster, namespace, deployment, seconds=240)
    net = ipaddress.ip_network(f"{lo}/26", strict=False)
    if network.route(str(net), network.node_addresses(cluster)[control_plane][0], log):
        details["lb_route"] = str(net)
    else:
        details["missing_features"] = ["host-network"]
    details["lb_range"] = f"{lo}-{hi}"
    details["addons_seconds"] = round(time.monotonic() - start, 1)
    log(tr("add-ons ready in {seconds} s: MetalLB ({low}-{high}), Traefik (the "
           "ingress-ready node's port 80)", seconds=details["addons_seconds"], low=lo, high=hi))
    return details
