"""A learner's sandbox survives faults (issue 25), in a KUBELAB_HOME of its own, through
the CLI a learner types:

(a) `kubelab up` interrupted (SIGINT, as Ctrl-C sends) at several moments: afterwards
    `status` reports the lab, or nothing of it is left (no process with the home
    directory on its command line, no port of it listening); `down` then leaves nothing;
(b) each component killed with SIGKILL (what the OOM killer does): `status` names it,
    `kubelab up` brings the lab back, and every ConfigMap made before is still there;
(c) a reboot: every process of the sandbox killed, one pid file naming a PID that now
    belongs to another program: `up` brings it back with its objects, and that program
    gets no signal.

Skipped unless KUBELAB_TEST_BACKENDS names `sandbox`. Figures (cases tried, survived,
objects lost) go to .ci-state/fault-report.txt for CI to show."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import labs
import psutil
import pytest

from kubelab._system import procs
from kubelab._system.net import port_free

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / ".ci-state" / "fault-report.txt"
COMPONENTS = ("kwok-controller", "kube-scheduler", "kube-controller-manager",
              "kube-apiserver", "etcd")
# When `kubelab up` gets its SIGINT: seconds after it began, or once a component's pid
# file is written (the control plane half up).
MOMENTS = (0.5, 1.5, 3.0, "etcd", "kube-apiserver", "kwok-controller")

# (part, case, survived, objects lost, seconds)
RESULTS: list[tuple[str, str, bool, int, float]] = []


def write_report() -> None:
    tried = len(RESULTS)
    survived = sum(1 for r in RESULTS if r[2])
    lost = sum(r[3] for r in RESULTS)
    lines = [f"sandbox faults: {tried} cases tried, {survived} survived, {lost} objects lost"
             f" ({sum(r[4] for r in RESULTS):.0f} s)"]
    lines += [f"  {part} {case}: {'survived' if ok else 'FAILED'}"
              + (f", {n} objects lost" if n else "") + f" ({seconds:.1f} s)"
              for part, case, ok, n, seconds in RESULTS]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A KUBELAB_HOME of this module's own: the session's lab is never touched."""
    labs.decide("sandbox", None, labs.why_no_sandbox, "sandbox")
    home = tmp_path_factory.mktemp("faults") / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("KUBELAB_HOME", str(home))
    try:
        yield home
    finally:
        try:
            cli(home, "down")
            left = labs.sandbox_processes(home)
            for pid, _ in left:                         # only this module's sandbox
                try:
                    psutil.Process(pid).kill()
                except psutil.Error:
                    pass
            write_report()
            assert not left, f"processes of this module's sandbox were left: {left}"
        finally:
            mp.undo()


def cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBELAB_HOME": str(home), "KUBELAB_DOWNLOAD": "0",
           "KUBELAB_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "kubelab.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def status(home: Path) -> tuple[int, dict]:
    proc = cli(home, "status", "-o", "json", timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def pid_dir(home: Path) -> Path:
    return home / "kwok" / "clusters" / "kubelab" / "pids"


def listening_ports(home: Path) -> set[int]:
    return {port for _, port in procs.listening([p for p, _ in labs.sandbox_processes(home)])}


def nothing_left(home: Path, ports: set[int]) -> list[str]:
    """What of the sandbox is still there: processes, ports, files."""
    problems = [f"process {pid} ({name})" for pid, name in labs.sandbox_processes(home)]
    deadline = time.monotonic() + 10       # a socket may outlive its process a moment
    while [p for p in ports if not port_free(p)] and time.monotonic() < deadline:
        time.sleep(0.3)
    problems += [f"port {p} listening" for p in sorted(ports) if not port_free(p)]
    problems += [f"{path.name} left" for path in (home / "kwok" / "clusters" / "kubelab",
                                                  home / "lab.json") if path.exists()]
    return problems


# ------------------------------------------------------------------ (a) interrupted up

@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_an_interrupted_up_is_reported_or_leaves_nothing(home, moment):
    assert not nothing_left(home, set()), "the last case left something"
    env = {**os.environ, "KUBELAB_HOME": str(home), "KUBELAB_DOWNLOAD": "0",
           "KUBELAB_LANG": "en"}
    up = subprocess.Popen([sys.executable, "-m", "kubelab.cli", "up", "--backend",
                           "sandbox", "--nodes", "1"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    start, ports = time.monotonic(), set()

    def reached() -> bool:
        if isinstance(moment, float):
            return time.monotonic() - start >= moment
        return (pid_dir(home) / f"{moment}.pid").exists()

    while up.poll() is None and time.monotonic() - start < 120 and not reached():
        ports |= listening_ports(home)
        time.sleep(0.05)
    ports |= listening_ports(home)
    up.send_signal(signal.SIGINT)
    out, _ = up.communicate(timeout=90)
    code, st = status(home)
    left = nothing_left(home, ports)
    if code == 0:
        what = "the lab came up before the interrupt"
    elif st.get("start") == "interrupted" or st.get("running"):
        what = f"status reports it ({st.get('problem')})"
    else:
        what = "nothing left" if not left else f"status says no lab, yet: {left}"
    reported_or_clean = code == 0 or st.get("start") == "interrupted" or \
        st.get("running") or not left
    down = cli(home, "down")
    after = nothing_left(home, ports)
    ok = reported_or_clean and down.returncode == 0 and not after
    when = f"{moment} s" if isinstance(moment, float) else f"once {moment} started"
    RESULTS.append(("interrupted up", f"at {when} ({what})", ok, 0,
                    time.monotonic() - start))
    print(f"SIGINT at {moment}: exit {up.returncode}; {what}; after down: {after or 'nothing'}")
    assert reported_or_clean, (what, out)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not after, (after, out, down.stdout)


# ------------------------------------------------------------------ (b), (c) crashes

def kubectl(home: Path, *args: str) -> subprocess.CompletedProcess:
    from kubelab._cluster.cluster import Cluster
    cluster = Cluster.load()
    assert cluster is not None
    return cluster.kubectl(list(args), check=False, timeout=30)


def objects_lost(home: Path, names: list[str]) -> list[str]:
    found = kubectl(home, "get", "configmaps", "-n", "default", "-o", "name").stdout.split()
    return [n for n in names if f"configmap/{n}" not in found]


def recorded_pid(home: Path, component: str) -> int:
    return int((pid_dir(home) / f"{component}.pid").read_text())


@pytest.fixture(scope="module")
def made(home):
    """The ConfigMaps made so far in the module's sandbox (started here, once)."""
    proc = cli(home, "up", "--backend", "sandbox", "--nodes", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return []


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_killed_component_comes_back_with_the_objects(home, made, component):
    name = f"before-{component}-died"
    assert kubectl(home, "create", "configmap", name, "-n", "default",
                   f"--from-literal=component={component}").returncode == 0
    made.append(name)
    start = time.monotonic()
    pid = recorded_pid(home, component)
    os.kill(pid, signal.SIGKILL)                 # only the process this sandbox recorded
    assert not procs.wait_gone([p for p in [procs.process(pid)] if p], 10)
    code, st = status(home)
    named = component in (st.get("components_down") or [])
    up = cli(home, "up", "--backend", "sandbox")
    back_code, back = status(home)
    lost = objects_lost(home, made) if back_code == 0 else list(made)
    ok = code != 0 and named and up.returncode == 0 and back_code == 0 and not lost
    RESULTS.append(("killed", component, ok, len(lost), time.monotonic() - start))
    print(f"{component} killed: status said {st.get('problem')!r}; up said "
          f"{up.stdout.strip().splitlines()}; lost {lost}")
    assert code != 0 and named, st
    assert up.returncode == 0, up.stdout + up.stderr
    assert "again, on its own data" in up.stdout, up.stdout
    assert back_code == 0, back
    assert not lost


def test_a_reboot_brings_the_lab_back_with_its_objects(home, made, sleeper):
    """Every process killed; the scheduler's pid file now names another program's PID
    (one with the lab's directory on its command line, as an editor's could be)."""
    assert kubectl(home, "create", "configmap", "before-reboot", "-n",
                   "default").returncode == 0
    made.append("before-reboot")
    start = time.monotonic()
    pids = [recorded_pid(home, c) for c in COMPONENTS]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    procs.wait_gone([p for pid in pids if (p := procs.process(pid))], 10)
    other = sleeper(str(pid_dir(home).parent / "logs" / "kube-scheduler.log"))
    stale = pid_dir(home) / "kube-scheduler.pid"
    stale.write_text(str(other.pid))
    long_ago = time.time() - 600
    os.utime(stale, (long_ago, long_ago))
    code, st = status(home)
    up = cli(home, "up", "--backend", "sandbox")
    back_code, back = status(home)
    lost = objects_lost(home, made) if back_code == 0 else list(made)
    ok = code != 0 and up.returncode == 0 and back_code == 0 and not lost and \
        other.poll() is None
    RESULTS.append(("reboot", "every process killed, a pid file reused", ok, len(lost),
                    time.monotonic() - start))
    print(f"reboot: status said {st.get('components_down')}; up said "
          f"{up.stdout.strip().splitlines()}; lost {lost}")
    assert code != 0 and sorted(st.get("components_down") or []) == sorted(COMPONENTS), st
    assert up.returncode == 0, up.stdout + up.stderr
    assert back_code == 0, back
    assert not lost
    assert other.poll() is None, "a program whose PID a stale pid file named got a signal"


