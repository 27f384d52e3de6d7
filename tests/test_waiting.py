"""Feedback while kubelab waits (issue 11, item 2): what a wait shows, from Events shaped as
the API returns them; when it stops early and why; commands whose output is shown as it
comes; `go` commands that report progress while they run. No cluster needed."""
from __future__ import annotations

import sys
import textwrap
import time

import pytest

from kubelab._base.errors import KubelabError
from kubelab._build import gobuild
from kubelab._session import progress
from kubelab._system import run


# Events as `kubectl get events -o json` shows them: the kubelet and the scheduler write
# through events.k8s.io (eventTime, series; no lastTimestamp or count), controllers through
# the core API (firstTimestamp, lastTimestamp, count).
def kubelet_event(reason, message, pod="web-5d8f9c-x2kq", rv="101", type_="Normal",
                  at="2026-03-01T10:00:05.123456Z", series=None):
    ev = {"apiVersion": "v1", "kind": "Event",
          "metadata": {"name": f"{pod}.18a1b2c3", "namespace": "lab-00-start-here",
                       "uid": f"uid-{reason}-{pod}", "resourceVersion": rv,
                       "creationTimestamp": "2026-03-01T10:00:05Z"},
          "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod,
                             "namespace": "lab-00-start-here",
                             "fieldPath": "spec.containers{agnhost}"},
          "reason": reason, "message": message, "type": type_,
          "source": {"component": "kubelet", "host": "kind-worker"},
          "firstTimestamp": None, "lastTimestamp": None, "count": None,
          "eventTime": at, "reportingComponent": "kubelet",
          "reportingInstance": "kind-worker"}
    if series:
        ev["series"] = series
    return ev


def controller_event(reason, message, name="web-5d8f9c", rv="202", count=1,
                     at="2026-03-01T10:00:06Z", type_="Warning"):
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.18a1b2c4", "namespace": "lab-05b-deployments-team-b",
                         "uid": f"uid-{reason}-{name}", "resourceVersion": rv,
                         "creationTimestamp": "2026-03-01T10:00:01Z"},
            "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name,
                               "namespace": "lab-05b-deployments-team-b"},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": "replicaset-controller"},
            "firstTimestamp": "2026-03-01T10:00:01Z", "lastTimestamp": at, "count": count,
            "eventTime": None, "reportingComponent": "replicaset-controller"}


def pod(name="web-5d8f9c-x2kq", waiting=None, restarts=0, ready=False, owner="web-5d8f9c"):
    status = {"phase": "Running" if ready else "Pending",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": [{"name": "agnhost", "ready": ready,
                                     "restartCount": restarts,
                                     "state": {"waiting": waiting} if waiting else
                                     {"running": {"startedAt": "2026-03-01T10:00:07Z"}}}]}
    return {"metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet",
                                                            "name": owner}]},
            "spec": {"containers": [{"name": "agnhost", "image": "x"}]}, "status": status}


QUOTA = ('Error creating: pods "web-5d8f9c-zz9" is forbidden: exceeded quota: pods-budget, '
         'requested: pods=1, used: pods=2, limited: pods=2')


def test_events_of_both_shapes_are_read():
    pulled = progress.event_from(kubelet_event(
        "Pulled", 'Successfully pulled image "registry.k8s.io/e2e-test-images/agnhost:2.63.0"'
        ' in 1.2s', series={"count": 2, "lastObservedTime": "2026-03-01T10:00:09.000001Z"}))
    assert (pulled.kind, pulled.name, pulled.reason, pulled.count) == \
        ("Pod", "web-5d8f9c-x2kq", "Pulled", 2)
    assert pulled.when == progress._epoch("2026-03-01T10:00:09Z")
    refused = progress.event_from(controller_event("FailedCreate", QUOTA, count=5))
    assert (refused.kind, refused.count, refused.type) == ("ReplicaSet", 5, "Warning")
    assert "ReplicaSet" not in refused.line() and "replicaset/web-5d8f9c" in refused.line()


def test_a_summary_counts_what_the_cluster_did_in_order():
    events = [progress.event_from(kubelet_event(r, "m", pod=f"web-{i}", rv=f"{i}{r}"))
              for i in range(3) for r in ("Scheduled", "Pulling", "Pulled", "Started")]
    assert progress.summarize(events) == "3 Scheduled, 3 Pulling, 3 Pulled, 3 Started"


def test_events_belong_to_a_wait_by_name():
    roots = progress.roots_of("Pod", None, "app=web", [pod()])
    assert {"web", "web-5d8f9c-x2kq", "web-5d8f9c"} <= roots
    about = progress.event_from(kubelet_event("Pulling", "m"))
    other = progress.event_from(kubelet_event("Pulling", "m", pod="shop-1-a"))
    assert progress.related(about, roots) and not progress.related(other, roots)


def test_pods_state_in_a_few_words():
    pods = [pod(ready=True), pod("web-2", waiting={"reason": "ContainerCreating"}),
            pod("web-3", waiting={"reason": "ContainerCreating"})]
    assert progress.pods_state(pods) == "1/3 Ready; 2 ContainerCreating"


def test_an_image_that_cannot_be_pulled_stops_the_wait_at_once():
    stuck = pod(waiting={"reason": "ImagePullBackOff",
                         "message": 'Back-off pulling image "registry.k8s.io/nope:1"'})
    stop = progress.stop_reason([], [stuck], now=0.0, first_seen={})
    assert stop.reason == "ImagePullBackOff" and "nope:1" in stop.message
    assert "kubectl describe pod web-5d8f9c-x2kq" in stop.fix


def test_an_image_pull_backoff_event_stops_a_deployment_wait():
    ev = progress.event_from(kubelet_event(
        "BackOff", 'Back-off pulling image "registry.k8s.io/nope:1"', type_="Warning"))
    assert progress.stop_reason([ev], [], now=0.0, first_seen={}).reason == "ImagePullBackOff"


def test_one_restart_is_not_a_crash_loop_but_three_are():
    once = pod(waiting={"reason": "CrashLoopBackOff"}, restarts=1)
    assert progress.stop_reason([], [once], now=0.0, first_seen={}) is None
    looping = pod(waiting={"reason": "CrashLoopBackOff",
                           "message": "back-off 40s restarting failed container"}, restarts=3)
    stop = progress.stop_reason([], [looping], now=0.0, first_seen={})
    assert stop.reason == "CrashLoopBackOff" and "--previous" in stop.fix


def test_a_missing_configmap_gets_a_grace_period():
    missing = pod(waiting={"reason": "CreateContainerConfigError",
                           "message": 'configmap "settings" not found'})
    seen: dict = {}
    assert progress.stop_reason([], [missing], now=100.0, first_seen=seen) is None
    assert progress.stop_reason([], [missing], now=111.0, first_seen=seen).reason == \
        "CreateContainerConfigError"


def test_a_quota_refusal_stops_only_when_it_stands():
    refused = progress.event_from(controller_event("FailedCreate", QUOTA, count=3))
    seen: dict = {}
    assert progress.stop_reason([refused], [], now=0.0, first_seen=seen) is None
    stop = progress.stop_reason([refused], [], now=6.0, first_seen=seen)
    assert stop and "exceeded quota" in stop.message and "quota" in stop.fix
    created = progress.event_from(controller_event(
        "SuccessfulCreate", "Created pod: web-5d8f9c-q1", rv="203", type_="Normal",
        at="2026-03-01T10:00:30Z"))
    assert progress.stop_reason([refused, created], [], now=60.0, first_seen=seen) is None


class FakeEvents:
    """An EventSource that returns prepared events, a batch per poll."""

    def __init__(self, *batches):
        self.batches = list(batches)
        self.start = time.time()

    def poll(self, force=False):
        return self.batches.pop(0) if self.batches else []


def test_a_wait_prints_what_it_waits_for_and_what_happened(monkeypatch):
    monkeypatch.setattr(progress, "QUIET", 0.0)
    monkeypatch.setattr(progress, "PRINT_EVERY", 0.0)
    lines: list[str] = []
    scheduled = progress.event_from(kubelet_event(
        "Scheduled", "Successfully assigned lab-00-start-here/web-5d8f9c-x2kq to kind-worker"))
    pulling = progress.event_from(kubelet_event("Pulling", 'Pulling image "agnhost:2.63.0"',
                                                rv="102"))
    w = progress.Waiting("3 Ready pods with app=web", 90,
                         events=FakeEvents([scheduled], [pulling]), printer=lines.append)
    w.tick(state="0/3 Ready; 3 ContainerCreating", roots={"web"})
    w.tick(state="0/3 Ready; 3 ContainerCreating", roots={"web"})
    w.finish(True)
    text = "\n".join(lines)
    assert "waiting for 3 Ready pods with app=web" in text
    assert "Scheduled: Successfully assigned" in text and "Pulling: Pulling image" in text
    assert lines[-1].startswith("⌛") and "1 Scheduled, 1 Pulling" in lines[-1]
    assert not any(line.startswith("✓ ") for line in "\n".join(lines).splitlines())


def test_a_short_wait_shows_nothing():
    lines: list[str] = []
    w = progress.Waiting("1 Ready pod", 60, events=FakeEvents(), printer=lines.append)
    w.tick(state="0/1 Ready")
    w.finish(True)
    assert lines == []


def test_a_hopeless_wait_stops_with_the_reason():
    lines: list[str] = []
    backoff = progress.event_from(kubelet_event(
        "BackOff", 'Back-off pulling image "registry.k8s.io/nope:1"', type_="Warning"))
    w = progress.Waiting("3 Ready pods with app=web", 90, events=FakeEvents([backoff]),
                         printer=lines.append)
    with pytest.raises(KubelabError) as e:
        w.tick(roots={"web"})
    assert "stopped waiting for 3 Ready pods with app=web" in e.value.problem
    assert "ImagePullBackOff" in e.value.problem and "registry" in e.value.fix


def test_a_timeout_says_what_was_seen_last():
    sched = progress.event_from(kubelet_event(
        "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.", type_="Warning"))
    w = progress.Waiting("1 Ready pod", 60, events=FakeEvents([sched]), printer=lambda _: None)
    w.tick(state="0/1 Ready; 1 Pending", roots={"web"})
    assert w.timeout_detail() == ("0/1 Ready; 1 Pending; FailedScheduling: 0/3 nodes are "
                                  "available: 3 Insufficient cpu.")


# ------------------------------------------------------------------ output as it comes
def test_a_command_output_is_shown_as_it_comes_not_at_the_end():
    said: list[tuple[float, str]] = []
    start = time.monotonic()
    script = ("import time; print('http://127.0.0.1:41234', flush=True); time.sleep(30)")
    out, finished = run.stream([sys.executable, "-c", script], seconds=3,
                                      printer=lambda t: said.append(
                                          (time.monotonic() - start, t)),
                                      progress=False)
    assert not finished and "http://127.0.0.1:41234" in out
    assert said and said[0][1] == "http://127.0.0.1:41234" and said[0][0] < 2.0
    assert time.monotonic() - start < 10


def test_a_command_that_ends_is_reported_as_ended():
    out, finished = run.stream([sys.executable, "-c", "print('a'); print('b')"],
                                      seconds=20, printer=lambda t: None, progress=False)
    assert finished and out.split() == ["a", "b"]


# ------------------------------------------------------------------ kubelab build
def test_go_reports_progress_while_it_runs(tmp_path, monkeypatch):
    fake = tmp_path / "go"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, time
        print(" ".join(sys.argv[1:]))
        for pkg in ("k8s.io/api/core/v1", "k8s.io/kubernetes/cmd/kube-apiserver"):
            print(pkg, file=sys.stderr, flush=True)
            time.sleep(0.4)
        """))
    fake.chmod(0o755)
    monkeypatch.setattr(gobuild, "go_binary", lambda: str(fake))
    logged: list[str] = []
    out = gobuild.run_go(["build", "-trimpath", "-ldflags", "-s -w", "-o",
                          str(tmp_path / "kube-apiserver"),
                          "k8s.io/kubernetes/cmd/kube-apiserver"],
                         tmp_path, logged.append, every=0.3)
    assert out.startswith("build -v ")          # Go names each package it compiles
    assert logged[0] == ("$ go build k8s.io/kubernetes/cmd/kube-apiserver -> kube-apiserver")
    notes = [line for line in logged if "s so far" in line]
    assert notes and "packages compiled, last k8s.io/" in notes[-1]


def test_a_failing_go_command_says_how_long_it_ran(tmp_path, monkeypatch):
    fake = tmp_path / "go"
    fake.write_text(f"#!{sys.executable}\nimport sys\nprint('boom', file=sys.stderr)\n"
                    "sys.exit(1)\n")
    fake.chmod(0o755)
    monkeypatch.setattr(gobuild, "go_binary", lambda: str(fake))
    with pytest.raises(KubelabError, match="failed after 0 s:\nboom"):
        gobuild.run_go(["mod", "tidy"], tmp_path, lambda m: None)


def test_progress_note_reads_go_output():
    assert gobuild.progress_note(["go: downloading k8s.io/api v0.36.3\n"], 31) == \
        "31 s so far; 1 modules downloaded, last k8s.io/api v0.36.3"
    assert "prints nothing" in gobuild.progress_note([], 60)


# ------------------------------------------------------------------ wait_for, end to end
class FakeList:
    def __init__(self, items, version="7"):
        self.items, self.version = items, version

    def to_dict(self):
        return {"items": self.items, "metadata": {"resourceVersion": self.version}}


class FakeResource:
    """A dynamic-client resource: a list, then a scripted watch per call."""

    def __init__(self, kind, items, watches=()):
        self.kind, self.name, self.singular_name = kind, kind.lower() + "s", kind.lower()
        self.short_names, self.namespaced, self.preferred = [], True, True
        self.items, self.watches = items, list(watches)

    def get(self, **kwargs):
        return FakeList(self.items)

    def watch(self, **kwargs):
        time.sleep(0.05)
        yield from (self.watches.pop(0) if self.watches else [])


class FakeResources:
    def __init__(self, *resources):
        self.all = resources

    def search(self):
        return list(self.all)

    def get(self, api_version=None, kind=None):
        return next(r for r in self.all if r.kind == kind)

    def invalidate_cache(self):
        pass


class FakeDynamic:
    def __init__(self, *resources):
        self.resources = FakeResources(*resources)


def test_wait_for_returns_when_the_watch_brings_the_state():
    from kubelab._session import watching
    ready = pod(ready=True)
    pods = FakeResource("Pod", [pod(waiting={"reason": "ContainerCreating"})],
                        watches=[[{"type": "MODIFIED", "raw_object": ready}]])
    events = FakeResource("Event", [])
    got = watching.wait_for(FakeDynamic(pods, events), "Pod",
                            lambda ps: all(progress.pod_ready(p) for p in ps),
                            namespace="lab-00-start-here", selector="app=web", timeout=10)
    assert progress.pod_ready(got[0])


def test_wait_for_stops_at_once_on_an_image_that_cannot_be_pulled():
    from kubelab._session import watching
    stuck = pod(waiting={"reason": "ImagePullBackOff",
                         "message": 'Back-off pulling image "registry.k8s.io/nope:1"'})
    pods = FakeResource("Pod", [stuck])
    events = FakeResource("Event", [kubelet_event(
        "BackOff", 'Back-off pulling image "registry.k8s.io/nope:1"', type_="Warning")])
    start = time.monotonic()
    with pytest.raises(KubelabError) as e:
        watching.wait_for(FakeDynamic(pods, events), "Pod", lambda ps: False,
                          namespace="lab-00-start-here", selector="app=web", timeout=60,
                          describe="3 Ready pods with app=web")
    assert time.monotonic() - start < 5
    assert "ImagePullBackOff" in e.value.problem and "nope:1" in e.value.problem


def test_a_timeout_names_the_last_warning():
    from kubelab._session import watching
    pending = pod(waiting=None)
    pending["status"]["phase"] = "Pending"
    pending["status"]["containerStatuses"] = []
    events = FakeResource("Event", [kubelet_event(
        "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.", type_="Warning",
        at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))])
    with pytest.raises(KubelabError) as e:
        watching.wait_for(FakeDynamic(FakeResource("Pod", [pending]), events), "Pod",
                          lambda ps: False, namespace="lab-00-start-here",
                          selector="app=web", timeout=1, progress=False)
    assert "timed out after 1 s" in e.value.problem
    assert ("last seen: 0/1 Ready; 1 Pending; FailedScheduling: 0/1 nodes are available: "
            "1 Insufficient cpu.") in e.value.problem


def test_a_wait_in_vain_ends_with_what_it_saw(monkeypatch):
    monkeypatch.setattr(progress, "QUIET", 0.0)
    lines: list[str] = []
    w = progress.Waiting("4 Ready pods with app=web", 5, events=FakeEvents(),
                         printer=lines.append)
    w.tick(state="3/4 Ready")
    w.finish(False)
    assert lines[-1].startswith("⌛") and "in vain · 3/4 Ready" in lines[-1]


def test_in_a_notebook_one_display_is_updated_and_ends_as_one_line(monkeypatch):
    """JupyterLab shows the wait changing; a saved notebook keeps one line."""
    import IPython.display
    shown: list[tuple[str, object]] = []

    class Handle:
        def update(self, data, raw=False):
            shown.append(("update", data["text/plain"]))

    def display(data, raw=False, display_id=False):
        assert raw and display_id is True
        shown.append(("display", data["text/plain"]))
        return Handle()
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    monkeypatch.setattr(progress, "QUIET", 0.0)
    monkeypatch.setattr(progress, "REFRESH", 0.0)
    pulled = progress.event_from(kubelet_event("Pulled", "Successfully pulled image"))
    w = progress.Waiting("3 Ready pods with app=web", 90, events=FakeEvents([pulled]))
    w.tick(state="2/3 Ready", roots={"web"})
    w.tick(state="3/3 Ready", roots={"web"})
    w.finish(True)
    assert [kind for kind, _ in shown] == ["display", "update", "update"]
    assert "2/3 Ready" in shown[0][1] and "Pulled: Successfully pulled image" in shown[0][1]
    assert "\n" not in shown[-1][1] and shown[-1][1].startswith("⌛")
