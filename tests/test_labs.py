"""tests/labs.py, the factory every real-backend module starts its lab with, and the root
conftest.py's nbval rule: checked with a stand-in backend, nothing is started."""
from __future__ import annotations

import os
from pathlib import Path

import labs
import pytest

from kubelab import _backends as backends

ROOT = Path(__file__).resolve().parent.parent


def test_a_backend_runs_only_where_the_run_asks_for_it(monkeypatch):
    monkeypatch.delenv(labs.BACKENDS_ENV, raising=False)
    monkeypatch.delenv("KUBELAB_REQUIRE_KIND", raising=False)
    assert "is not set" in labs.not_requested("kind", "KUBELAB_REQUIRE_KIND")
    monkeypatch.setenv(labs.BACKENDS_ENV, "sandbox, local")
    assert labs.not_requested("kind") == \
        f"not requested: {labs.BACKENDS_ENV}=sandbox,local lacks kind"
    assert labs.not_requested("local") is None
    monkeypatch.setenv("KUBELAB_REQUIRE_KIND", "1")          # CI's: asked for, and required
    assert labs.not_requested("kind", "KUBELAB_REQUIRE_KIND") is None


def test_what_cannot_run_here_skips_and_says_why_unless_required(monkeypatch):
    monkeypatch.setenv(labs.BACKENDS_ENV, "kind")
    monkeypatch.delenv("KUBELAB_REQUIRE_KIND", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no kind cluster here: no Docker engine"):
        labs.decide("kind", "KUBELAB_REQUIRE_KIND", lambda: "no Docker engine")
    monkeypatch.setenv("KUBELAB_REQUIRE_KIND", "1")
    with pytest.raises(pytest.fail.Exception, match="KUBELAB_REQUIRE_KIND=1"):
        labs.decide("kind", "KUBELAB_REQUIRE_KIND", lambda: "no Docker engine")
    labs.decide("kind", "KUBELAB_REQUIRE_KIND", lambda: None)    # may start


class StandIn:
    """backends.up/down/current for a lab that is only a record in KUBELAB_HOME."""

    def __init__(self, leave: str | None = None) -> None:
        self.calls, self.machine, self.leave = [], set(), leave

    def up(self, backend, log=print, **options):
        self.calls.append(("up", backend, options, os.environ["KUBELAB_HOME"]))
        self.machine.add("bridge")
        return {"backend": backend}

    def current(self, required=True):
        return {"backend": "x"} if "bridge" in self.machine else None

    def down(self, log=print):
        self.calls.append(("down", os.environ["KUBELAB_HOME"]))
        self.machine.discard("bridge")
        if self.leave:
            self.machine.add(self.leave)

    def state(self) -> list[str]:
        return sorted(self.machine)


@pytest.fixture
def stand_in(monkeypatch):
    backend = StandIn()
    for name in ("up", "down", "current"):
        monkeypatch.setattr(backends, name, getattr(backend, name))
    monkeypatch.setenv(labs.BACKENDS_ENV, "kind")
    monkeypatch.setenv("KUBELAB_HOME", "/the/ambient/home")
    return backend


def test_start_lab_gives_a_private_home_and_puts_the_machine_back(stand_in, tmp_path):
    with labs.start_lab("kind", 3, home=tmp_path, require_env=None,
                        why_not_here=lambda: None, machine_state=stand_in.state) as up:
        assert up.cluster == {"backend": "kind"} and up.before == []
        assert os.environ["KUBELAB_HOME"] == str(tmp_path)
    assert stand_in.calls == [("up", "kind", {"nodes": 3}, str(tmp_path)),
                              ("down", str(tmp_path))]
    assert os.environ["KUBELAB_HOME"] == "/the/ambient/home"


def test_start_lab_does_not_stop_twice_what_a_test_stopped(stand_in, tmp_path):
    with labs.start_lab("kind", home=tmp_path, require_env=None,
                        why_not_here=lambda: None, machine_state=None):
        stand_in.down()
    assert [c[0] for c in stand_in.calls] == ["up", "down"]
    assert stand_in.calls[0][2] == {}                    # no nodes: the backend's own count


def test_start_lab_fails_where_down_left_something_behind(stand_in, tmp_path):
    stand_in.leave = "a firewall rule"
    with pytest.raises(AssertionError, match="`down` left the machine changed"):
        with labs.start_lab("kind", home=tmp_path, require_env=None,
                            why_not_here=lambda: None, machine_state=stand_in.state):
            pass


def test_start_lab_starts_nothing_when_not_asked(stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv(labs.BACKENDS_ENV, "sandbox")
    with pytest.raises(pytest.skip.Exception, match="lacks kind"):
        with labs.start_lab("kind", home=tmp_path, require_env=None,
                            why_not_here=lambda: None, machine_state=stand_in.state):
            pass
    assert stand_in.calls == []


def test_nbval_compares_only_the_chapters_with_checked_cells():
    import importlib.util
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    kept = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")
                  if root_conftest.checked_cells(p))
    assert kept and len(kept) < len(list((ROOT / "notebooks").glob("*.ipynb")))
    assert "03-contexts" in kept and "00-start-here" not in kept


def test_the_session_uses_the_lab_that_answers(monkeypatch):
    session = labs.SessionLab()
    monkeypatch.setattr(labs, "lab_that_answers", lambda: ("the lab", "found"))
    assert session.will_have_a_lab() == (True, "found")
    assert session.cluster() == "the lab"


def test_without_a_lab_or_a_sandbox_asked_for_the_session_skips_and_says_why(monkeypatch):
    session = labs.SessionLab()
    monkeypatch.setattr(labs, "lab_that_answers", lambda: (None, "no lab is recorded"))
    monkeypatch.setenv(labs.BACKENDS_ENV, "kind")
    assert session.will_have_a_lab() == (False, f"no lab is recorded; {labs.NO_LAB}")
    with pytest.raises(pytest.skip.Exception, match="kubelab up --backend sandbox"):
        session.cluster()


def test_the_session_starts_a_sandbox_when_asked_and_stops_it_at_the_end(stand_in, tmp_path,
                                                                         monkeypatch):
    session = labs.SessionLab()
    session.tmp = lambda name: tmp_path / name
    monkeypatch.setattr(labs, "lab_that_answers", lambda: (None, "no lab is recorded"))
    monkeypatch.setattr(labs, "why_no_sandbox", lambda: None)
    monkeypatch.setenv(labs.BACKENDS_ENV, "sandbox")
    assert session.will_have_a_lab()[0]
    assert session.cluster() == {"backend": "sandbox"} == session.cluster()   # started once
    assert os.environ["KUBELAB_HOME"] == str(tmp_path / "sandbox-home")
    session.close()
    assert [c[0] for c in stand_in.calls] == ["up", "down"]
    assert os.environ["KUBELAB_HOME"] == "/the/ambient/home"
