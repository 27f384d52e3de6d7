"""The local backend with three real nodes (`kubelab up --backend local --nodes 3`): nodes 2
and 3 run in network namespaces of their own and join with a bootstrap token, the way a
kubeadm worker (or, with the same mechanism, a K3s agent) does. Tested for real: three Ready
nodes with containerd, the join's approved certificate requests, pods spread over the
nodes reach each other and a Service from every node, a stopped kubelet turns its node
NotReady and back, chapter 02 runs with no cell skipped; last, `down` leaves the machine
as it found it.

A separate module from test_local_node.py (one node, every chapter), because three nodes
cost a minute more to start and 02 is the chapter that needs them. Linux and root only,
and only when KUBELAB_TEST_BACKENDS names local (tests/labs.py's start_lab).
"""
from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import cluster_checks as checks
import pytest
import recording_capture
from labs import why_no_local_node
from notebook_runs import checks_passed, execute, skipped_cells
from notebook_runs import report as notebook_report

from kubelab import _backends as backends
from kubelab._backends.local import host, join, workers
from kubelab._base import versions
from kubelab._session import features
from kubelab._session.traffic import http_get
from kubelab._system import procs
from kubelab.lab import node_ready

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / ".ci-state" / "node-report.txt"
NODES = ["kubelab-node", "kubelab-node-2", "kubelab-node-3"]
AGNHOST = versions.IMAGES["agnhost"]
BUSYBOX = versions.IMAGES["busybox"]

pytestmark = [pytest.mark.cluster, pytest.mark.node]


def report(line: str) -> None:
    notebook_report(line, REPORT)


@pytest.fixture(scope="module")
def nodes(start_lab):
    with start_lab("local", 3, require_env=None, why_not_here=why_no_local_node,
                   machine_state=host.snapshot, what="local nodes") as up:
        cluster, seconds = up.cluster, up.seconds
        report(f"local backend, 3 nodes: up in {seconds:.1f} s, "
               f"{checks.record_up('local-3', cluster, seconds)}")
        import kubelab
        lab = kubelab.open_lab("nodes-tests")
        yield {"cluster": cluster, "lab": lab, "before": up.before}


SPREAD = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: spread}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: spread}}}}
  template:
    metadata: {{labels: {{app: spread}}}}
    spec:
      topologySpreadConstraints:
      - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {{matchLabels: {{app: spread}}}}}}
      containers:
      - {{name: agnhost, image: {AGNHOST}, args: [netexec, --http-port=8080]}}
---
apiVersion: v1
kind: Service
metadata: {{name: spread}}
spec:
  type: NodePort
  selector: {{app: spread}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def client_on(lab, node: str) -> str:
    """A busybox pod pinned to `node`, to run commands from there."""
    name = f"client-{node.rsplit('-', 1)[-1]}" if node != NODES[0] else "client-1"
    lab.apply(f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  containers:
  - {{name: sh, image: {BUSYBOX}, command: [sleep, "3600"]}}
""")
    lab.kubectl(f"wait --for=condition=Ready pod/{name} --timeout=60s", timeout=70)
    return name


@pytest.fixture(scope="module")
def spread(nodes):
    lab = nodes["lab"]
    lab.apply(SPREAD)
    pods = lab.wait_pods("app=spread", 3, timeout=120)
    return {p["spec"]["nodeName"]: p for p in pods}


def test_three_real_nodes_are_ready(nodes):
    lab = nodes["lab"]
    found = {n["metadata"]["name"]: n for n in lab.list("Node", namespace=None)}
    assert sorted(found) == NODES
    for index, name in enumerate(NODES, start=1):
        n = found[name]
        assert node_ready(n), name
        info = n["status"]["nodeInfo"]
        assert info["containerRuntimeVersion"] == f"containerd://{versions.CONTAINERD[1:]}"
        assert info["kubeletVersion"] == versions.KUBERNETES
        addresses = {a["type"]: a["address"] for a in n["status"]["addresses"]}
        assert addresses["InternalIP"] == host.node_ip(index)
    assert len({n["spec"]["podCIDR"] for n in found.values()}) == 3
    state = backends.local.node_state()
    rss = {k: workers.rss_mb(state, k) for k in (2, 3)}
    report(f"local backend, 3 nodes: node 1 Ready {state['node_ready_seconds']} s, all 3 "
           f"Ready {state['nodes_ready_seconds']} s after start; RSS of node 2's and 3's "
           f"containerd+kubelet+kube-proxy+shims: {rss[2]} MB, {rss[3]} MB")


def test_nodes_2_and_3_joined_with_a_bootstrap_token(nodes):
    lab = nodes["lab"]
    tokens = {s["metadata"]["name"].removeprefix("bootstrap-token-")
              for s in lab.list("Secret", namespace="kube-system")
              if s.get("type") == "bootstrap.kubernetes.io/token"}
    assert len(tokens) == 1, tokens
    csrs = [c for c in lab.list("CertificateSigningRequest", namespace=None)
            if c["spec"]["username"].startswith("system:bootstrap:")]
    joined = {}
    for c in csrs:
        assert c["spec"]["username"].removeprefix("system:bootstrap:") in tokens
        assert "Approved" in [x["type"] for x in c["status"].get("conditions") or []]
        assert c["status"].get("certificate"), "approved but not signed"
        pem = base64.b64decode(c["spec"]["request"])
        subject = subprocess.run(["openssl", "req", "-noout", "-subject"], input=pem,
                                 capture_output=True, check=True).stdout.decode()
        joined[subject.split("CN", 1)[1].strip(" =\n")] = c["spec"]["username"]
    assert sorted(joined) == ["system:node:kubelab-node-2", "system:node:kubelab-node-3"]
    assert join.GROUP in {g for c in csrs for g in c["spec"]["groups"]}
    report(f"join: token {sorted(tokens)[0]}.****; CSRs approved and signed for "
           f"{', '.join(sorted(joined))}, from {sorted(set(joined.values()))}")


def test_a_spread_deployment_has_a_pod_on_each_node(spread):
    assert sorted(spread) == NODES


def test_pods_reach_each_other_and_the_service_from_every_node(nodes, spread):
    lab = nodes["lab"]
    on_2 = spread["kubelab-node-2"]
    names = {p["metadata"]["name"] for p in spread.values()}
    client = client_on(lab, "kubelab-node-3")
    out = lab.kubectl(f"exec {client} -- timeout 5 wget -qO- "
                      f"http://{on_2['status']['podIP']}:8080/hostname", timeout=30)
    assert out.strip() == on_2["metadata"]["name"]
    port = lab.get("Service", "spread")["spec"]["ports"][0]["nodePort"]
    answered = {}
    for index, node in enumerate(NODES, start=1):
        name = client if node == "kubelab-node-3" else client_on(lab, node)
        seen = {lab.kubectl(f"exec {name} -- timeout 5 wget -qO- http://spread/hostname",
                            timeout=30).strip() for _ in range(6)}
        assert seen <= names and seen, seen
        answered[node] = http_get(f"http://{host.node_ip(index)}:{port}/hostname")
        assert answered[node] in names
    report(f"pod on kubelab-node-3 -> pod on kubelab-node-2: answered; Service spread from "
           f"pods on all 3 nodes, NodePort {port} on {', '.join(answered)}")


def test_a_stopped_kubelet_turns_its_node_not_ready_and_back(nodes):
    lab = nodes["lab"]
    start = time.monotonic()
    lab.node_stop("kubelab-node-2")
    gone = lab.wait_for("Node", lambda ns: bool(ns) and not node_ready(ns[0]),
                        name="kubelab-node-2", timeout=120)
    not_ready = time.monotonic() - start
    assert gone and not node_ready(gone[0])
    start = time.monotonic()
    lab.node_start("kubelab-node-2")
    back = lab.wait_for("Node", lambda ns: bool(ns) and node_ready(ns[0]),
                        name="kubelab-node-2", timeout=120)
    assert back and node_ready(back[0])
    report(f"kubelet of kubelab-node-2 stopped: NotReady after {not_ready:.0f} s; started "
           f"again: Ready after {time.monotonic() - start:.0f} s")


def test_chapter_01_runs_its_multi_node_cells(nodes, tmp_path):
    """01's cells about several nodes (pods spread over them, a NodePort on every node) on
    three real nodes; what it skips is minikube's own CLI only, shown as minikube's
    recordings."""
    nodes["lab"].cleanup()
    notebook = ROOT / "notebooks" / "01-minikube.ipynb"
    nb, figures = execute(notebook, tmp_path / "01-minikube.nodes.ipynb", {"backend": "auto"},
                          wrong_answers=False)
    report(f"01-minikube on the local backend with 3 nodes: {figures}")
    skips = [line for cell in nb["cells"] if cell["cell_type"] == "code"
             for out in cell.get("outputs", []) for line in "".join(out.get("text", ""))
             .splitlines() if line.startswith("⏭ skipped")]
    assert skips and all(features.FEATURES["minikube"] in line for line in skips), skips
    assert checks_passed(nb) > 0


def test_chapter_02_runs_every_cell(nodes, tmp_path):
    nodes["lab"].cleanup()
    notebook = ROOT / "notebooks" / "02-k3s.ipynb"
    nb, figures = execute(notebook, tmp_path / "02-k3s.nodes.ipynb", {"backend": "auto"},
                          wrong_answers=False)
    report(f"02-k3s on the local backend with 3 nodes: {figures}")
    assert skipped_cells(nb) == 0
    assert checks_passed(nb) > 0
    # what the sandbox shows under its skipped join cells (tests/recording_capture.RECORDED_ON)
    checks.record_skipped_cells(nb, "02-k3s", recording_capture.RECORDED_ON["node-join"])


def test_down_leaves_the_machine_as_it_was(nodes):
    nodes["lab"].cleanup()
    pids = list(backends.local.node_state().get("pids", {}).values())
    start = time.monotonic()
    backends.down(log=print)
    report(f"local backend, 3 nodes: down in {time.monotonic() - start:.1f} s")
    after, before = host.snapshot(), nodes["before"]
    for key in ("interfaces", "mounts", "rules", "netns", "sysctls"):
        assert after[key] == before[key], key
    assert not [p for p in pids if procs.alive(p)]
    assert not list(Path("/run").glob("kubelab-*"))
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{host.NODE_PREFIX}*"))
    report(f"after down (3 nodes): {len(after['interfaces'])} interfaces, "
           f"{len(after['mounts'])} mounts, {after['rules']} firewall rules, as before up")
