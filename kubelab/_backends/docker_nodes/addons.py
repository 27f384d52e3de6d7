"""What a kind cluster gets beyond kind's own: the chapters' images in every node, MetalLB's
controller for LoadBalancer addresses, and Traefik as the Ingress controller (the same
manifests as the local backend, kubelab/backends/local/addons/), reachable on
127.0.0.1:8080 through kind's port mapping of the control plane's port 80."""
from __future__ import annotations

import ipaddress
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from kubelab._backends import addons
from kubelab._backends.docker_nodes import network
from kubelab._base.errors import KubelabError
from kubelab._build import binaries, images
from kubelab._cluster.cluster import Cluster
from kubelab._system.engine import docker_env

# Traefik on the node kind maps 127.0.0.1:8080 to (the `ingress-ready` control plane).
TRAEFIK_ON_INGRESS_NODE = {"spec": {"template": {"spec": {
    "nodeSelector": {"ingress-ready": "true"},
    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                     "effect": "NoSchedule"}],
    "containers": [{"name": "traefik", "ports": [
        {"name": "web", "containerPort": 8000, "hostPort": 80}]}]}}}}


def load_images(name: str, log: Callable[[str], None]) -> int:
    """`kind load image-archive` of the chapters' and add-ons' images built here."""
    from kubelab._backends.kind import kind_binary
    progs = binaries.node_programs(build=False)
    wanted = [i for i in images.workbook_images(progs)
              if "pause" not in i.name and "coredns" not in i.name]
    with tempfile.TemporaryDirectory(prefix="kubelab-kind-images-") as tmp:
        for image in wanted:
            archive = Path(tmp) / "image.tar"
            archive.write_bytes(images.oci_archive(image))
            log(f"loading {image.name} into the nodes")
            proc = subprocess.run([kind_binary(), "load", "image-archive", str(archive),
                                   "--name", name], capture_output=True, text=True,
                                  env=docker_env(), timeout=300)
            if proc.returncode != 0:
                raise KubelabError(f"kind could not load {image.name}: {proc.stderr.strip()}",
                                   "run `kubelab down`, then `kubelab up --backend kind`.")
    return len(wanted)


def install(cluster: Cluster, log: Callable[[str], None], *, network_name: str,
            control_plane: str, load: Callable[[], int] | None) -> dict:
    """Images (`load`, unless the node image carries them), MetalLB and Traefik on the
    `ingress-ready` node, LoadBalancer addresses from the top of the Docker network
    `network_name`, routed via `control_plane`. Returns what `down` and the report need."""
    from kubelab._backends.kind import lb_range
    start = time.monotonic()
    details: dict = {}
    try:
        if load:
            details["images_loaded"] = load()
    except KubelabError as e:
        if "not built yet" not in e.problem:
            raise
        log("the chapters' images are not built here: the nodes pull them from their "
            "registries")
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
        log(f"waiting for {namespace}/{deployment}")
        addons.rollout(cluster, namespace, deployment, seconds=240)
    net = ipaddress.ip_network(f"{lo}/26", strict=False)
    if network.route(str(net), network.node_addresses(cluster)[control_plane][0], log):
        details["lb_route"] = str(net)
    else:
        details["missing_features"] = ["host-network"]
    details["lb_range"] = f"{lo}-{hi}"
    details["addons_seconds"] = round(time.monotonic() - start, 1)
    log(f"add-ons ready in {details['addons_seconds']} s: MetalLB ({lo}-{hi}), Traefik "
        "(the ingress-ready node's port 80)")
    return details
