"""Helpers notebooks rely on: bounded background commands, the live view, magics that
refuse what would hang a cell, scratch kubeconfigs that hide secrets, backend features."""
from __future__ import annotations

import sys
import time
import urllib.request

import pytest
import yaml

from kubelab._base.errors import KubelabError
from kubelab._session import features, magics
from kubelab._session.commands import is_cluster_wide
from kubelab._system.background import Background, FileServer
from kubelab.lab import Lab


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


def test_file_server_stays_up_until_stopped(tmp_path):
    """lab.serve keeps serving until the chapter's cleanup: chapter 04 applies from it
    again twenty cells later."""
    from kubelab._system.background import _RUNNING, stop_all
    (tmp_path / "x.yaml").write_text("kind: Pod\n")
    server = FileServer(str(tmp_path))
    assert server._timer is None and server in _RUNNING
    assert urllib.request.urlopen(f"{server.url}/x.yaml", timeout=5).read() == b"kind: Pod\n"
    stop_all()                                   # what lab.cleanup() calls
    server.stop()                                # and a second stop is harmless
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/x.yaml", timeout=2)


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
    # flags before the verb are kubectl's global ones: the verb is still found
    ("-n other logs -f web", True), ("--namespace=other get pods --watch", True),
    ("--context lab -n x get pods -w", True), ("-n logs get pods", False),
    ("logs --follow=true web", True), ("logs --follow=false web", False),
    ("exec web -- tail -f /log", False),
])
def test_watches_and_followed_logs_are_bounded(line, bounded):
    assert magics._bounded(line.split()) == bounded


@pytest.mark.parametrize("line, verb", [
    ("-n x logs -f p", "logs"), ("--kubeconfig k --context c get pods", "get"),
    ("-v 6 version", "version"), ("get pods", "get"), ("", ""),
])
def test_the_verb_comes_after_the_global_flags(line, verb):
    from kubelab._cluster.cluster import split_verb
    assert split_verb(line.split())[0] == verb


@pytest.mark.parametrize("line, echo", [
    ("get pods", "kubectl -n lab-00 get pods"),
    ("get nodes -o wide", "kubectl get nodes -o wide"),
    ("-n other logs -f web", "kubectl -n other logs -f web"),
    ("get pods -A", "kubectl get pods -A"),
    ("exec web -c sidecar -- ls /", "kubectl -n lab-00 exec web -c sidecar -- ls /"),
    ("annotate deployment/web kubernetes.io/change-cause='agnhost 2.63.0'",
     "kubectl -n lab-00 annotate deployment/web 'kubernetes.io/change-cause=agnhost 2.63.0'"),
])
def test_the_echo_is_what_a_terminal_needs(line, echo):
    """`kubelab env` pins the context, not the namespace: the echo carries the -n that
    kubelab adds, so the line works as it is in a terminal."""
    import shlex
    lab = Lab(cluster=None, namespace="lab-00", chapter="00-start-here")  # type: ignore[arg-type]
    assert lab.terminal_line(shlex.split(line)) == echo


@pytest.mark.parametrize("line, wide", [
    ("get nodes", True), ("get pods", False), ("get pods -A", True),
    ("get no,ns", True), ("get pods,nodes", False), ("describe node/x", True),
    ("config current-context", True), ("get pods -n other", True),
    ("get -o wide nodes", True), ("--context c get pods", False), ("get ns", True),
])
def test_cluster_wide_commands_get_no_namespace(line, wide):
    assert is_cluster_wide(line.split()) == wide


def test_apply_cells_take_the_notebooks_string_variables():
    names = {"SHOP": "shop.ws-a-07.example.test", "PORT": 30080, "FLAG": True,
             "lab": object()}
    cell = ("rules: [{host: $SHOP}, {host: ${SHOP}x}]\nport: $PORT\n"
            "command: [sh, -c, 'echo $HOME $FLAG $lab $']")
    assert magics.expand_names(cell, names) == (
        "rules: [{host: shop.ws-a-07.example.test}, {host: shop.ws-a-07.example.testx}]\n"
        "port: 30080\ncommand: [sh, -c, 'echo $HOME $FLAG $lab $']")


@pytest.mark.parametrize("learner, host", [(False, "shop.example.test"),
                                           (True, "shop.ws-a-07.example.test")])
def test_hosts_are_the_learners_own_in_a_workshop(learner, host):
    from kubelab._session.scope import Scope
    scope = Scope(None, "ws-a-07", "07-ingress", None, [], learner=learner)  # type: ignore[arg-type]
    assert scope.host("shop") == host


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
    from kubelab._base.errors import CheckFailed
    lab = Lab(cluster=cluster, namespace="default", chapter="test-check")
    with pytest.raises(CheckFailed) as e:
        lab.check("no node is called nowhere-node", lambda: (
            lab.get("Node", "nowhere-node") is not None, "absent"), hint="it never was")
    assert "absent" in str(e.value) and e.value.fix == "it never was"
    assert lab.results[-1].passed is False


@pytest.mark.cluster
def test_exercise_without_solve_reports_the_hint(cluster, monkeypatch):
    from kubelab._base.errors import CheckFailed
    monkeypatch.delenv("KUBELAB_SOLVE", raising=False)
    lab = Lab(cluster=cluster, namespace="default", chapter="test-exercise")
    ran = []
    with pytest.raises(CheckFailed) as e:
        lab.exercise("unsolved", "unsolved", lambda: False, hint="do it",
                     solution=lambda lab: ran.append(1))
    assert not ran      # a learner's unsolved exercise is never solved for them
    assert e.value.fix.startswith("do it") and "Solution below" in e.value.fix


@pytest.mark.cluster
def test_solving_an_exercise_needs_it_unsolved_first(cluster, monkeypatch):
    """With KUBELAB_SOLVE=1 (CI) the unsolved check is evaluated once, with no 3 s to
    settle, then the solution runs; an exercise whose check passes before that is refused."""
    from kubelab._base.errors import ExerciseUnfit
    monkeypatch.setenv("KUBELAB_SOLVE", "1")
    lab = Lab(cluster=cluster, namespace="default", chapter="test-exercise")
    done: list[int] = []
    start = time.monotonic()
    lab.exercise("solved-by-ci", "the solution ran", lambda: bool(done), hint="run it",
                 solution=lambda lab: done.append(1))
    assert done and lab.results[-1].passed and time.monotonic() - start < 2.5
    with pytest.raises(ExerciseUnfit):
        lab.exercise("always", "always true", lambda: True, hint="-",
                     solution=lambda lab: None)


@pytest.mark.cluster
def test_a_chapter_left_unfinished_gives_its_node_port_back(cluster, capsys):
    """01 stopped at its exercise still holds nodePort 30080; 06 takes it back, with a
    line; a Service kubelab did not make is never touched."""
    left = Lab(cluster=cluster, namespace="lab-test-left", chapter="test-left")
    here = Lab(cluster=cluster, namespace="lab-test-here", chapter="test-here")
    left.reset_namespace()
    here.reset_namespace()
    try:
        left.kubectl(["create", "service", "nodeport", "web-fixed", "--tcp=80:8080",
                      f"--node-port={left.node_port(0)}"])
        capsys.readouterr()
        assert here.node_port(0) == 30080
        assert left.get("Service", "web-fixed") is None
        assert "chapter test-left's Service web-fixed" in capsys.readouterr().out
        cluster.kubectl(["create", "service", "nodeport", "theirs", "--tcp=80:8080",
                         "--node-port=30123", "-n", "default"])
        try:
            with pytest.raises(KubelabError) as e:
                here.node_port(1)
            assert "theirs" in e.value.problem and "did not make" in e.value.problem
            assert cluster.kubectl(["get", "service", "theirs", "-n", "default"]).returncode == 0
        finally:
            cluster.kubectl(["delete", "service", "theirs", "-n", "default"])
    finally:
        left.cleanup()
        here.cleanup()
