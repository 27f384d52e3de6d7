"""What every backend with real containers must do, as checks shared by the test modules
of those backends (tests/test_local_node.py, tests/test_kind.py, tests/test_minikube.py):
each function runs one experiment on a real cluster through a chapter's Lab and asserts on
what happened."""
from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from kubelab._backends.local import host
from kubelab._base import versions
from kubelab._session.traffic import http_get
from kubelab._system.engine import docker_env
from kubelab.cli.bench import ROLLING

AGNHOST, PREV, BUSYBOX = (versions.IMAGES[k] for k in ("agnhost", "agnhost-prev", "busybox"))
WEB = ROLLING.format(image=PREV)     # 3 replicas, readiness probe, graceful stop
RECORDINGS = Path(__file__).resolve().parent.parent / ".ci-state" / "recordings"
COMPARE = Path(__file__).resolve().parent.parent / ".ci-state" / "compare-report.txt"
SETTLE = 10.0                        # seconds after up before memory is read, for every one
COMPARED = ("kind", "minikube", "local", "local-3", "sandbox")   # local-3: --nodes 3
_compared: dict[str, tuple] = {}     # this test run's backends, as `bench compare` rows


def record_up(name: str, cluster, seconds: float) -> str:  # noqa: ANN001
    """Time to Ready and memory (SETTLE s later) of a backend this test run started, into
    the side-by-side table of .ci-state/compare-report.txt: `kubelab bench compare`'s,
    without starting every backend a second time. The figures, for a report line."""
    from kubelab._system import procs
    from kubelab.cli.bench import cluster_pids, compare_lines
    time.sleep(SETTLE)
    mem = procs.memory_mb(cluster_pids(cluster))
    nodes = len(cluster.kubectl(["get", "nodes", "-o", "name"]).stdout.split())
    _compared[name] = (name, str(nodes), seconds, mem, "")
    rows = [_compared.get(b) or (b, "-", None, None, "skipped in this test run")
            for b in COMPARED]
    COMPARE.parent.mkdir(exist_ok=True)
    COMPARE.write_text("\n".join(compare_lines(rows, SETTLE)) + "\n")
    return f"{mem.held:.0f} MB held ({mem.rss:.0f} MB RSS summed) {SETTLE:.0f} s after up"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True,
                          env=docker_env(), timeout=60).stdout


def docker_machine_state(container_label: str, volumes: bool = False) -> dict:
    """What `down` of a Docker backend must put back: its containers (by label) and the
    engine's networks (and volumes), this machine's routes, interfaces and rules."""
    state = {"containers": docker("ps", "-aq", "--filter", f"label={container_label}").split(),
             "networks": sorted(docker("network", "ls", "--format", "{{.Name}}").split()),
             "interfaces": sorted(host.snapshot()["interfaces"]),
             "routes": subprocess.run(["ip", "route"], capture_output=True, text=True).stdout,
             "rules": {b: host.iptables_rules(b) for b in ("iptables", "ip6tables")}}
    if volumes:
        state["volumes"] = sorted(docker("volume", "ls", "-q").split())
    return state


def client(lab, script: str, name: str = "client") -> str:  # noqa: ANN001
    """Run a shell script in a busybox pod and return what it printed."""
    return lab.run_pod(name, script)


def start_web(lab) -> list[str]:  # noqa: ANN001
    lab.apply(WEB)
    lab.wait_rollout("web")
    return [p["metadata"]["name"] for p in lab.wait_pods("app=web", 3)]


def logs_per_container_and_exec(lab) -> None:  # noqa: ANN001
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


def clusterip_and_dns_name_from_a_pod(lab, web: list[str]) -> None:  # noqa: ANN001
    ip = lab.get("Service", "web")["spec"]["clusterIP"]
    out = client(lab, f"wget -qO- http://{ip}/hostname; echo; "
                      f"nslookup web.{lab.namespace}.svc.cluster.local; "
                      "wget -qO- http://web/hostname")
    lines = out.split()
    assert lines[0] in web, out
    assert ip in out, out                        # the DNS answer is the ClusterIP
    assert lines[-1] in web, out


def requests_spread_over_replicas(lab, web: list[str]) -> dict[str, int]:  # noqa: ANN001
    out = client(lab, "for i in $(seq 60); do wget -qO- http://web/hostname; echo; done")
    counts = {p: out.split().count(p) for p in web}
    assert sum(counts.values()) == 60
    assert sum(1 for c in counts.values() if c) >= 2, counts
    return counts


def nodeport(lab) -> int:  # noqa: ANN001
    lab.apply("""\
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
""")
    return lab.get("Service", "web-np")["spec"]["ports"][0]["nodePort"]


def loadbalancer_address(lab) -> str:  # noqa: ANN001
    """A LoadBalancer Service's EXTERNAL-IP, once the controller assigned one."""
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
    return svc["status"]["loadBalancer"]["ingress"][0]["ip"]


def externalname_resolves_to_its_cname(lab) -> None:  # noqa: ANN001
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


def ingress_routes_by_host_and_path(lab, base_url: str) -> tuple[str, str, str]:  # noqa: ANN001
    """Ingress rules to two ClusterIP Services, asked through `base_url` (the
    controller's address): by host, by path, and 404 for a host with no rule."""
    lab.apply(INGRESS)
    api = {p["metadata"]["name"] for p in lab.wait_pods("app=api", 1)}
    webs = {p["metadata"]["name"] for p in lab.wait_pods("app=web", 3)}
    # Traefik routes a path only once it has seen its Service's endpoints; until then
    # /api falls through to / (web). Ask again for up to 30 s.
    by_host = answer_within(f"{base_url}/hostname", "web.example.test", webs)
    by_path = answer_within(f"{base_url}/api/orders", "lab.example.test", api)
    rest = answer_within(f"{base_url}/hostname", "lab.example.test", webs)
    assert by_host in webs and by_path in api and rest in webs, (by_host, by_path, rest)
    assert {lab.get("Service", n)["spec"]["type"] for n in ("web", "api")} == {"ClusterIP"}
    try:
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310 (the lab's address)
            f"{base_url}/hostname", headers={"Host": "nobody.example.test"}), timeout=5)
        raise AssertionError("a host with no rule was routed")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    return by_host, by_path, rest


def ingress_status_shows(lab, address: str) -> None:  # noqa: ANN001
    ing = lab.wait_for("Ingress", lambda i: bool(i and (i[0].get("status") or {}).get(
        "loadBalancer", {}).get("ingress")), name="routes", timeout=60)[0]
    assert ing["status"]["loadBalancer"]["ingress"][0]["ip"] == address


def restarted_after_kill(lab, kill: Callable[[dict], None]) -> dict:  # noqa: ANN001
    """`kill(pod)` SIGKILLs the pod's first container from outside Kubernetes; the
    kubelet must restart it in the same pod."""
    pod = lab.wait_pods("app=web", 3)[0]
    name = pod["metadata"]["name"]
    kill(pod)
    restarted = lab.wait_for("Pod", lambda ps: bool(ps) and ps[0]["status"][
        "containerStatuses"][0].get("restartCount", 0) >= 1 and ps[0]["status"][
        "containerStatuses"][0].get("ready"), name=name, timeout=60)[0]
    last = restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 137, last             # 128 + SIGKILL
    assert restarted["metadata"]["uid"] == pod["metadata"]["uid"]   # same pod, restarted
    return restarted


def replaced_after_delete(lab) -> dict:  # noqa: ANN001
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
    return new


def record_skipped_cells(nb: dict, chapter: str, backend: str) -> int:
    """Keep what the cells the sandbox skips printed here (.ci-state/recordings/, copied
    into git by tests/record_skipped_outputs.py), and hold the committed recordings to
    this run: the same cells, from the same sources. The number of cells recorded."""
    import recording_capture

    from kubelab._session import recordings
    fresh = recording_capture.capture(nb, chapter, backend, versions.KUBERNETES,
                                      recording_capture.recorded_on(backend))
    recording_capture.save(chapter, fresh, RECORDINGS)
    committed = {what: rec for what, rec in recordings.load(chapter).items()
                 if rec["backend"] == backend}
    assert set(committed) == set(fresh), (
        f"{chapter}: recorded in git {sorted(committed)}, printed here {sorted(fresh)}: "
        "run tests/record_skipped_outputs.py")
    for what, rec in fresh.items():
        assert committed[what]["source"] == rec["source"], f"{chapter}: “{what}” is stale"
    return len(fresh)
