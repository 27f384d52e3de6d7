"""`kubelab bench`: figures, not pass/fail. Runs its own sandbox in a private state dir.

Prints: cold start (with --cold: build every binary in an empty cache, then start), warm
start to a Ready apiserver, total RSS of the control plane, apply-to-Ready time of a
3-replica Deployment, and kubelab's per-call overhead as a ratio against calling kubectl.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from . import backends, binaries, procs, versions
from .backends import sandbox
from .cluster import _env_without_kubeconfig
from .lab import Lab

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
            rss = procs.rss_mb(sandbox.pids())
            figures.append(("RSS of the control plane (5 processes)",
                            f"{rss:.0f} MB (target < 700 MB)"))
            direct_argv = cluster.kubectl_argv(["get", "pods"], "bench")
            env = _env_without_kubeconfig()
            direct, via = _interleaved_medians(
                lambda: subprocess.run(direct_argv, capture_output=True, env=env, check=True),
                lambda: lab.kubectl("get pods"), args.calls)
            figures.append((f"kubectl get pods, median of {args.calls}: direct / via kubelab",
                            f"{direct * 1000:.0f} ms / {via * 1000:.0f} ms"))
            figures.append(("kubelab overhead ratio (via / direct)",
                            f"{via / direct:.3f} (target < 1.10)"))
        finally:
            backends.down(log=lambda m: None)
    width = max(len(k) for k, _ in figures)
    print(f"kubelab bench — Kubernetes {versions.KUBERNETES}, etcd {versions.ETCD}, "
          f"kwok {versions.KWOK}, {os.cpu_count()} cores")
    for key, value in figures:
        print(f"  {key:<{width}}  {value}")
    return 0
