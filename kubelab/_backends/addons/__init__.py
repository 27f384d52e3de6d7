"""What runs in the local cluster itself, as on any other backend: CoreDNS, MetalLB's
controller (LoadBalancer addresses) and Traefik (Ingress, behind a LoadBalancer Service,
as K3s sets it up). Manifests: addons/*.yaml beside this module."""
from __future__ import annotations

import time
from pathlib import Path

from kubelab._backends.local import config, host
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._build import binaries
from kubelab._cluster.cluster import Cluster

ADDONS = Path(__file__).parent


def manifest(name: str, lb_range: tuple[str, str] = host.LB_RANGE) -> str:
    """An add-on's manifest with its images and addresses filled in (the kind backend
    passes the LoadBalancer range of its own network)."""
    text = (ADDONS / f"{name}.yaml").read_text()
    values = {**versions.NODE_IMAGES, "cluster_dns": config.CLUSTER_DNS,
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
        raise KubelabError(f"{namespace}/{name} did not become ready:\n{proc.stderr.strip()}"
                           f"\n{pods}", "read its logs: `kubectl logs -n "
                           f"{namespace} deployment/{name}`; then `kubelab down`.")


def install(cluster: Cluster, log=print) -> dict[str, float]:  # noqa: ANN001
    """Apply and wait for each add-on; returns seconds per add-on (for the benchmark)."""
    took: dict[str, float] = {}
    t = time.monotonic()
    apply(cluster, manifest("coredns"))
    crds = binaries.node_group("metallb") / "crds"
    for f in sorted(crds.glob("*.yaml")):
        apply(cluster, f.read_text())
    apply(cluster, manifest("metallb"))
    apply(cluster, manifest("traefik"))
    cluster.kubectl(["wait", "--for=condition=Established", "crd/ipaddresspools.metallb.io",
                     "--timeout=60s"], timeout=70)
    apply(cluster, manifest("metallb-pool"))
    install_gateway_api(cluster, log)
    for namespace, name in (("kube-system", "coredns"), ("metallb-system", "controller"),
                            ("kube-system", "traefik")):
        rollout(cluster, namespace, name)
        took[name] = round(time.monotonic() - t, 1)
    log("add-ons ready: " + ", ".join(f"{k} {v} s" for k, v in took.items()))
    return took


def install_gateway_api(cluster: Cluster, log=print) -> bool:  # noqa: ANN001
    """The Gateway API's CRDs and the GatewayClass `traefik` (Traefik's Gateway provider
    routes for it). A cluster without them still works: chapter 07 says why it skips."""
    from kubelab._build import gateway
    try:
        gateway.install(cluster, log, gateway_class=True)
        return True
    except KubelabError as e:
        log(f"the Gateway API is not installed: {e.problem} ({e.fix})")
        return False
