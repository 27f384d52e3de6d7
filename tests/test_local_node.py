"""The local backend's real node, tested for real: containers run, traffic flows through
Services, DNS answers, a LoadBalancer gets an address that serves, the kubelet restarts a
killed container, and every chapter runs on it. Last, `down` must leave the machine as
it found it (interfaces, mounts, firewall rules, network namespaces, sysctls).

The node gets a KUBELAB_HOME of its own, beside whatever lab is already up (CI's sandbox).
It needs Linux and root; elsewhere the module is skipped and says why.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from test_notebooks import checks_passed, execute
from test_notebooks import report as notebook_report

from kubelab import backends, binaries, procs, versions
from kubelab.bench import ROLLING, pod_start_latencies, rollouts_under_traffic
from kubelab.errors import KubelabError
from kubelab.node import host
from kubelab.traffic import http_get

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORT = ROOT / ".ci-state" / "node-report.txt"
AGNHOST, PREV, BUSYBOX = (versions.IMAGES[k] for k in ("agnhost", "agnhost-prev", "busybox"))

pytestmark = [pytest.mark.cluster, pytest.mark.node]


def report(line: str) -> None:
    notebook_report(line, REPORT)


def why_not_here() -> str | None:
    try:
        host.preflight()
    except KubelabError as e:
        return e.problem
    return None


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    why = why_not_here()
    if why:
        pytest.skip(f"no local node here: {why}")
    mp = pytest.MonkeyPatch()
    mp.setenv("KUBELAB_HOME", str(tmp_path_factory.mktemp("local-node-home")))
    before = host.snapshot()
    start = time.monotonic()
    cluster = backends.up("local", log=print)
    report(f"local node: up in {time.monotonic() - start:.1f} s")
    import kubelab
    lab = kubelab.open_lab("node-tests")
    yield {"cluster": cluster, "lab": lab, "before": before}
    if backends.current(required=False) is not None:       # a test failed before `down`
        backends.down(log=print)
    mp.undo()


def client(lab, script: str, name: str = "client") -> str:  # noqa: ANN001
    """Run a shell script in a busybox pod and return what it printed."""
    return lab.run_pod(name, script)


WEB = ROLLING.format(image=PREV)     # 3 replicas, readiness probe, graceful stop


@pytest.fixture(scope="module")
def web(node):
    lab = node["lab"]
    lab.apply(WEB)
    lab.wait_rollout("web")
    return [p["metadata"]["name"] for p in lab.wait_pods("app=web", 3)]


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
    lab = node["lab"]
    lab.apply(f"""\
apiVersion: v1
kind: Pod
metadata: {{name: two}}
spec:
  containers:
  - name: web
    image: {AGNHOST}
    args: ["netexec", "--http-port=8080"]
  - name: sidecar
    image: {BUSYBOX}
    command: ["sh", "-c", "echo sidecar started; exec sleep 3600"]
""")
    lab.kubectl("wait --for=condition=Ready pod/two --timeout=60s", timeout=70)
    assert "sidecar started" in lab.kubectl("logs two -c sidecar")
    assert "Started HTTP server on port 8080" in lab.kubectl("logs two -c web")
    assert lab.kubectl("exec two -c sidecar -- echo hello from inside").strip() == \
        "hello from inside"
    assert lab.kubectl("exec two -c web -- hostname").strip() == "two"


def test_clusterip_and_dns_name_from_a_pod(node, web):
    lab = node["lab"]
    ip = lab.get("Service", "web")["spec"]["clusterIP"]
    out = client(lab, f"wget -qO- http://{ip}/hostname; echo; "
                      f"nslookup web.{lab.namespace}.svc.cluster.local; "
                      "wget -qO- http://web/hostname")
    lines = out.split()
    assert lines[0] in web, out
    assert ip in out, out                        # the DNS answer is the ClusterIP
    assert lines[-1] in web, out


def test_requests_spread_over_replicas(node, web):
    out = client(node["lab"], "for i in $(seq 60); do wget -qO- http://web/hostname; "
                              "echo; done")
    counts = {p: out.split().count(p) for p in web}
    report(f"60 requests to a 3-replica Service: {sorted(counts.values(), reverse=True)}")
    assert sum(counts.values()) == 60
    assert sum(1 for c in counts.values() if c) >= 2, counts


def test_nodeport_from_the_host(node, web):
    lab = node["lab"]
    lab.apply("""\
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
""")
    port = lab.get("Service", "web-np")["spec"]["ports"][0]["nodePort"]
    assert http_get(f"http://{host.NODE_IP}:{port}/hostname") in web


def test_loadbalancer_gets_an_address_that_answers(node, web):
    lab = node["lab"]
    lab.apply("""\
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
""")
    svc = lab.wait_for("Service", lambda s: bool(s and (s[0].get("status") or {}).get(
        "loadBalancer", {}).get("ingress")), name="web-lb", timeout=30)[0]
    ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
    first, last = (int(a.rsplit(".", 1)[1]) for a in host.LB_RANGE)
    assert ip.startswith("10.240.0.") and first <= int(ip.rsplit(".", 1)[1]) <= last
    assert http_get(f"http://{ip}/hostname") in web
    report(f"LoadBalancer web-lb: EXTERNAL-IP {ip} answered")


def test_externalname_resolves_to_its_cname(node, web):
    lab = node["lab"]
    target = f"web.{lab.namespace}.svc.cluster.local"
    lab.apply(f"""\
apiVersion: v1
kind: Service
metadata: {{name: alias}}
spec:
  type: ExternalName
  externalName: {target}
""")
    out = client(lab, f"nslookup -type=CNAME alias.{lab.namespace}.svc.cluster.local")
    assert f"canonical name = {target}" in out, out


INGRESS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: api
        image: {AGNHOST}
        args: ["serve-hostname", "--port=8080"]
---
apiVersion: v1
kind: Service
metadata: {{name: api}}
spec:
  selector: {{app: api}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: routes}}
spec:
  rules:
  - host: web.example.test
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
  - host: lab.example.test
    http:
      paths:
      - {{path: /api, pathType: Prefix, backend: {{service: {{name: api, port: {{number: 80}}}}}}}}
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"""


def answer_within(url: str, host_header: str, expected: set[str], within: float = 30) -> str:
    """The first answer in `expected`, or the last one after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        got = http_get(url, host_header=host_header)
        if got in expected or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_ingress_routes_by_host_and_path_to_clusterip_services(node, web):
    import urllib.error
    import urllib.request
    lab = node["lab"]
    lab.apply(INGRESS)
    api = {p["metadata"]["name"] for p in lab.wait_pods("app=api", 1)}
    webs = {p["metadata"]["name"] for p in lab.wait_pods("app=web", 3)}
    traefik = lab.get("Service", "traefik", namespace="kube-system")
    address = traefik["status"]["loadBalancer"]["ingress"][0]["ip"]
    # Traefik routes a path only once it has seen its Service's endpoints; until then
    # /api falls through to / (web). Ask again for up to 30 s.
    by_host = answer_within(f"http://{address}/hostname", "web.example.test", webs)
    by_path = answer_within(f"http://{address}/api/orders", "lab.example.test", api)
    rest = answer_within(f"http://{address}/hostname", "lab.example.test", webs)
    assert by_host in webs and by_path in api and rest in webs, (by_host, by_path, rest)
    assert {lab.get("Service", n)["spec"]["type"] for n in ("web", "api")} == {"ClusterIP"}
    try:
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310 (the LB address)
            f"http://{address}/hostname", headers={"Host": "nobody.example.test"}), timeout=5)
        raise AssertionError("a host with no rule was routed")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    ing = lab.wait_for("Ingress", lambda i: bool(i and (i[0].get("status") or {}).get(
        "loadBalancer", {}).get("ingress")), name="routes", timeout=60)[0]
    assert ing["status"]["loadBalancer"]["ingress"][0]["ip"] == address
    report(f"Ingress (Traefik {versions.TRAEFIK}) at {address}: by host -> {by_host}, "
           f"by path /api -> {by_path}, unknown host -> 404")


def test_rolling_update_serves_every_request_and_recreate_does_not(node, web):
    counts = rollouts_under_traffic(node["lab"])
    (rolling, _), (recreate, _) = counts["RollingUpdate"], counts["Recreate"]
    report(f"RollingUpdate under traffic: {rolling}; Recreate: {recreate}")
    assert rolling.failed == 0 and rolling.served >= 20, rolling
    assert recreate.failed >= 1, recreate


def test_the_kubelet_restarts_a_killed_container(node, web):
    lab = node["lab"]
    pod = lab.wait_pods("app=web", 3)[0]
    name = pod["metadata"]["name"]
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("//")[1]
    crictl = binaries.node_group("cri-tools", build=False) / "crictl"
    sock = Path(node["cluster"].details["run_dir"]) / "containerd.sock"
    info = json.loads(subprocess.run([str(crictl), "--runtime-endpoint", f"unix://{sock}",
                                      "inspect", container_id], capture_output=True,
                                     text=True, check=True).stdout)
    os.kill(info["info"]["pid"], 9)                 # SIGKILL the container's process
    restarted = lab.wait_for("Pod", lambda ps: bool(ps) and ps[0]["status"][
        "containerStatuses"][0].get("restartCount", 0) >= 1 and ps[0]["status"][
        "containerStatuses"][0].get("ready"), name=name, timeout=60)[0]
    last = restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 137, last             # 128 + SIGKILL
    assert restarted["metadata"]["uid"] == pod["metadata"]["uid"]   # same pod, restarted


def test_a_deleted_pod_is_replaced_by_its_replicaset(node, web):
    lab = node["lab"]
    before = {p["metadata"]["name"] for p in lab.wait_pods("app=web", 3)}
    victim = sorted(before)[0]
    lab.kubectl(f"delete pod {victim} --wait=false")
    after = lab.wait_for("Pod", lambda ps: len([p for p in ps if p["metadata"]["name"]
                                                not in before and p["status"].get(
                                                    "containerStatuses", [{}])[0].get(
                                                    "ready")]) == 1,
                         selector="app=web", timeout=60)
    new = next(p for p in after if p["metadata"]["name"] not in before)
    assert new["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")


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
                          {"backend": "auto"})
    report(f"{notebook.stem} on the local node: {figures}")
    assert checks_passed(nb) > 0


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
