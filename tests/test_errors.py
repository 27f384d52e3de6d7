"""Specific errors: a wait that runs out of time is a WaitTimeout, a condition that raises
says so at once (PredicateError), and only API and connection errors make a watch start
again from a fresh list. Against a fake dynamic client: no cluster needed."""
from __future__ import annotations

import time

import pytest
import urllib3

from kubelab._base import errors
from kubelab._base.errors import (
    ApiError,
    CheckFailed,
    KubelabError,
    PredicateError,
    UsageError,
    WaitTimeout,
)
from kubelab._cluster.cluster import Cluster
from kubelab._session import watching
from kubelab.lab import Lab


class Listed:
    def __init__(self, items: list[dict], version: str = "1") -> None:
        self.items, self.version = items, version

    def to_dict(self) -> dict:
        return {"items": self.items, "metadata": {"resourceVersion": self.version}}


class FakeResource:
    """Pods as the dynamic client shows them: `get` lists, `watch` streams events, or
    raises what a test hands it (one entry per watch call)."""
    kind, name, singular_name, short_names = "Pod", "pods", "pod", ["po"]
    namespaced, preferred = True, True

    def __init__(self, items: list[dict], watches: list) -> None:
        self.items, self.watches, self.lists = items, list(watches), 0

    def get(self, **_: object) -> Listed:
        self.lists += 1
        return Listed(self.items)

    def watch(self, **kwargs: object):
        outcome = self.watches.pop(0) if self.watches else []
        if isinstance(outcome, BaseException):
            raise outcome
        if not outcome:
            time.sleep(min(float(kwargs.get("timeout", 1)), 0.2))
        yield from outcome


class FakeDynamic:
    def __init__(self, resource: FakeResource) -> None:
        self.resources = self
        self.resource = resource

    def search(self) -> list[FakeResource]:
        return [self.resource]

    def invalidate_cache(self) -> None:     # the real discoverer forgets what it listed
        pass


def pod(name: str, phase: str = "Pending") -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": "2"},
            "status": {"phase": phase}}


def test_every_specific_error_is_a_kubelab_error_with_a_fix():
    for cls in (UsageError, errors.BackendUnavailable, errors.BinaryError, ApiError,
                errors.ClusterUnreachable, WaitTimeout, PredicateError, CheckFailed):
        e = cls("what happened", "what to do")
        assert isinstance(e, KubelabError) and e.fix == "what to do"
    assert ApiError("x", "y", status=403).status == 403


def test_a_wait_that_runs_out_of_time_is_a_wait_timeout():
    dynamic = FakeDynamic(FakeResource([pod("web")], []))
    start = time.monotonic()
    with pytest.raises(WaitTimeout, match="timed out after 1 s waiting for web to run"):
        watching.wait_for(dynamic, "Pod", lambda ps: False, namespace="ns", timeout=1,
                          describe="web to run")
    assert time.monotonic() - start < 5


def test_a_condition_that_raises_says_so_at_once():
    events = [{"type": "MODIFIED", "raw_object": {"metadata": {"name": "web",
                                                               "namespace": "ns"}}}]
    dynamic = FakeDynamic(FakeResource([pod("web")], [events]))

    def running(pods: list[dict]) -> bool:
        return pods[0]["status"]["phase"] == "Running"     # no status in the event: KeyError

    start = time.monotonic()
    with pytest.raises(PredicateError) as e:
        watching.wait_for(dynamic, "Pod", running, namespace="ns", timeout=30,
                          describe="web to run")
    assert time.monotonic() - start < 5                       # not the 30 s of the wait
    assert "KeyError: 'status'" in e.value.problem
    assert 'pods[0]["status"]["phase"]' in e.value.problem    # the line that raised
    assert ".get()" in e.value.fix
    assert isinstance(e.value.__cause__, KeyError)


def test_a_condition_that_raises_on_the_first_list_says_so_too():
    dynamic = FakeDynamic(FakeResource([], []))
    with pytest.raises(PredicateError, match="IndexError"):
        watching.wait_for(dynamic, "Pod", lambda pods: pods[0], namespace="ns", timeout=30)


@pytest.mark.parametrize("dropped", [
    urllib3.exceptions.ProtocolError("Connection broken"),
    ConnectionResetError("reset by peer"),
    __import__("kubernetes").client.exceptions.ApiException(status=410, reason="Gone"),
])
def test_a_dropped_or_expired_watch_resumes_from_a_fresh_list(dropped):
    resource = FakeResource([pod("web")], [dropped])
    dynamic = FakeDynamic(resource)
    seen = []

    def second_look(pods: list[dict]) -> bool:
        seen.append(len(pods))
        return len(seen) > 1

    watching.wait_for(dynamic, "Pod", second_look, namespace="ns", timeout=10)
    assert resource.lists == 2                                # listed again after the drop


def test_a_bug_in_the_watch_loop_is_not_mistaken_for_a_dropped_watch():
    dynamic = FakeDynamic(FakeResource([pod("web")], [RuntimeError("a bug")]))
    with pytest.raises(RuntimeError, match="a bug"):
        watching.wait_for(dynamic, "Pod", lambda ps: False, namespace="ns", timeout=10)


def test_an_unreachable_cluster_is_said_plainly():
    class Down(FakeResource):
        def get(self, **_: object) -> Listed:
            raise urllib3.exceptions.MaxRetryError(None, "/api/v1/pods", "refused")
    with pytest.raises(errors.ClusterUnreachable, match="did not answer"):
        watching.wait_for(FakeDynamic(Down([], [])), "Pod", lambda ps: True, timeout=5)


def lab_on(resource: FakeResource) -> Lab:
    cluster = Cluster(backend="sandbox", kubeconfig="/nonexistent", context="none",
                      created_by_kubelab=True)
    return Lab(cluster=cluster, namespace="ns", chapter="99-test",
               _dynamic=FakeDynamic(resource))


def test_a_check_that_is_not_settled_in_time_fails_as_a_check(capsys):
    lab = lab_on(FakeResource([pod("web")], []))
    with pytest.raises(CheckFailed):
        lab.check("web runs", lambda: False, "start it", within=1)


def test_a_check_watching_a_kind_that_does_not_exist_is_not_a_failed_check():
    lab = lab_on(FakeResource([pod("web")], []))
    with pytest.raises(KubelabError, match="no resource type 'Podz'") as e:
        lab.check("web runs", lambda: False, "start it", within=5, watch="Podz")
    assert not isinstance(e.value, CheckFailed)


def test_a_check_whose_condition_breaks_while_settling_says_so():
    lab = lab_on(FakeResource([pod("web")], []))
    calls = []

    def condition() -> bool:
        calls.append(1)
        if len(calls) > 1:
            return {}["status"]
        return False

    with pytest.raises(PredicateError, match="KeyError"):
        lab.check("web runs", condition, "start it", within=30)


def test_a_wait_that_runs_out_inside_a_condition_is_a_failed_check():
    lab = lab_on(FakeResource([pod("web")], []))

    def condition() -> bool:
        raise errors.WaitTimeout("timed out after 5 s waiting for 4 Ready pods")
    with pytest.raises(CheckFailed, match="timed out after 5 s"):
        lab.check("web runs 4 pods", condition, "scale it")
    assert lab.results[-1].passed is False


def test_a_typo_in_a_condition_is_reported_not_failed_as_a_check():
    lab = lab_on(FakeResource([pod("web")], []))
    with pytest.raises(KubelabError, match="no resource type 'Deploymnet'") as e:
        lab.check("web exists", lambda: lab.get("Deploymnet", "web") is not None, "make it")
    assert not isinstance(e.value, CheckFailed) and not lab.results
