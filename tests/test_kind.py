"""A real kind cluster: 1 control plane and 2 workers, each a Docker container, from the
node image built here (`kubelab build --kind`). Containers run, traffic crosses nodes,
DNS answers, a LoadBalancer gets an address that serves, Traefik routes by host and by
path (through its EXTERNAL-IP and through kind's port mapping on 127.0.0.1:8080), the
kubelet restarts a killed container, and a class of six workshop learners runs chapters
05a-07 on it three at a time, with no cross-talk through the shared Ingress controller.
Last, `down` must leave no container, route or firewall rule behind.

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
from learner_logins import GREEDY, HOST_PODS, allowed, as_learner, pod
from notebook_runs import checks_passed
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
# Every chapter runs as the cluster's admin on the local node (tests/test_local_node.py);
# on kind the chapters that need several real nodes and a shared Ingress controller (05a,
# 05b, 06, 07) run as a class of workshop learners (the class section below).
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


# ---------------------------------------------------------------- a class on kind
# A workshop on the 3-node cluster: learners run the chapters that need containers,
# Services, a LoadBalancer and the shared Ingress controller under their own logins, three
# at a time; then every learner's requests go through the one controller at the same
# moment, and each must be answered by that learner's pods.
CLASS = "kindclass"
LEARNERS = 6
AT_ONCE = 3
CLASS_CHAPTERS = ("05a-pods-replicasets", "05b-deployments", "06-services", "07-ingress")
SKIPPED_FOR_CONTAINERS = (features.FEATURES["containers"], "no Ingress controller runs")


@pytest.fixture(scope="module")
def kind_class(kl, tmp_path_factory):
    from kubelab import workshop
    out = tmp_path_factory.mktemp("class")
    start = time.monotonic()
    made = workshop.create(kl["cluster"], workshop.learners_from(None, LEARNERS, CLASS), out,
                           hours=2, log=lambda m: None)
    report(f"class on kind: {LEARNERS} learners created in {time.monotonic() - start:.1f} s")
    yield {m["learner"]: Path(m["kubeconfig"]) for m in made}
    try:
        workshop.delete(kl["cluster"], CLASS, log=lambda m: None)
    except KubelabError:          # the cluster is down already (the last test): all gone
        pass


def _learner_runs(learner: str, kubeconfig: Path, chapters: list[str], out: Path) -> list[str]:
    """One learner's chapters in turn, each in its own papermill process (a kernel per
    learner, as JupyterHub would give them)."""
    import subprocess
    import sys
    lines = []
    for chapter in chapters:
        done = out / f"{learner}-{chapter}.ipynb"
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / f"{chapter}.ipynb"),
             str(done), "-p", "kubeconfig", str(kubeconfig), "-k", "python3",
             "--cwd", str(ROOT / "notebooks"), "--no-progress-bar"],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "KUBELAB_WRONG_ANSWERS": "0"})
        seconds = time.monotonic() - start
        if proc.returncode:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            lines.append(f"FAILED {learner} {chapter} after {seconds:.0f} s:\n{tail}")
            continue
        import nbformat
        nb = nbformat.read(done, as_version=4)
        skipped = [o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if "⏭ skipped" in o.get("text", "")]
        wrong = [s for s in skipped if any(r in s for r in SKIPPED_FOR_CONTAINERS)]
        lines.append((f"FAILED {learner} {chapter}: skipped {wrong}" if wrong else
                      f"{learner} {chapter}") +
                     f": {checks_passed(nb)} checks passed in {seconds:.0f} s")
    return lines


def test_a_class_runs_the_chapters_under_their_logins_three_at_a_time(kind_class, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    names = sorted(kind_class)
    # every learner runs a chapter and every chapter runs; 05b (three minutes of rollouts)
    # once and first, the others twice, so that the three at a time stay busy
    a5a, a5b, s06, i07 = CLASS_CHAPTERS
    plan = dict(zip(names, [[a5b], [a5a], [s06], [i07], [a5a, i07], [s06]]))
    start = time.monotonic()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        results = list(pool.map(lambda n: _learner_runs(n, kind_class[n], plan[n], tmp_path),
                                list(plan)))
    lines = [line for result in results for line in result]
    failures = [line for line in lines if line.startswith("FAILED")]
    report(f"class on kind: {len(lines)} chapter runs by {len(names)} learners, {AT_ONCE} at "
           f"a time, in {time.monotonic() - start:.0f} s, {len(failures)} failures")
    for line in lines:
        report(f"  {line.splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_no_cross_talk_through_the_shared_ingress_controller(kind_class):
    """Each learner serves the same app under the same Ingress name and path, on the host
    chapter 07 gives them; all send requests through kind's 127.0.0.1:8080 at once, and
    every answer must name one of the asker's own pods."""
    from concurrent.futures import ThreadPoolExecutor

    hosts = {}
    for name, kubeconfig in kind_class.items():
        ns = f"{CLASS}-{name}"
        hosts[name] = f"who.{ns}.example.test"       # what lab.host("who") gives them
        allowed(kubeconfig, "apply", "-n", ns, "-f", "-", stdin=WHO.replace("$HOST", hosts[name]))
    for name, kubeconfig in kind_class.items():
        allowed(kubeconfig, "wait", "-n", f"{CLASS}-{name}", "--for=condition=Available",
                "deployment/who", "--timeout=120s")
    pods = {name: set(allowed(kubeconfig, "get", "pods", "-n", f"{CLASS}-{name}", "-l", "app=who",
                              "-o", "jsonpath={.items[*].metadata.name}").split())
            for name, kubeconfig in kind_class.items()}

    def ask(name: str) -> list[str]:
        http_get("http://127.0.0.1:8080/", host_header=hosts[name], within=30)  # routed yet
        return [http_get("http://127.0.0.1:8080/", host_header=hosts[name]).strip()
                for _ in range(20)]
    with ThreadPoolExecutor(len(hosts)) as pool:
        answers = dict(zip(hosts, pool.map(ask, hosts)))
    foreign = {name: [a for a in got if a not in pods[name]] for name, got in answers.items()}
    report("class on kind, cross-talk: " + ", ".join(
        f"{name} {len(got) - len(foreign[name])}/{len(got)} own" for name, got in
        answers.items()))
    assert not any(foreign.values()), foreign
    assert all(len(set(got)) == 2 for got in answers.values()), answers   # both own pods


WHO = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: who}
spec:
  replicas: 2
  selector: {matchLabels: {app: who}}
  template:
    metadata: {labels: {app: who}}
    spec:
      containers:
      - name: agnhost
        image: %s
        args: ["serve-hostname", "--port=8080"]
---
apiVersion: v1
kind: Service
metadata: {name: who}
spec:
  selector: {app: who}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: who}
spec:
  rules:
  - host: $HOST
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: who, port: {number: 80}}}}
""" % versions.IMAGES["agnhost"]


def test_pod_security_and_the_quota_hold_on_real_nodes(kind_class):
    name = sorted(kind_class)[0]
    kubeconfig, ns = kind_class[name], f"{CLASS}-{name}"
    privileged = as_learner(kubeconfig, "create", "-n", ns, "-f", "-",
                            stdin=HOST_PODS["privileged"])
    assert privileged.returncode and "violates PodSecurity" in privileged.stderr, privileged
    over = as_learner(kubeconfig, "create", "-n", ns, "-f", "-", stdin=GREEDY)
    assert over.returncode and "exceeded quota: kubelab-budget" in over.stderr, over
    allowed(kubeconfig, "create", "-n", ns, "-f", "-", stdin=pod(
        "plain", image=versions.IMAGES["agnhost"], command=("/agnhost", "pause")))
    allowed(kubeconfig, "wait", "-n", ns, "--for=condition=Ready", "pod/plain", "--timeout=90s")
    report("class on kind: a privileged pod refused by Pod Security (baseline), a pod over "
           "the quota refused with its message, a plain pod Ready on a real kubelet")


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
