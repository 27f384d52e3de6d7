"""The sandbox against its real components: pinned version, loopback only, a Deployment
that scales and rolls back, and `down` leaving no process and no port behind."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cluster_checks as checks
import pytest

from kubelab._backends import sandbox
from kubelab._base import versions
from kubelab._cluster.cluster import Cluster
from kubelab._system import procs
from kubelab.lab import Lab

pytestmark = pytest.mark.cluster


def test_server_reports_the_pinned_version(cluster):
    if cluster.backend != "sandbox":
        pytest.skip("the pin applies to the sandbox")
    assert cluster.server_version() == versions.KUBERNETES


def test_the_control_plane_runs_from_one_program(cluster):
    """apiserver, controller-manager, scheduler and kwok are four processes of one file,
    so their code pages are held once: well under the sum of their RSS."""
    if cluster.backend != "sandbox":
        pytest.skip("sandbox processes only")
    import os

    import psutil
    files: dict[tuple[int, int], list[str]] = {}
    for pid in sandbox.pids():
        st = os.stat(f"/proc/{pid}/exe")
        files.setdefault((st.st_dev, st.st_ino), []).append(Path(psutil.Process(pid).exe()).name)
    assert sorted(map(sorted, files.values())) == [
        ["etcd"], ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]]
    mem = procs.memory_mb(sandbox.pids())
    print(f"sandbox control plane: {mem.held:.0f} MB held, {mem.rss:.0f} MB RSS summed")
    assert mem.held < 0.8 * mem.rss


def test_every_component_listens_on_loopback_only(cluster):
    if cluster.backend != "sandbox":
        pytest.skip("sandbox processes only")
    pids = sandbox.pids()
    assert len(pids) == 5
    sockets = procs.listening(pids)
    assert sockets, "the control plane should be listening"
    assert all(addr in ("127.0.0.1", "0:0:0:0:0:0:0:1", "::1") for addr, _ in sockets), sockets



def test_the_apiserver_runs_with_its_memory_limit(cluster):
    """kwokctl passes the soft limit to the apiserver only (see sandbox.py for the figures)."""
    if cluster.backend != "sandbox":
        pytest.skip("sandbox processes only")
    limits = {}
    for pid in sandbox.pids():
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            program = f.read().split(b"\0")[0].decode().rsplit("/", 1)[-1]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.decode().split("=", 1) for v in f.read().split(b"\0") if b"=" in v)
        limits[program] = env.get("GOMEMLIMIT")
    assert limits.pop("kube-apiserver") == sandbox.APISERVER_MEMORY_LIMIT
    assert set(limits.values()) == {None}, limits

def test_deployment_scales_to_three_ready_pods_and_a_rollout_can_be_undone(cluster):
    lab = Lab(cluster=cluster, namespace="test-rollout", chapter="test-rollout")
    lab.reset_namespace()
    try:
        lab.kubectl(f"create deployment web --image={versions.IMAGES['agnhost-prev']} "
                    "--replicas=1")
        lab.kubectl("scale deployment/web --replicas=3")
        assert len(lab.wait_pods("app=web", 3)) == 3
        lab.kubectl(f"set image deployment/web agnhost={versions.IMAGES['agnhost']}")
        lab.wait_rollout("web")
        images = {p["spec"]["containers"][0]["image"] for p in lab.wait_pods("app=web", 3)}
        assert images == {versions.IMAGES["agnhost"]}
        lab.kubectl("rollout undo deployment/web")
        lab.wait_rollout("web")
        images = {p["spec"]["containers"][0]["image"] for p in lab.wait_pods("app=web", 3)}
        assert images == {versions.IMAGES["agnhost-prev"]}
        # an undo re-issues revision 1's template as revision 3
        history = lab.kubectl("rollout history deployment/web").splitlines()
        revisions = {int(line.split()[0]) for line in history if line[:1].isdigit()}
        assert revisions == {2, 3}
    finally:
        lab.cleanup()


@pytest.mark.usefixtures("sandbox_may_start")   # only where this run asks for sandboxes
def test_up_then_down_leaves_no_process_and_no_port(isolated_home):
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kubelab.cli", *args],
                              capture_output=True, text=True, timeout=300)

    start = time.monotonic()
    proc = cli("up", "--backend", "sandbox", "--nodes", "1")
    assert proc.returncode == 0, proc.stderr
    print(checks.record_up("sandbox", Cluster.load(), time.monotonic() - start))
    pids = sandbox.pids()
    ports = [port for _, port in procs.listening(pids)]
    assert len(pids) == 5 and all(procs.alive(p) for p in pids)
    assert len(ports) >= 5
    assert Cluster.load().reachable()[0]

    proc = cli("down")
    assert proc.returncode == 0, proc.stderr
    assert not [p for p in pids if procs.alive(p)]
    # A socket can outlive its process for a moment while the kernel closes it.
    deadline = time.monotonic() + 10
    while not all(sandbox.port_free(p) for p in ports) and time.monotonic() < deadline:
        time.sleep(0.5)
    taken = [p for p in ports if not sandbox.port_free(p)]
    assert not taken, (taken, subprocess.run(["ss", "-tanp"], capture_output=True,
                                             text=True).stdout)
    assert not (isolated_home / "kwok" / "clusters" / "kubelab").exists()
    assert not (isolated_home / "lab.json").exists()


def test_reset_deletes_lesson_namespaces_and_nothing_else(cluster):
    lab = Lab(cluster=cluster, namespace="test-reset", chapter="test-reset")
    lab.reset_namespace()
    cluster.kubectl(["create", "namespace", "test-not-a-lesson"])
    try:
        proc = subprocess.run([sys.executable, "-m", "kubelab.cli", "reset"],
                              capture_output=True, text=True, timeout=200)
        assert proc.returncode == 0, proc.stderr
        assert lab.get("Namespace", "test-reset", namespace=None) is None
        assert lab.get("Namespace", "test-not-a-lesson", namespace=None) is not None
    finally:
        cluster.kubectl(["delete", "namespace", "test-not-a-lesson", "--wait=false"])
