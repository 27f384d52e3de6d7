"""What runs in a cluster kubelab makes beside Kubernetes itself, the same on every
backend that makes nodes: CoreDNS (the local backend; kind and minikube bring their own),
MetalLB's controller (LoadBalancer addresses) and Traefik (Ingress, behind a LoadBalancer
Service, as K3s sets it up). Manifests: *.yaml beside this module. Shared by the local
backend and the Docker-node backends (kubelab/_backends/docker_nodes); it knows none of
them: each passes its own LoadBalancer range."""
from __future__ import annotations

import time
from pathlib import Path

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._cluster.cluster import Cluster

ADDONS = Path(__file__).parent
CLUSTER_DNS = "10.96.0.10"    # CoreDNS's Service address (service range 10.96.0.0/16)
# The local node's LoadBalancer range, in its 10.240.0.0/24 (kubelab/_backends/local/host.py)
LOCAL_LB_RANGE = ("10.240.0.100", "10.240.0.149")


def manifest(name: str, lb_range: tuple[str, str] = LOCAL_LB_RANGE) -> str:
    """An add-on's manifest with its images and addresses filled in (the Docker-node
    backends pass the LoadBalancer range of their own network)."""
    text = (ADDONS / f"{name}.yaml").read_text()
    values = {**versions.NODE_IMAGES, "cluster_dns": CLUSTER_DNS,
              "lb_range": "-".join(lb_range)}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise AssertionError(f"unfilled placeholder in {name}.yaml")
    return text


def apply(cluster: Cluster, text: str) -> None:
    cluster.kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], input=text,
                    timeout=120)


def rollout(cluster: Cluster, namespace: str, name: str, seconds: int = 120) -> None:
    proc = cluster.kubectl(["rollout", "status", f"deployment/{name}", "-n", namespace,
                            f"--timeout={seconds}s"], timeout=seconds + 10, check=False)
    if proc.returncode != 0:
        pods = cluster.kubectl(["get", "pods", "-n", namespace, "-o", "wide"],
                               check=False).stdout
        raise KubelabError(tr("{namespace}/{name} did not become ready:\n{error}\n{pods}",
                              namespace=namespace, name=name, error=proc.stderr.strip(),
                              pods=pods),
                           tr("read its logs: `kubectl logs -n {namespace} "
                              "deployment/{name}`; then `kubelab down`.",
                              namespace=namespace, name=name))


def install(cluster: Cluster, log=print,  # noqa: ANN001
            lb_range: tuple[str, str] = LOCAL_LB_RANGE) -> dict[str, float]:
    """Apply and wait for each add-on; returns seconds per add-on (for the benchmark)."""
    took: dict[str, float] = {}
    t = time.monotonic()
    apply(cluster, manifest("coredns", lb_range))
    crds = binaries.node_group("metallb") / "crds"
    for f in sorted(crds.glob("*.yaml")):
        apply(cluster, f.read_text())
    apply(cluster, manifest("metallb", lb_range))
    apply(cluster, manifest("traefik", lb_range))
    cluster.kubectl(["wait", "--for=condition=Established", "crd/ipaddresspools.metallb.io",
                     "--timeout=60s"], timeout=70)
    apply(cluster, manifest("metallb-pool", lb_range))
    install_gateway_api(cluster, log)
    for namespace, name in (("kube-system", "coredns"), ("metallb-system", "controller"),
                            ("kube-system", "traefik")):
        rollout(cluster, namespace, name)
        took[name] = round(time.monotonic() - t, 1)
    log(tr("add-ons ready: {took}", took=", ".join(f"{k} {v} s" for k, v in took.items())))
    return took


def install_gateway_api(cluster: Cluster, log=print) -> bool:  # noqa: ANN001
    """The Gateway API's CRDs and the GatewayClass `traefik` (Traefik's Gateway provider
    routes for it). A cluster without them still works: chapter 07 says why it skips."""
    from kubelab._build import gateway
    try:
        gateway.install(cluster, log, gateway_class=True)
        return True
    except KubelabError as e:
        log(tr("the Gateway API is not installed: {problem} ({fix})", problem=e.problem,
               fix=e.fix))
        return False
