"""A real minikube cluster: minikube v1.38.1 (built from its Go module), Docker driver,
containerd, 2 nodes from the node image built here (`kubelab build --minikube`), started
offline. Containers run on both nodes, traffic crosses them, a NodePort and a
LoadBalancer answer from this machine, Traefik routes an Ingress, and every chapter runs
on it once: 01 (minikube's own commands: profiles, stop, delete, node add, kubectl, ip,
service, addons) and 02 (kubeadm's bootstrap-token join, a node that goes down) with no
skipped cell. Last, `down` must leave no container, network, route or rule behind.

It runs when KUBELAB_TEST_BACKENDS names minikube (or KUBELAB_REQUIRE_MINIKUBE=1), and
needs Linux, root and a Docker engine (.ci/run starts kubelab's own); elsewhere the module
is skipped and says why, unless KUBELAB_REQUIRE_MINIKUBE=1 (CI), where it fails
(tests/labs.py's start_lab).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import cluster_checks as checks
import pytest
from notebook_runs import checks_passed, execute, skipped_cells
from notebook_runs import report as notebook_report

from kubelab import _backends as backends
from kubelab._backends import minikube
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._session.traffic import http_get
from kubelab._system import procs
from kubelab._system.engine import answers
from kubelab.cli.bench import cluster_pids

ROOT = Path(__file__).resolve().parent.parent
# The chapters only minikube can run whole: minikube's own CLI (01), a second node that
# joins and stops (02); their minikube recordings are made here. Every other chapter
# needs what the local node (every chapter, tests/test_local_node.py) and kind (05a, 06,
# 07 on three nodes, tests/test_kind.py) already give it: containers, Services,
# LoadBalancer and Ingress on real nodes. Running those on minikube too checked nothing
# new and cost CI about 8 minutes.
MINIKUBE_CHAPTERS = ("01-minikube", "02-k3s")
NOTEBOOKS = [ROOT / "notebooks" / f"{c}.ipynb" for c in MINIKUBE_CHAPTERS]
REPORT = ROOT / ".ci-state" / "minikube-report.txt"
NODES = 2
LABEL = "created_by.minikube.sigs.k8s.io=true"

pytestmark = [pytest.mark.cluster, pytest.mark.minikube]


def report(line: str) -> None:
    notebook_report(line, REPORT)


def why_not_here() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "the minikube tests need root on Linux (kubelab's engine, the LoadBalancer route)"
    ok, why = answers()
    if not ok:
        return f"no Docker engine: {why}"
    if not minikube.built_image_available():
        return "minikube's node image is not built (`kubelab build --minikube`)"
    try:
        minikube.minikube_binary()
    except KubelabError as e:
        return e.problem
    return None


def machine_state() -> dict:
    return checks.docker_machine_state(LABEL, volumes=True)


@pytest.fixture(scope="module")
def mk(start_lab):
    with start_lab("minikube", NODES, require_env="KUBELAB_REQUIRE_MINIKUBE",
                   why_not_here=why_not_here, machine_state=machine_state) as up:
        cluster, seconds = up.cluster, up.seconds
        report(f"minikube {versions.MINIKUBE}: up in {seconds:.1f} s ({NODES} nodes, image "
               f"{cluster.details['image']}), "
               f"{checks.record_up('minikube', cluster, seconds)}")
        import kubelab
        lab = kubelab.open_lab("minikube-tests")
        yield {"cluster": cluster, "lab": lab, "before": up.before}


@pytest.fixture(scope="module")
def web(mk):
    return checks.start_web(mk["lab"])


def test_two_real_nodes_each_a_docker_container(mk):
    lab = mk["lab"]
    nodes = {n["metadata"]["name"]: n for n in lab.list("Node")}
    assert sorted(nodes) == ["kubelab", "kubelab-m02"]
    for n in nodes.values():
        info = n["status"]["nodeInfo"]
        assert info["kubeletVersion"] == versions.KUBERNETES
        assert info["containerRuntimeVersion"] == f"containerd://{versions.CONTAINERD[1:]}"
        assert any(c["type"] == "Ready" and c["status"] == "True"
                   for c in n["status"]["conditions"])
    assert minikube.node_containers() == {"kubelab": "running", "kubelab-m02": "running"}
    profile = json.loads(subprocess.run(
        [minikube.minikube_binary(), "profile", "list", "-o", "json"], capture_output=True,
        text=True, env=minikube.env(), timeout=60).stdout)["valid"][0]
    assert profile["Name"] == "kubelab"
    assert profile["Config"]["KubernetesConfig"]["KubernetesVersion"] == versions.KUBERNETES
    assert profile["Config"]["KubernetesConfig"]["ContainerRuntime"] == "containerd"
    mb = procs.rss_mb(cluster_pids(mk["cluster"]))
    report(f"minikube nodes: {', '.join(sorted(nodes))}; kubelet {versions.KUBERNETES}, "
           f"containerd {versions.CONTAINERD}; {mb:.0f} MB RSS in the node containers; "
           "profile kept in kubelab's MINIKUBE_HOME")
    assert mb > 100


def test_clusterip_and_dns_name_from_a_pod(mk, web):
    checks.clusterip_and_dns_name_from_a_pod(mk["lab"], web)


def test_requests_spread_over_replicas_on_both_nodes(mk, web):
    lab = mk["lab"]
    counts = checks.requests_spread_over_replicas(lab, web)
    on = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in lab.wait_pods("app=web", 3)}
    nodes_served = {on[p] for p, c in counts.items() if c}
    report(f"60 requests to a 3-replica Service: {sorted(counts.values(), reverse=True)}, "
           f"answered from {len(nodes_served)} nodes")
    assert len(nodes_served) == 2, (counts, on)


def test_nodeport_from_the_host_on_every_node(mk, web):
    lab = mk["lab"]
    port = checks.nodeport(lab)
    for n in lab.list("Node"):
        ip = next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
        assert http_get(f"http://{ip}:{port}/hostname") in web, n["metadata"]["name"]


def test_loadbalancer_and_ingress_answer_from_the_host(mk, web):
    lab = mk["lab"]
    ip = checks.loadbalancer_address(lab)
    assert http_get(f"http://{ip}/hostname") in web
    traefik = lab.get("Service", "traefik", namespace="kube-system")
    address = traefik["status"]["loadBalancer"]["ingress"][0]["ip"]
    by_host, by_path, _ = checks.ingress_routes_by_host_and_path(lab, f"http://{address}")
    report(f"minikube LoadBalancer {ip} answered; Ingress at {address}: by host -> "
           f"{by_host}, by path /api -> {by_path}")


def test_a_pull_fails_at_once_where_nothing_can_be_pulled(mk):
    """Offline, kubelab makes a missing image fail to pull at once (not after minutes)."""
    lab = mk["lab"]
    if not mk["cluster"].details.get("offline"):
        pytest.skip("this machine can pull images")
    lab.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: nopull}\nspec:\n  containers:\n"
              "  - {name: c, image: registry.example/none:1.0}\n")
    start = time.monotonic()
    pods = lab.wait_for("Pod", lambda ps: bool(ps) and any(
        (s.get("state", {}).get("waiting") or {}).get("reason") in ("ErrImagePull",
                                                                    "ImagePullBackOff")
        for s in ps[0].get("status", {}).get("containerStatuses") or []),
        name="nopull", timeout=60, stop_on=False)
    assert pods
    assert time.monotonic() - start < 30
    lab.kubectl("delete pod nopull --wait=false")


CONTAINER_REASONS = ("containers", "host-network", "minikube")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_on_minikube(mk, notebook, tmp_path):
    nb, figures = execute(notebook, tmp_path / f"{notebook.stem}.minikube.ipynb",
                          {"backend": "auto"}, wrong_answers=False)
    recorded = checks.record_skipped_cells(nb, notebook.stem, "minikube")
    report(f"{notebook.stem} on minikube: {figures}, {recorded} cells recorded for the "
           "sandbox")
    assert checks_passed(nb) > 0
    assert skipped_cells(nb) == 0, figures
    # chapters leave no profile or node behind (01 starts `second` and adds kubelab-m03)
    assert minikube.node_containers() == {"kubelab": "running", "kubelab-m02": "running"}


def test_down_leaves_no_container_network_route_or_rule(mk):
    mk["lab"].cleanup()
    start = time.monotonic()
    backends.down(log=print)
    report(f"minikube: down in {time.monotonic() - start:.1f} s")
    after, before = machine_state(), mk["before"]
    assert after["containers"] == before["containers"] == []
    assert after["networks"] == before["networks"]
    assert after["volumes"] == before["volumes"]
    assert after["interfaces"] == before["interfaces"]
    assert after["routes"] == before["routes"]
    assert after["rules"] == before["rules"]
