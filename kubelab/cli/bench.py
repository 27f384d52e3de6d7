"""`kubelab bench sandbox|node|workshop`: figures, not pass/fail. Runs its own sandbox (or
local node) in a private state dir.

Prints: cold start (with --cold: build every binary in an empty cache, then start), warm
start to a Ready apiserver, total RSS of the control plane, apply-to-Ready time of a
3-replica Deployment, and kubelab's per-call overhead as a ratio against calling kubectl.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from kubelab import _backends as backends
from kubelab._backends import sandbox
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._cluster.cluster import env_without_kubeconfig
from kubelab._system import procs
from kubelab._system.run import run
from kubelab.cli.common import command, options, positive
from kubelab.lab import Lab

EXAMPLES = {
    "bench": "kubelab bench sandbox --cold",
    "bench sandbox": "kubelab bench sandbox --calls 100",
    "bench node": "kubelab bench node --cold",
    "bench compare": "kubelab bench compare --settle 30",
    "bench workshop": "kubelab bench workshop --count 30 --backend kind --parallel 5",
}

DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: bench}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: bench}}}}
  template:
    metadata: {{labels: {{app: bench}}}}
    spec:
      containers: [{{name: agnhost, image: "{versions.IMAGES['agnhost']}"}}]
"""


def _timed(fn) -> tuple[float, object]:  # noqa: ANN001
    start = time.monotonic()
    result = fn()
    return time.monotonic() - start, result


def _interleaved_medians(a, b, calls: int) -> tuple[float, float]:  # noqa: ANN001
    """Median seconds of a() and of b(), called alternately so drift hits both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(calls):
        for fn, out in ((a, samples[0]), (b, samples[1])):
            start = time.monotonic()
            fn()
            out.append(time.monotonic() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def main(args: argparse.Namespace) -> int:
    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-") as tmp:
        os.environ["KUBELAB_HOME"] = str(Path(tmp) / "home")
        if args.cold:
            os.environ["KUBELAB_CACHE"] = str(Path(tmp) / "cache")
            os.environ["KUBELAB_DOWNLOAD"] = os.environ.get("KUBELAB_DOWNLOAD", "0")
            build_s, _ = _timed(lambda: binaries.find_all())
            figures.append(("cold build of all sandbox binaries", f"{build_s:.0f} s"))
            cold_s, _ = _timed(lambda: backends.up("sandbox", log=lambda m: None, nodes=2))
            figures.append(("cold start (build + start)", f"{build_s + cold_s:.0f} s"))
            backends.down(log=lambda m: None)
        binaries.find_all()    # warm from here on
        warm_s, cluster = _timed(lambda: backends.up("sandbox", log=lambda m: None, nodes=2))
        try:
            figures.append(("warm start to a Ready apiserver and 2 Ready nodes",
                            f"{warm_s:.1f} s (target < 15 s)"))
            lab = Lab(cluster=cluster, namespace="bench", chapter="bench")
            lab.reset_namespace()
            lab.list("Pod")     # API discovery happens once per session; not part of it
            apply_s, _ = _timed(lambda: (lab.apply(DEPLOYMENT), lab.wait_pods("app=bench", 3)))
            figures.append(("kubectl apply of a 3-replica Deployment to 3 Ready pods",
                            f"{apply_s:.2f} s"))
            mem = procs.memory_mb(sandbox.pids())
            figures.append(("memory of the control plane (5 processes), each page once",
                            f"{mem.held:.0f} MB (target < 400 MB)"
                            + ("" if mem.exact else " (PSS: page frames unreadable)")))
            figures.append(("RSS summed per process / each page once",
                            f"{mem.rss:.0f} MB / {mem.held:.0f} MB = "
                            f"{mem.rss / mem.held:.2f} (shared code)"))
            direct_argv = cluster.kubectl_argv(["get", "pods"], "bench")
            env = env_without_kubeconfig()
            direct, via = _interleaved_medians(
                lambda: subprocess.run(direct_argv, capture_output=True, env=env, check=True),
                lambda: lab.kubectl("get pods"), args.calls)
            figures.append((f"kubectl get pods, median of {args.calls}: direct / via kubelab",
                            f"{direct * 1000:.0f} ms / {via * 1000:.0f} ms"))
            figures.append(("kubelab overhead ratio (via / direct)",
                            f"{via / direct:.3f} (target < 1.10)"))
        finally:
            backends.down(log=lambda m: None)
    _print_figures(f"kubelab bench — Kubernetes {versions.KUBERNETES}, etcd {versions.ETCD}, "
                   f"kwok {versions.KWOK}, {os.cpu_count()} cores", figures)
    return 0


def _print_figures(title: str, figures: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in figures)
    print(title)
    for key, value in figures:
        print(f"  {key:<{width}}  {value}")


# ------------------------------------------------------------------ workshop load

def _request_histogram(cluster) -> tuple[dict[float, float], float]:  # noqa: ANN001
    """Cumulative bucket counts (le -> count) of apiserver_request_duration_seconds over
    every verb except WATCH and CONNECT (long-running), and their total count."""
    import re
    text = cluster.kubectl(["get", "--raw", "/metrics"], timeout=60).stdout
    buckets: dict[float, float] = {}
    pattern = re.compile(r'^apiserver_request_duration_seconds_bucket\{(.*)\} (\S+)$')
    for line in text.splitlines():
        m = pattern.match(line)
        if not m or 'verb="WATCH"' in m.group(1) or 'verb="CONNECT"' in m.group(1):
            continue
        le = re.search(r'le="([^"]+)"', m.group(1)).group(1)
        bound = float("inf") if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0) + float(m.group(2))
    return buckets, buckets.get(float("inf"), 0)


def _quantile(delta: dict[float, float], total: float, q: float) -> float:
    """The upper bound of the bucket holding the q-th request (a histogram's resolution)."""
    for bound in sorted(delta):
        if delta[bound] >= q * total:
            return bound
    return float("inf")


def workshop_load(args: argparse.Namespace) -> int:
    """Run one chapter for N learners at once against one cluster of its own (the sandbox,
    or kind's 3 real nodes), as a workshop would."""
    from concurrent.futures import ThreadPoolExecutor

    import papermill

    from kubelab import workshop
    notebook = Path(args.notebook)          # found by the CLI (kubelab/workbook.py)
    nodes = 4 if args.backend == "sandbox" else None
    with tempfile.TemporaryDirectory(prefix="kubelab-load-") as tmp:
        os.environ["KUBELAB_HOME"] = str(Path(tmp) / "home")
        os.environ["KUBELAB_SOLVE"] = "1"
        os.environ["KUBELAB_WRONG_ANSWERS"] = "0"      # a learner's run: the answer only
        cluster = backends.up(args.backend, log=lambda m: None, nodes=nodes)
        try:
            learners = workshop.learners_from(None, args.learners, "load")
            made = workshop.create(cluster, learners, Path(tmp) / "kc", hours=1,
                                   log=lambda m: None)
            before, n0 = _request_histogram(cluster)

            def run(entry: dict) -> tuple[str, float, str]:
                start = time.monotonic()
                try:
                    papermill.execute_notebook(
                        str(notebook), str(Path(tmp) / f"{entry['learner']}.ipynb"),
                        parameters={"kubeconfig": entry["kubeconfig"]}, kernel_name="python3",
                        cwd=str(notebook.parent), progress_bar=False, log_output=False)
                    return entry["learner"], time.monotonic() - start, ""
                except Exception as e:  # noqa: BLE001 - a failure is a figure here
                    return entry["learner"], time.monotonic() - start, str(e)[:200]

            wall_start = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.parallel) as pool:
                results = list(pool.map(run, made))
            wall = time.monotonic() - wall_start
            after, n1 = _request_histogram(cluster)
            delta = {b: after.get(b, 0) - before.get(b, 0) for b in after}
            requests = n1 - n0
            memory = procs.memory_mb(cluster_pids(cluster))
            table = workshop.progress(cluster, "load")
            checks = sum(sum(c.values()) for per in table.values() for c in per.values())
        finally:
            backends.down(log=lambda m: None)
    failures = [r for r in results if r[2]]
    per_run = sorted(r[1] for r in results)
    where = "one sandbox" if args.backend == "sandbox" else f"{args.backend} (3 real nodes)"
    print(f"kubelab workshop load — chapter {args.chapter}, {args.learners} learners, "
          f"{args.parallel} at a time, {where}, {os.cpu_count()} cores")
    print(f"  wall time                      {wall:.0f} s")
    print(f"  cluster memory after the runs  {memory.held:.0f} MB held, each page once "
          f"(RSS summed {memory.rss:.0f} MB)")
    print(f"  per learner (median / max)     {statistics.median(per_run):.1f} s / "
          f"{per_run[-1]:.1f} s")
    print(f"  failed runs                    {len(failures)} of {len(results)}")
    for learner, _, err in failures[:5]:
        print(f"    {learner}: {err}")
    print(f"  checks recorded as passed      {checks}")
    print(f"  apiserver requests (no watch)  {requests:.0f}")
    if requests:
        print(f"  request latency p50 / p99      <= {_quantile(delta, requests, .5)*1000:.0f} ms"
              f" / <= {_quantile(delta, requests, .99)*1000:.0f} ms (histogram buckets)")
    return 1 if failures else 0


# ------------------------------------------------------------------ the local node

def pod_start_latencies(lab: Lab, count: int, timeout: float = 120) -> list[float]:
    """Seconds from one `apply` of `count` pods to each pod first seen Running."""
    items = [{"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": f"start-{i}", "labels": {"app": "start-latency"}},
              "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                  "name": "main", "image": versions.IMAGES["busybox"],
                  "command": ["sleep", "3600"]}]}} for i in range(count)]
    import json
    start = time.monotonic()
    lab.kubectl(["apply", "-f", "-"], input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                         "items": items}))
    seen: dict[str, float] = {}
    while len(seen) < count and time.monotonic() - start < timeout:
        for pod in lab.list("Pod", selector="app=start-latency"):
            name = pod["metadata"]["name"]
            if name not in seen and (pod.get("status") or {}).get("phase") == "Running":
                seen[name] = time.monotonic() - start
        time.sleep(0.05)
    lab.kubectl("delete pods -l app=start-latency --wait=false")
    return sorted(seen.values())


def node(args: argparse.Namespace) -> int:
    """The local node: cold build of its components (--cold), Ready time, pod start
    latency, and requests served and failed during a RollingUpdate and a Recreate."""
    from kubelab._backends import local
    from kubelab._build import gobuild
    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-node-") as tmp:
        os.environ["KUBELAB_HOME"] = str(Path(tmp) / "home")
        if args.cold:
            # nothing cached: no binaries, no Go build cache, no module cache
            for var in ("KUBELAB_CACHE", "GOCACHE", "GOMODCACHE"):
                os.environ[var] = str(Path(tmp) / var.lower())
            total = 0.0
            for group, (version, _) in binaries.NODE_GROUPS.items():
                seconds = gobuild.build_group(group, binaries.group_dir(group, version),
                                              log=lambda m: None)
                total += seconds
                figures.append((f"cold build: {group} {version}", f"{seconds:.0f} s"))
            figures.append(("cold build of the node's components, total", f"{total:.0f} s"))
            binaries.find_all()          # the control plane too, for `up`
        up_s, cluster = _timed(lambda: backends.up("local", log=lambda m: None))
        try:
            state = local.node_state()
            figures.append(("local up (control plane, node, add-ons)", f"{up_s:.1f} s"))
            figures.append(("node Ready, from the start of `up`",
                            f"{state['node_ready_seconds']:.1f} s"))
            lab = Lab(cluster=cluster, namespace="bench", chapter="bench")
            lab.reset_namespace()
            latencies = pod_start_latencies(lab, 10)
            figures.append(("pod create-to-Running, 10 pods: median / max",
                            f"{statistics.median(latencies):.2f} s / {max(latencies):.2f} s"))
            lab.apply(ROLLING.format(image=versions.IMAGES["agnhost-prev"]))
            lab.wait_rollout("web")
            for strategy, (tally, seconds) in rollouts_under_traffic(lab).items():
                figures.append((f"requests during a {strategy} ({seconds:.1f} s)",
                                f"{tally.served} served, {tally.failed} failed"))
        finally:
            backends.down(log=lambda m: None)
    _print_figures(f"kubelab bench node — Kubernetes {versions.KUBERNETES}, containerd "
                   f"{versions.CONTAINERD}, {os.cpu_count()} cores", figures)
    return 0


# ------------------------------------------------------------------ backends side by side

# name, nodes, seconds to Ready, memory (procs.Memory, MB), why not
Row = tuple[str, str, float | None, procs.Memory | None, str]

def cluster_pids(cluster) -> list[int]:  # noqa: ANN001
    """The processes that make up a lab cluster, for its memory: the sandbox's control
    plane; plus, for the local node, its daemons, containerd's shims and its pods; for
    kind and minikube, everything inside the node containers (their cgroups)."""
    from kubelab._backends import local
    from kubelab._system.engine import docker_env
    pids = list(sandbox.pids()) if cluster.backend in ("sandbox", "local") else []
    if cluster.backend == "local":
        state = local.node_state()
        pids += list(state.get("pids", {}).values())
        for shim in procs.matching(["containerd-shim", state["run_dir"]]):
            pids.append(shim)
            try:            # the shim's containers: the pods' processes
                pids += [c.pid for c in psutil.Process(shim).children(recursive=True)]
            except psutil.Error:
                pass
    names: list[str] = []
    if cluster.backend == "kind":
        names = run(["docker", "ps", "-q", "--filter",
                     f"label=io.x-k8s.kind.cluster={cluster.name}"], 60,
                    env=docker_env()).stdout.split()
    elif cluster.backend == "minikube":      # its labels name each node, not the profile
        from kubelab._backends import minikube
        names = [n for n, state in minikube.node_containers().items() if state == "running"
                 and (n == cluster.name or n.startswith(f"{cluster.name}-m"))]
    for name in names:
        pid, cid = subprocess.run(["docker", "inspect", "--format",
                                   "{{.State.Pid}} {{.Id}}", name], capture_output=True,
                                  text=True, env=docker_env()).stdout.split()
        pids += procs.cgroup_pids(int(pid), container=cid)
    return sorted(set(pids))


def compare(args: argparse.Namespace) -> int:
    """Ready time and memory of each backend this machine can run, one after the other
    in one run, side by side as ratios against kind. Each gets a private state dir."""
    rows: list[Row] = []
    wanted = [(n, backends.BACKENDS[n].default_nodes) for n in ("kind", "minikube", "local",
                                                               "sandbox")]
    home = os.environ.get("KUBELAB_HOME")
    for name, nodes in wanted:
        ok, why = backends.BACKENDS[name].available()
        if not ok:
            rows.append((name, "-", None, None, why))
            continue
        with tempfile.TemporaryDirectory(prefix=f"kubelab-compare-{name}-") as tmp:
            os.environ["KUBELAB_HOME"] = str(Path(tmp) / "home")
            try:
                print(f"[compare] {name}: up ({nodes} node(s)) ...", flush=True)
                seconds, cluster = _timed(lambda: backends.up(name, nodes=nodes,
                                                              log=lambda m: None))
                time.sleep(args.settle)            # let start-up work finish
                mem = procs.memory_mb(cluster_pids(cluster))
                count = len(json.loads(cluster.kubectl(["get", "nodes", "-o", "json"])
                                       .stdout)["items"])
                rows.append((name, str(count), seconds, mem, ""))
            except KubelabError as e:
                rows.append((name, "-", None, None, e.problem.splitlines()[0]))
            finally:
                try:
                    backends.down(log=lambda m: None)
                except KubelabError:
                    pass
    if home is None:
        os.environ.pop("KUBELAB_HOME", None)
    else:
        os.environ["KUBELAB_HOME"] = home
    for line in compare_lines(rows, args.settle):
        print(line)
    return 0


def compare_lines(rows: list[Row], settle: float) -> list[str]:
    """The side-by-side table: each backend's time to Ready and memory, and both as
    ratios against kind (tests/conftest.py prints it for the backends a test run
    started). Memory is what the machine holds for the cluster's processes, each page
    once (procs.Memory.held); RSS beside it counts shared pages once per process."""
    base = next((r for r in rows if r[0] == "kind" and r[2] is not None), None)
    lines = [f"kubelab bench compare — Kubernetes {versions.KUBERNETES}, {os.cpu_count()} "
             f"cores, memory of every process of the cluster {settle:.0f} s after up",
             f"  {'backend':<9} {'nodes':>5} {'up to Ready':>12} {'memory':>9} {'RSS':>9} "
             f"{'time/kind':>10} {'memory/kind':>12}"]
    for name, count, seconds, mem, why in rows:
        if seconds is None or mem is None:
            lines.append(f"  {name:<9} {count:>5}  not here: {why}")
            continue
        t_ratio = f"{seconds / base[2]:.2f}" if base and base[2] else "-"
        m_ratio = f"{mem.held / base[3].held:.2f}" if base and base[3] and base[3].held else "-"
        lines.append(f"  {name:<9} {count:>5} {seconds:>10.1f} s {mem.held:>6.0f} MB "
                     f"{mem.rss:>6.0f} MB {t_ratio:>10} {m_ratio:>12}")
    return lines


def rollouts_under_traffic(lab: Lab) -> dict:
    """On ROLLING's Deployment `web` (running agnhost-prev): a RollingUpdate to agnhost,
    then a Recreate back, each under traffic. strategy -> (Tally, seconds it took)."""
    out = {}
    for strategy, image in (("RollingUpdate", versions.IMAGES["agnhost"]),
                            ("Recreate", versions.IMAGES["agnhost-prev"])):
        if strategy == "Recreate":
            lab.kubectl(["patch", "deployment", "web", "-p", '{"spec":{"strategy":'
                         '{"type":"Recreate","rollingUpdate":null}}}'])
        traffic = lab.traffic("http://web/hostname")
        seconds, _ = _timed(lambda: (lab.kubectl(f"set image deployment/web web={image}"),
                                     lab.wait_rollout("web")))
        out[strategy] = (traffic.stop(), seconds)
    return out


ROLLING = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 15
      containers:
      - name: web
        image: {image}
        args: ["netexec", "--http-port=8080", "--delay-shutdown=5"]
        readinessProbe: {{httpGet: {{path: /readyz, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


# ------------------------------------------------------------------ the command line
def cmd_sandbox(args: argparse.Namespace) -> int:
    return main(args)


def cmd_node(args: argparse.Namespace) -> int:
    return node(args)


def cmd_compare(args: argparse.Namespace) -> int:
    return compare(args)


def cmd_workshop(args: argparse.Namespace) -> int:
    from kubelab._session import workbook
    try:
        import papermill  # noqa: F401 - workshop_load runs the chapters with it
    except ImportError:
        raise KubelabError(tr("`kubelab bench workshop` runs the chapter with papermill, "
                              "which is not installed."),
                           'pip install -c constraints.txt -e ".[test]"') from None
    args.notebook = workbook.chapter(args.chapter)
    return workshop_load(args)


def cold_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cold", action="store_true",
                   help="also time a cold build, in empty caches (several minutes)")


def register_bench(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    cold = options(cold_option)
    b = command(sub, EXAMPLES, "bench", "measure start time, memory, rollout time, overhead")
    b_sub = b.add_subparsers(dest="mode", required=True, metavar="MODE")
    bs = command(b_sub, EXAMPLES, "sandbox", "a private sandbox: start time, RSS, rollout "
                 "time, kubelab's overhead per call", parents=(cold,), key="bench sandbox")
    bs.add_argument("--calls", type=positive, default=60, metavar="N",
                    help="kubectl calls timed for the overhead ratio")
    bs.set_defaults(run=cmd_sandbox)
    command(b_sub, EXAMPLES, "node", "a private local node (Linux, root): Ready time, pod "
            "start latency, requests during rollouts", parents=(cold,), key="bench node"
            ).set_defaults(run=cmd_node)
    bc = command(b_sub, EXAMPLES, "compare", "kind, minikube, local and sandbox one after "
                 "the other: Ready time and memory, side by side as ratios against kind",
                 key="bench compare")
    bc.add_argument("--settle", type=float, default=20, metavar="S",
                    help="seconds to wait after Ready before measuring memory")
    bc.set_defaults(run=cmd_compare)
    bw = command(b_sub, EXAMPLES, "workshop", "one chapter for N workshop learners at once "
                 "on a cluster of its own (needs papermill: the test extra)",
                 key="bench workshop")
    bw.add_argument("--count", type=positive, required=True, dest="learners", metavar="N",
                    help="how many learners")
    bw.add_argument("--chapter", default="05a-pods-replicasets", help="which chapter")
    bw.add_argument("--parallel", type=positive, default=4, metavar="N",
                    help="notebooks at once (2 cores)")
    bw.add_argument("--backend", choices=("sandbox", "kind"), default="sandbox",
                    help="the cluster the class runs on: the sandbox (no containers), or "
                         "kind's 3 real nodes (`kubelab build --kind`)")
    bw.set_defaults(run=cmd_workshop)


VERBS = {"bench": register_bench}
