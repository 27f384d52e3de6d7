"""Helpers notebooks rely on: bounded background commands, the live view, magics that
refuse what would hang a cell, scratch kubeconfigs that hide secrets, backend features."""
from __future__ import annotations

import sys
import time
import urllib.request

import pytest
import yaml

from kubelab import features, magics
from kubelab.background import Background, FileServer
from kubelab.lab import Lab, _is_cluster_wide


def test_background_command_stops_itself_within_its_bound():
    bg = Background([sys.executable, "-c", "import time; print('up', flush=True); "
                     "time.sleep(60)"], seconds=1, label="sleeper")
    assert bg.running
    start = time.monotonic()
    bg.wait(timeout=10)
    assert not bg.running and time.monotonic() - start < 5
    assert "up" in bg.output()


def test_background_command_stops_on_demand():
    bg = Background([sys.executable, "-c", "import time; time.sleep(60)"], seconds=60,
                    label="sleeper")
    bg.stop()
    assert not bg.running


def test_file_server_serves_on_loopback_then_stops(tmp_path):
    (tmp_path / "x.yaml").write_text("kind: Pod\n")
    server = FileServer(str(tmp_path), seconds=30)
    assert server.url.startswith("http://127.0.0.1:")
    assert urllib.request.urlopen(f"{server.url}/x.yaml", timeout=5).read() == b"kind: Pod\n"
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/x.yaml", timeout=2)


@pytest.mark.parametrize("line, hangs", [
    ("edit deployment web", True),
    ("exec -it web -- sh", True),
    ("port-forward svc/web 8080:80", True),
    ("exec web -- ls", False),
    ("get pods", False),
])
def test_magic_refuses_commands_that_never_end(line, hangs):
    assert (magics._never_ends(line.split()) is not None) == hangs


@pytest.mark.parametrize("line, bounded", [
    ("get pods -w", True), ("logs web -f", True), ("get pods", False),
    ("apply -f web.yaml", False), ("logs web", False),
])
def test_watches_and_followed_logs_are_bounded(line, bounded):
    assert magics._bounded(line.split()) == bounded


@pytest.mark.parametrize("line, wide", [
    ("get nodes", True), ("get pods", False), ("get pods -A", True),
    ("get no,ns", True), ("get pods,nodes", False), ("describe node/x", True),
    ("config current-context", True), ("get pods -n other", True),
])
def test_cluster_wide_commands_get_no_namespace(line, wide):
    assert _is_cluster_wide(line.split()) == wide


def test_skip_message_names_where_the_cell_runs():
    msg = features.skip_message("sandbox", "containers", "`kubectl logs`")
    assert msg.startswith("⏭") and "kind" in msg and "`kubectl logs`" in msg
    assert not features.supported("sandbox", "containers")
    assert features.supported("kind", "containers")
    with pytest.raises(ValueError):
        features.supported("sandbox", "gpus")


@pytest.mark.cluster
def test_scratch_kubeconfig_reaches_the_lab_and_hides_secrets(cluster):
    lab = Lab(cluster=cluster, namespace="default", chapter="test-scratch")
    scratch = lab.scratch_kubeconfigs()
    try:
        path = scratch.write("config", {"a": None, "b": "kube-system"}, current="a")
        assert scratch.kubectl("config current-context", path, show=False) == "a"
        assert "v1.36" in scratch.kubectl("version", path, show=False)
        shown = yaml.safe_load(scratch.redacted(path))
        user = shown["users"][0]["user"]
        assert all(v == "<redacted>" for k, v in user.items() if k.endswith("-data"))
        assert (path.stat().st_mode & 0o077) == 0
    finally:
        scratch.remove()


@pytest.mark.cluster
def test_live_view_records_changes_and_stops_within_a_second(cluster):
    lab = Lab(cluster=cluster, namespace="test-live", chapter="test-live")
    lab.reset_namespace()
    try:
        view = lab.live("ReplicaSet,Pod", "app=live", seconds=30)
        with view:
            lab.kubectl("create deployment live --image=registry.k8s.io/e2e-test-images/"
                        "agnhost:2.63.0 --replicas=2")
            lab.wait_pods("app=live", 2)
            start = time.monotonic()
        assert time.monotonic() - start < 5          # stop() did not wait for the 30 s
        kinds = {s.kind for s in view.seen}
        assert kinds == {"ReplicaSet", "Pod"}
        assert any(len(m) == 2 for m in view.states("Pod"))
        assert "changes seen" in view.timeline()
    finally:
        lab.cleanup()


@pytest.mark.cluster
def test_a_check_that_does_not_hold_fails_with_its_hint(cluster):
    from kubelab.errors import CheckFailed
    lab = Lab(cluster=cluster, namespace="default", chapter="test-check")
    with pytest.raises(CheckFailed) as e:
        lab.check("no node is called nowhere-node", lambda: (
            lab.get("Node", "nowhere-node") is not None, "absent"), hint="it never was")
    assert "absent" in str(e.value) and e.value.fix == "it never was"
    assert lab.results[-1].passed is False


@pytest.mark.cluster
def test_exercise_without_solve_reports_the_hint(cluster, monkeypatch):
    from kubelab.errors import CheckFailed
    monkeypatch.delenv("KUBELAB_SOLVE", raising=False)
    lab = Lab(cluster=cluster, namespace="default", chapter="test-exercise")
    ran = []
    with pytest.raises(CheckFailed):
        lab.exercise("unsolved", lambda: False, hint="do it", solution=[lambda: ran.append(1)])
    assert not ran      # a learner's unsolved exercise is never solved for them
