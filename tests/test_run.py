"""kubelab._system.run: every command kubelab waits for ends, and says why when it fails.
No cluster needed."""
from __future__ import annotations

import sys

import pytest

from kubelab._base.errors import CommandFailed, CommandTimeout, KubelabError, ProgramMissing
from kubelab._system import run


def test_a_captured_run_returns_the_output():
    done = run.run([sys.executable, "-c", "print('hi')"], 20)
    assert done.returncode == 0 and done.stdout == "hi\n"


def test_a_missing_program_is_a_kubelab_error():
    with pytest.raises(ProgramMissing, match="no-such-program-kubelab"):
        run.run(["no-such-program-kubelab"], 5)


def test_a_command_out_of_time_is_stopped_and_said():
    with pytest.raises(CommandTimeout, match="sleeper did not finish in 1 s"):
        run.run([sys.executable, "-c", "import time; time.sleep(30)"], 1, what="sleeper")


def test_a_failure_says_its_exit_code_and_last_lines_when_checked():
    script = "import sys; print('bad input', file=sys.stderr); sys.exit(3)"
    assert run.run([sys.executable, "-c", script], 20).returncode == 3
    with pytest.raises(CommandFailed, match="exit 3") as raised:
        run.run([sys.executable, "-c", script], 20, check=True, fix="fix it")
    assert "bad input" in raised.value.problem and raised.value.fix == "fix it"
    assert raised.value.returncode == 3 and isinstance(raised.value, KubelabError)


class Recorder:
    made: list[Recorder] = []

    def __init__(self, what: str, timeout: float, printer) -> None:
        self.what, self.timeout, self.ticks, self.finished = what, timeout, 0, None
        Recorder.made.append(self)

    def tick(self) -> None:
        self.ticks += 1

    def finish(self, ok: bool) -> None:
        self.finished = ok


def test_the_waiting_display_is_the_callers():
    Recorder.made.clear()
    out, finished = run.stream([sys.executable, "-c", "import time; time.sleep(0.6)"], 20,
                               what="a nap", printer=lambda t: None, waiting=Recorder)
    assert finished and out == ""
    [shown] = Recorder.made
    assert shown.what == "a nap" and shown.timeout == 20 and shown.ticks > 0
    assert shown.finished is True


def test_the_default_waiting_display_prints_two_lines(monkeypatch):
    monkeypatch.setattr(run, "QUIET", 0.2)
    said: list[str] = []
    done = run.run_streamed([sys.executable, "-c", "import time; time.sleep(0.8)"], 20,
                            what="a nap", printer=said.append)
    assert done.finished and done.returncode == 0
    assert said[0].startswith("⏳ waiting for a nap") and said[-1].startswith("⌛")
    assert len(said) == 2


def test_a_logged_run_raises_with_its_fix():
    lines: list[str] = []
    with pytest.raises(CommandFailed, match="the tool failed") as raised:
        run.run_logged([sys.executable, "-c", "print('oops'); raise SystemExit(2)"], 20,
                       what="the tool", log=lines.append, env=None,
                       fix=lambda output: f"read: {output.strip()}")
    assert raised.value.fix == "read: oops" and "  oops" in lines
