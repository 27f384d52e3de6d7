"""Pod networking for kind nodes made from the image built here, which has no kindnetd.

kindnetd, kind's default CNI, cannot be built here (its Go module,
sigs.k8s.io/kind/images/kindnetd, is not served by the Go module proxy). What it does for
a cluster on one Docker network is small, so kubelab does the same once the nodes exist:
each node gets a CNI configuration for its own pod range (the reference `bridge` and
`host-local` plugins, and `portmap` for hostPort), and a route to every other node's pod
range through that node's address. Nodes added later by hand would need the same.

It also routes the LoadBalancer range from this machine to the control-plane node (Linux,
root), where kube-proxy answers for those addresses: no MetalLB speaker is needed on one
Docker network, and `down` removes the route.
"""
from __future__ import annotations

import json
import os
from typing import Callable

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._cluster.cluster import Cluster
from kubelab._cluster.readiness import has_pod_range, wait_nodes
from kubelab._system.engine import docker_env
from kubelab._system.run import run

BRIDGE = "kubelab0"
CONF = "/etc/cni/net.d/10-kubelab.conflist"


def conflist(pod_cidr: str) -> str:
    return json.dumps({
        "cniVersion": "1.0.0", "name": "kubelab",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_cidr}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ]}, indent=2)


def node_addresses(cluster: Cluster) -> dict[str, tuple[str, str]]:
    """node name -> (InternalIP, podCIDR)."""
    items = json.loads(cluster.kubectl(["get", "nodes", "-o", "json"]).stdout)["items"]
    out = {}
    for n in items:
        ip = next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
        out[n["metadata"]["name"]] = (ip, n["spec"].get("podCIDR", ""))
    return out


def _exec(node: str, argv: list[str], stdin: str | None = None) -> None:
    proc = run(["docker", "exec", "-i", node, *argv], 60, input=stdin, env=docker_env())
    if proc.returncode != 0:
        raise KubelabError(tr("setting up pod networking on {node} failed: {command}: "
                              "{error}", node=node, command=" ".join(argv),
                              error=proc.stderr.strip()),
                           tr("run `kubelab down`, then `kubelab up --backend kind` again."))


def wire(cluster: Cluster, log: Callable[[str], None]) -> None:
    """Each node's CNI configuration and its routes to the other nodes' pod ranges (node
    names are their containers' names, in kind and in minikube)."""
    # a node just registered gets its range from the controller-manager soon after
    wait_nodes(cluster, len(node_addresses(cluster)), log, seconds=30,
               what=N_("the nodes' pod ranges"),
               fix=tr("the controller-manager allocates them; run `kubelab up` again."),
               state=has_pod_range, label=N_("with a pod range"))
    nodes = node_addresses(cluster)
    for node, (ip, cidr) in nodes.items():
        _exec(node, ["sh", "-c", f"cat > {CONF}"], stdin=conflist(cidr))
        for other, (other_ip, other_cidr) in nodes.items():
            if other != node:
                _exec(node, ["ip", "route", "replace", other_cidr, "via", other_ip])
    log(tr("pod networking: {count} nodes, routes between {ranges}", count=len(nodes),
           ranges=", ".join(cidr for _, cidr in nodes.values())))


def route(cidr: str, via: str, log: Callable[[str], None]) -> bool:
    """Route the LoadBalancer range to the control-plane node (needs root on Linux)."""
    if os.name != "posix" or os.geteuid() != 0:
        log(tr("LoadBalancer addresses answer inside the cluster; from this machine they "
               "need a route, which only root can add (use the NodePort or the Ingress port "
               "instead)"))
        return False
    proc = run(["ip", "route", "replace", cidr, "via", via], 10)
    if proc.returncode != 0:
        log(tr("no route to the LoadBalancer range: {error}", error=proc.stderr.strip()))
        return False
    return True


def unroute(cluster: Cluster, name: str) -> None:
    cidr = cluster.details.get("lb_route")
    if cidr and os.name == "posix" and os.geteuid() == 0:
        run(["ip", "route", "delete", cidr], 10)
