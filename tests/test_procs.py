"""Processes kubelab started, on real processes of this machine: a signal only reaches
the one recorded (a reused PID is left alone), and memory counts shared pages once."""
from __future__ import annotations

import os
import time

import psutil

from kubelab._backends import sandbox
from kubelab._backends.local import daemons
from kubelab._system import procs

def test_a_recorded_process_is_found_only_with_its_create_time(sleeper):
    proc = sleeper()
    created = procs.started_at(proc.pid)
    assert procs.process(proc.pid, created).pid == proc.pid
    assert procs.process(proc.pid) is not None          # a state written before this check
    assert procs.process(proc.pid, created - 5) is None   # the PID now names another program
    assert procs.process(None) is None


def test_a_zombie_or_an_ended_process_is_not_running(sleeper):
    proc = sleeper()
    found = procs.process(proc.pid)
    proc.kill()
    time.sleep(0.3)                      # killed, not yet reaped: a zombie
    assert procs.process(proc.pid) is None and not procs.running(found)
    proc.wait()
    assert procs.process(proc.pid) is None


def test_stop_spares_a_reused_pid_and_ends_the_recorded_process(sleeper):
    other = sleeper()
    state = {"pids": {"kubelet": other.pid},
             "started": {"kubelet": procs.started_at(other.pid) - 5}}   # recorded earlier
    daemons.stop(daemons.recorded(state, "kubelet"), seconds=1)
    assert other.poll() is None, "a process kubelab did not start got a signal"
    state["started"]["kubelet"] = procs.started_at(other.pid)
    daemons.stop(daemons.recorded(state, "kubelet"), seconds=5)
    assert other.wait(timeout=5) == -15                  # SIGTERM, the polite way first


def test_sandbox_delete_ends_only_processes_of_its_own_directory(sleeper, isolated_home,
                                                                monkeypatch):
    # kwokctl does not know these sleepers: delete waits for them, then kills; not 10 s here
    wait_gone = procs.wait_gone
    monkeypatch.setattr(procs, "wait_gone", lambda ps, seconds: wait_gone(ps, min(seconds, 1)))
    pid_dir = sandbox.workdir() / "clusters" / sandbox.NAME / "pids"
    pid_dir.mkdir(parents=True)
    ours = sleeper(str(sandbox.workdir() / "clusters" / sandbox.NAME / "etcd"))
    editor = sleeper("kubelab/cli.py")              # what the old check let through
    (pid_dir / "etcd.pid").write_text(str(ours.pid))
    (pid_dir / "kube-apiserver.pid").write_text(str(editor.pid))
    reused = sleeper(str(sandbox.workdir()))        # started after its pid file was written
    (pid_dir / "kwok-controller.pid").write_text(str(reused.pid))
    before = time.time() - 60
    os.utime(pid_dir / "kwok-controller.pid", (before, before))
    assert [p.pid for p in sandbox._ours()] == [ours.pid]
    sandbox.delete()
    assert ours.wait(timeout=15) == -9
    assert editor.poll() is None and reused.poll() is None
    assert not pid_dir.exists()


def test_memory_counts_pages_two_processes_share_once(sleeper):
    a, b = sleeper(), sleeper()
    time.sleep(1)                                   # both have loaded Python
    mem = procs.memory_mb([a.pid, b.pid])
    alone = procs.memory_mb([a.pid])
    print(f"two Pythons: RSS summed {mem.rss:.1f} MB, held {mem.held:.1f} MB "
          f"(exact: {mem.exact}); one: {alone.held:.1f} MB")
    assert mem.rss > 0 and alone.held > 0
    assert mem.held < mem.rss                       # the interpreter's pages once, not twice
    assert mem.held < 2 * alone.held
    if mem.exact:        # from page frames: at least one process's pages (PSS may be less)
        assert psutil.Process(a.pid).memory_info().rss / 2**20 <= mem.held + 1
