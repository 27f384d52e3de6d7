"""The local backend's real node, tested for real: containers run, traffic flows through
Services, DNS answers, a LoadBalancer gets an address that serves, the kubelet restarts a
killed container, and every chapter runs on it. Last, `down` must leave the machine as
it found it (interfaces, mounts, firewall rules, network namespaces, sysctls).

The node gets a KUBELAB_HOME of its own, beside whatever lab is already up (CI's sandbox).
It runs when KUBELAB_TEST_BACKENDS names local, and needs Linux and root; elsewhere the
module is skipped and says why (tests/labs.py's start_lab).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import browser as learner
import cluster_checks as checks
import pytest
from labs import why_no_local_node
from notebook_runs import checks_passed, execute
from notebook_runs import report as notebook_report

from kubelab import _backends as backends
from kubelab._backends.local import host
from kubelab._base import versions
from kubelab._build import binaries
from kubelab._session.traffic import http_get
from kubelab._system import procs
from kubelab.cli.bench import pod_start_latencies, rollouts_under_traffic

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The chapters whose exercise checks look at what containers do (a pod Ready or not, a
# request answered by the right pod) try their wrong answers here too; the others' checks
# read only what the API server stores, the same as on the sandbox, whose English pass
# tries every wrong answer.
WRONG_ANSWERS_HERE = {"01-minikube", "04-kubectl", "05a-pods-replicasets",
                      "05b-deployments", "06-services", "07-ingress"}
REPORT = ROOT / ".ci-state" / "node-report.txt"

pytestmark = [pytest.mark.cluster, pytest.mark.node]


def report(line: str) -> None:
    notebook_report(line, REPORT)


@pytest.fixture(scope="module")
def node(start_lab):
    with start_lab("local", require_env=None, why_not_here=why_no_local_node,
                   machine_state=host.snapshot, what="local node") as up:
        cluster, seconds = up.cluster, up.seconds
        report(f"local node: up in {seconds:.1f} s, "
               f"{checks.record_up('local', cluster, seconds)}")
        import kubelab
        lab = kubelab.open_lab("node-tests")
        yield {"cluster": cluster, "lab": lab, "before": up.before}


@pytest.fixture(scope="module")
def web(node):
    return checks.start_web(node["lab"])


def test_the_node_is_real(node):
    lab = node["lab"]
    n = lab.get("Node", "kubelab-node", namespace=None)
    info = n["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"] == f"containerd://{versions.CONTAINERD[1:]}"
    assert info["kubeletVersion"] == versions.KUBERNETES
    assert n["spec"]["podCIDR"] == host.POD_CIDR
    addresses = {a["type"]: a["address"] for a in n["status"]["addresses"]}
    assert addresses["InternalIP"] == host.NODE_IP
    state = backends.local.node_state()
    report(f"local node: Ready {state['node_ready_seconds']} s after start "
           f"(containerd {versions.CONTAINERD}, kubelet {versions.KUBERNETES})")


def test_logs_per_container_and_exec(node):
    checks.logs_per_container_and_exec(node["lab"])


def test_clusterip_and_dns_name_from_a_pod(node, web):
    checks.clusterip_and_dns_name_from_a_pod(node["lab"], web)


def test_requests_spread_over_replicas(node, web):
    counts = checks.requests_spread_over_replicas(node["lab"], web)
    report(f"60 requests to a 3-replica Service: {sorted(counts.values(), reverse=True)}")


def test_nodeport_from_the_host(node, web):
    port = checks.nodeport(node["lab"])
    assert http_get(f"http://{host.NODE_IP}:{port}/hostname") in web


def test_loadbalancer_gets_an_address_that_answers(node, web):
    ip = checks.loadbalancer_address(node["lab"])
    first, last = (int(a.rsplit(".", 1)[1]) for a in host.LB_RANGE)
    assert ip.startswith("10.240.0.") and first <= int(ip.rsplit(".", 1)[1]) <= last
    assert http_get(f"http://{ip}/hostname") in web
    report(f"LoadBalancer web-lb: EXTERNAL-IP {ip} answered")


def test_externalname_resolves_to_its_cname(node, web):
    checks.externalname_resolves_to_its_cname(node["lab"])


def test_ingress_routes_by_host_and_path_to_clusterip_services(node, web):
    lab = node["lab"]
    traefik = lab.get("Service", "traefik", namespace="kube-system")
    address = traefik["status"]["loadBalancer"]["ingress"][0]["ip"]
    by_host, by_path, _ = checks.ingress_routes_by_host_and_path(lab, f"http://{address}")
    checks.ingress_status_shows(lab, address)
    report(f"Ingress (Traefik {versions.TRAEFIK}) at {address}: by host -> {by_host}, "
           f"by path /api -> {by_path}, unknown host -> 404")


def test_rolling_update_serves_every_request_and_recreate_does_not(node, web):
    counts = rollouts_under_traffic(node["lab"])
    (rolling, _), (recreate, _) = counts["RollingUpdate"], counts["Recreate"]
    report(f"RollingUpdate under traffic: {rolling}; Recreate: {recreate}")
    assert rolling.failed == 0 and rolling.served >= 20, rolling
    assert recreate.failed >= 1, recreate


def test_the_kubelet_restarts_a_killed_container(node, web):
    crictl = binaries.node_group("cri-tools", build=False) / "crictl"
    sock = Path(node["cluster"].details["run_dir"]) / "containerd.sock"

    def kill(pod: dict) -> None:
        container_id = pod["status"]["containerStatuses"][0]["containerID"].split("//")[1]
        info = json.loads(subprocess.run([str(crictl), "--runtime-endpoint",
                                          f"unix://{sock}", "inspect", container_id],
                                         capture_output=True, text=True, check=True).stdout)
        os.kill(info["info"]["pid"], 9)             # SIGKILL the container's process
    checks.restarted_after_kill(node["lab"], kill)


def test_a_deleted_pod_is_replaced_by_its_replicaset(node, web):
    checks.replaced_after_delete(node["lab"])


def test_pod_start_latency(node):
    """Create-to-Running for 10 pods: a figure for the note, bounded loosely."""
    lab = node["lab"]
    latencies = pod_start_latencies(lab, 10)
    report(f"create-to-Running, 10 pods: median {statistics.median(latencies):.1f} s, "
           f"max {max(latencies):.1f} s")
    assert max(latencies) < 60


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_on_the_node(node, notebook, tmp_path):
    nb, figures = execute(notebook, tmp_path / f"{notebook.stem}.local.ipynb",
                          {"backend": "auto"},
                          wrong_answers=notebook.stem in WRONG_ANSWERS_HERE)
    recorded = checks.record_skipped_cells(nb, notebook.stem, "local")
    report(f"{notebook.stem} on the local node: {figures}, {recorded} cells recorded "
           "for the sandbox")
    assert checks_passed(nb) > 0


@pytest.mark.parametrize("chapter", ["05b-deployments", "06-services"])
def test_a_learner_sees_the_chapter_in_a_browser(node, chapter, tmp_path):
    """On real containers the rollout chart has traffic under it, and the Service picture
    has real pods: Run All in Chromium, no error, every check ✓, the live charts changed."""
    learner.require_browser()
    with learner.jupyterlab(tmp_path) as server, learner.chromium_driver() as driver:
        run = learner.run_all(driver, server, chapter)
        errors = learner.page_errors(driver)
        passed, failed = learner.checks(driver)
        charts = learner.charts(driver)
        changed = [n for n in run["pictures_per_cell"].values() if n > 1]
        shots = learner.screenshots(driver, f"local-{chapter}")
    assert not errors, "\n---\n".join(errors)
    assert passed and not failed, failed
    assert charts and all(ok and w > 10 and h > 10 for _, ok, w, h in charts), charts
    assert changed, f"no chart changed while the cells ran: {run['pictures_per_cell']}"
    report(f"{chapter} in Chromium on the local node: {run['code_cells']} code cells in "
           f"{run['ran']:.1f} s, {len(passed)} checks ✓, {len(charts)} charts, "
           f"{len(changed)} changed live")
    for path, what in shots:
        if "chart" in what:
            report(f"screenshot {path.relative_to(ROOT)}: {what} on the local node")


def test_down_leaves_the_machine_as_it_was(node):
    node["lab"].cleanup()
    pids = list(backends.local.node_state().get("pids", {}).values())
    start = time.monotonic()
    backends.down(log=print)
    report(f"local node: down in {time.monotonic() - start:.1f} s")
    after = host.snapshot()
    before = node["before"]
    assert after["interfaces"] == before["interfaces"]
    assert after["mounts"] == before["mounts"]
    assert after["rules"] == before["rules"]
    assert after["netns"] == before["netns"]
    assert after["sysctls"] == before["sysctls"]
    assert not [p for p in pids if procs.alive(p)]
    assert not list(Path("/run").glob("kubelab-*"))
    report(f"after down: {len(after['interfaces'])} interfaces, {len(after['mounts'])} "
           f"mounts, {after['rules']} firewall rules, as before up")
