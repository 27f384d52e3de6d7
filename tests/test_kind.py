"""A real kind cluster: 1 control plane and 2 workers, each a Docker container, from the
node image built here (`kubelab build --kind`). Containers run, traffic crosses nodes,
DNS answers, a LoadBalancer gets an address that serves, Traefik routes by host and by
path (through its EXTERNAL-IP and through kind's port mapping on 127.0.0.1:8080), the
kubelet restarts a killed container, and every chapter runs on it once. Last, `down`
must leave no container, route or firewall rule behind.

It runs when KUBELAB_TEST_BACKENDS names kind (or KUBELAB_REQUIRE_KIND=1), and needs Linux,
root and a Docker engine (.ci/run starts kubelab's own); elsewhere the module is skipped and
says why, unless KUBELAB_REQUIRE_KIND=1 (CI), where it fails (tests/labs.py's start_lab).
"""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import cluster_checks as checks
import pytest
from notebook_runs import checks_passed, execute
from notebook_runs import report as notebook_report

from kubelab import _backends as backends
from kubelab._backends import kind
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._session import features
from kubelab._session.traffic import http_get
from kubelab._system.engine import answers
from kubelab.cli.bench import pod_start_latencies, rollouts_under_traffic

ROOT = Path(__file__).resolve().parent.parent
# Every chapter runs on the local node (tests/test_local_node.py); kind runs the ones that
# need several real nodes to show what they teach: pods spread over nodes (05a), a
# Service's endpoints on several nodes and a LoadBalancer (06), an Ingress controller in
# front of pods on several nodes (07). 00 on kind checked nothing the local node's run of
# it does not.
KIND_CHAPTERS = ("05a-pods-replicasets", "06-services", "07-ingress")
NOTEBOOKS = [ROOT / "notebooks" / f"{c}.ipynb" for c in KIND_CHAPTERS]
REPORT = ROOT / ".ci-state" / "kind-report.txt"
NODES = 3

pytestmark = [pytest.mark.cluster, pytest.mark.kind]


def report(line: str) -> None:
    notebook_report(line, REPORT)


def why_not_here() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "the kind tests need root on Linux (kubelab's engine, the LoadBalancer route)"
    ok, why = answers()
    if not ok:
        return f"no Docker engine: {why}"
    if not kind.built_image_available():
        return "the node image is not built (`kubelab build --kind`)"
    try:
        kind.kind_binary()
    except KubelabError as e:
        return e.problem
    return None


def machine_state() -> dict:
    return checks.docker_machine_state("io.x-k8s.kind.cluster")


@pytest.fixture(scope="module")
def kl(start_lab):
    with start_lab("kind", NODES, require_env="KUBELAB_REQUIRE_KIND",
                   why_not_here=why_not_here, machine_state=machine_state) as up:
        cluster, seconds = up.cluster, up.seconds
        report(f"kind: up in {seconds:.1f} s ({NODES} nodes, image "
               f"{cluster.details['image']}), {checks.record_up('kind', cluster, seconds)}")
        import kubelab
        lab = kubelab.open_lab("kind-tests")
        yield {"cluster": cluster, "lab": lab, "before": up.before}


@pytest.fixture(scope="module")
def web(kl):
    return checks.start_web(kl["lab"])


def test_three_real_nodes_each_a_docker_container(kl):
    lab = kl["lab"]
    nodes = {n["metadata"]["name"]: n for n in lab.list("Node")}
    assert sorted(nodes) == ["kubelab-control-plane", "kubelab-worker", "kubelab-worker2"]
    for n in nodes.values():
        info = n["status"]["nodeInfo"]
        assert info["kubeletVersion"] == versions.KUBERNETES
        assert info["containerRuntimeVersion"] == f"containerd://{versions.CONTAINERD[1:]}"
        assert any(c["type"] == "Ready" and c["status"] == "True"
                   for c in n["status"]["conditions"])
    assert nodes["kubelab-control-plane"]["metadata"]["labels"].get("ingress-ready") == "true"
    running = checks.docker("ps", "--filter", "label=io.x-k8s.kind.cluster=kubelab",
                     "--format", "{{.Names}}").split()
    assert sorted(running) == sorted(nodes)
    server = json.loads(lab.kubectl("version -o json", namespace=None))["serverVersion"]
    assert server["gitVersion"] == versions.KUBERNETES
    report(f"kind nodes: {', '.join(sorted(nodes))}; kubelet {versions.KUBERNETES}, "
           f"containerd {versions.CONTAINERD}")


def test_logs_per_container_and_exec(kl):
    checks.logs_per_container_and_exec(kl["lab"])


def test_clusterip_and_dns_name_from_a_pod(kl, web):
    checks.clusterip_and_dns_name_from_a_pod(kl["lab"], web)


def test_requests_spread_over_replicas_on_several_nodes(kl, web):
    lab = kl["lab"]
    counts = checks.requests_spread_over_replicas(lab, web)
    on = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in lab.wait_pods("app=web", 3)}
    nodes_served = {on[p] for p, c in counts.items() if c}
    report(f"60 requests to a 3-replica Service: {sorted(counts.values(), reverse=True)}, "
           f"answered from {len(nodes_served)} nodes")
    assert len(nodes_served) >= 2, (counts, on)       # traffic crossed nodes


def test_nodeport_from_the_host_on_every_node(kl, web):
    lab = kl["lab"]
    port = checks.nodeport(lab)
    for n in lab.list("Node"):
        ip = next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
        assert http_get(f"http://{ip}:{port}/hostname") in web, n["metadata"]["name"]


def test_loadbalancer_gets_an_address_that_answers(kl, web):
    ip = checks.loadbalancer_address(kl["lab"])
    lo, hi = kl["cluster"].details["lb_range"].split("-")
    assert lo.rsplit(".", 1)[0] == ip.rsplit(".", 1)[0]
    assert int(lo.rsplit(".", 1)[1]) <= int(ip.rsplit(".", 1)[1]) <= int(hi.rsplit(".", 1)[1])
    assert http_get(f"http://{ip}/hostname") in web
    report(f"LoadBalancer web-lb: EXTERNAL-IP {ip} answered (MetalLB {versions.METALLB})")


def test_externalname_resolves_to_its_cname(kl, web):
    checks.externalname_resolves_to_its_cname(kl["lab"])


def test_ingress_routes_by_host_and_path(kl, web):
    lab = kl["lab"]
    traefik = lab.get("Service", "traefik", namespace="kube-system")
    address = traefik["status"]["loadBalancer"]["ingress"][0]["ip"]
    by_host, by_path, _ = checks.ingress_routes_by_host_and_path(lab, f"http://{address}")
    checks.ingress_status_shows(lab, address)
    # and through kind's port mapping, as kind's Ingress guide does it
    mapped = checks.ingress_routes_by_host_and_path(lab, "http://127.0.0.1:8080")
    report(f"Ingress (Traefik {versions.TRAEFIK}) at {address} and 127.0.0.1:8080: by host "
           f"-> {by_host}, by path /api -> {by_path} (mapped: {mapped[1]}), unknown -> 404")


def test_rolling_update_serves_every_request_and_recreate_does_not(kl, web):
    counts = rollouts_under_traffic(kl["lab"])
    (rolling, _), (recreate, _) = counts["RollingUpdate"], counts["Recreate"]
    report(f"RollingUpdate under traffic: {rolling}; Recreate: {recreate}")
    assert rolling.failed == 0 and rolling.served >= 20, rolling
    assert recreate.failed >= 1, recreate


def test_the_kubelet_restarts_a_killed_container(kl, web):
    def kill(pod: dict) -> None:
        node = pod["spec"]["nodeName"]
        container_id = pod["status"]["containerStatuses"][0]["containerID"].split("//")[1]
        info = json.loads(checks.docker("exec", node, "crictl", "inspect", container_id))
        checks.docker("exec", node, "kill", "-9", str(info["info"]["pid"]))
    checks.restarted_after_kill(kl["lab"], kill)


def test_a_deleted_pod_is_replaced_by_its_replicaset(kl, web):
    checks.replaced_after_delete(kl["lab"])


def test_pod_start_latency(kl):
    latencies = pod_start_latencies(kl["lab"], 10)
    report(f"kind create-to-Running, 10 pods: median {statistics.median(latencies):.1f} s, "
           f"max {max(latencies):.1f} s")
    assert max(latencies) < 60


CONTAINER_REASONS = (features.FEATURES["containers"], features.FEATURES["host-network"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_on_kind(kl, notebook, tmp_path):
    nb, figures = execute(notebook, tmp_path / f"{notebook.stem}.kind.ipynb",
                          {"backend": "auto"}, wrong_answers=False)
    report(f"{notebook.stem} on kind: {figures}")
    assert checks_passed(nb) > 0
    skipped = [o.get("text", "") for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []) if "⏭ skipped" in o.get("text", "")]
    assert not [s for s in skipped if any(r in s for r in CONTAINER_REASONS)], skipped


def test_down_leaves_no_container_route_or_rule(kl):
    kl["lab"].cleanup()
    start = time.monotonic()
    backends.down(log=print)
    report(f"kind: down in {time.monotonic() - start:.1f} s")
    after, before = machine_state(), kl["before"]
    assert after["containers"] == before["containers"] == []
    assert after["networks"] == before["networks"]
    assert after["interfaces"] == before["interfaces"]
    assert after["routes"] == before["routes"]
    assert after["rules"] == before["rules"]
