"""The sandbox: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) run by kwokctl as plain processes on 127.0.0.1, with kwok playing the
kubelet of a few simulated nodes. No root, no Docker: it runs in CI and on Binder.

What it cannot do: run containers. Pods become Running and Ready and get IPs, but no
process runs inside them, so logs, exec and traffic through Services need another backend.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import psutil

from kubelab._backends import sandbox_records as records
from kubelab._backends.base import Backend, Log, Options, register
from kubelab._backends.sandbox_records import NAME, cluster_dir, workdir
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._cluster.cluster import Cluster
from kubelab._system import procs
from kubelab._system.net import port_free
from kubelab._system.paths import lab_kubeconfig

CONTEXT = f"kwok-{NAME}"
SERVICE_CIDR = "10.96.0.0/16"     # distinct from the pod range, as on kind and minikube
POD_CIDR_PREFIX = "10.244"        # node N gets 10.244.N.0/24
NODE_IP_PREFIX = "192.0.2"        # TEST-NET-1: documentation addresses, never routed


def kwokctl_env() -> dict[str, str]:
    env = dict(os.environ)
    env["KWOK_WORKDIR"] = str(workdir())
    env["KWOK_KUBECTL_BINARY"] = str(binaries.kubectl())
    env["KUBECONFIG"] = str(lab_kubeconfig())   # never the learner's ~/.kube/config
    return env


# Options kwokctl only takes from a configuration file. Every component listens on
# loopback only (kwokctl's default is 0.0.0.0).
#
# A soft memory limit for the apiserver: Binder gives ~2 GB for everything. Its live heap
# is ~120 MB (pprof), but at Go's default GOGC it keeps ~310 MB resident. Measured side by
# side on 2 cores (RSS of the 5 processes after a 3-pod Deployment; control-plane CPU
# seconds over 4 namespaces of 10-pod rollouts): default 571 MB / 23 s; apiserver at
# 180MiB 520 MB / 33 s; at 150MiB 497 MB / 120 s (GC all the time); every component
# tightened 479 MB / 124 s. The other four stayed near 260 MB whatever their limits: that
# was four programs' code, which the one control-plane program now shares (gobuild.
# build_control_plane; about 385 MB held in all). With it, GOGC=50 for the controller-
# manager, scheduler and kwok saved nothing at start and ~13 MB after the 9 chapters
# (439/432 vs 447/450 MB), so it is not set. 180MiB is the last step that costs little.
APISERVER_MEMORY_LIMIT = "180MiB"
KWOKCTL_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: {bind}
  kubeApiserverCertSANs: [{sans}]
componentsPatches:
- name: kube-apiserver
  extraEnvs:
  - name: GOMEMLIMIT
    value: "{apiserver_memory}"
"""


def config_path(bind: str = "127.0.0.1", sans: tuple[str, ...] = ()) -> Path:
    path = records.kwokctl_config()
    path.write_text(KWOKCTL_CONFIG.format(bind=bind, sans=", ".join(f'"{s}"' for s in sans),
                                          apiserver_memory=APISERVER_MEMORY_LIMIT))
    return path


def create_argv(bins: dict[str, Path], kubeconfig: Path, port: int | None = None,
                bind: str = "127.0.0.1", sans: tuple[str, ...] = (),
                extra: tuple[str, ...] = (), component_args: tuple[str, ...] = ()) -> list[str]:
    """component_args: "component=key=value" strings for kwokctl's --extra-args."""
    argv = [str(bins["kwokctl"]), "--config", str(config_path(bind, sans)),
            "create", "cluster", "--name", NAME, "--runtime", "binary",
            "--kube-apiserver-binary", str(bins["kube-apiserver"]),
            "--kube-controller-manager-binary", str(bins["kube-controller-manager"]),
            "--kube-scheduler-binary", str(bins["kube-scheduler"]),
            "--kwok-controller-binary", str(bins["kwok"]),
            "--etcd-binary", str(bins["etcd"]),
            "--kubeconfig", str(kubeconfig),
            # RBAC and admission (quotas, limits) on, as on every real cluster.
            "--kube-authorization", "--kube-admission",
            *extra_args_argv((f"kube-apiserver=service-cluster-ip-range={SERVICE_CIDR}",
                              *component_args)),
            "--timeout", "120s", "--wait", "60s", *extra]
    if port:
        argv += ["--kube-apiserver-port", str(port)]
    return argv


def extra_args_argv(args: tuple[str, ...]) -> list[str]:
    """--extra-args, each component's first one ahead of all others: kwokctl v0.8.0 files a
    repeated component's args under the flag's position, not the component's, and panics
    ("index out of range") unless those two agree."""
    firsts, rest, seen = [], [], set()
    for arg in args:
        component = arg.split("=", 1)[0]
        (rest if component in seen else firsts).append(arg)
        seen.add(component)
    return [a for arg in firsts + rest for a in ("--extra-args", arg)]


def node_manifest(index: int) -> dict:
    name = f"kubelab-node-{index}"
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "type": "kwok",
                       "node-role.kubernetes.io/worker": ""},
        },
        "spec": {"podCIDR": f"{POD_CIDR_PREFIX}.{index}.0/24",
                 "podCIDRs": [f"{POD_CIDR_PREFIX}.{index}.0/24"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": f"{NODE_IP_PREFIX}.{10 + index}"}],
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                         "kubeletVersion": f"kwok-{versions.KWOK}", "kubeProxyVersion": "",
                         "osImage": "simulated by kwok (no containers run)",
                         "containerRuntimeVersion": "none://", "kernelVersion": "",
                         "machineID": "", "systemUUID": "", "bootID": ""},
        },
    }


def add_nodes(cluster: Cluster, count: int) -> None:
    import json
    if count <= 0:
        return
    items = [node_manifest(i) for i in range(1, count + 1)]
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    cluster.kubectl(["apply", "-f", "-"], input=doc)
    cluster.kubectl(["wait", "--for=condition=Ready", "node", "--all", "--timeout=60s"],
                    timeout=70)


# Recorded in the lab's details while `up` starts the sandbox: which `kubelab up` (PID,
# create time) is at it. `status` then tells a start in progress from one interrupted.
STARTING = "starting"
# kube-controller-manager's and kube-scheduler's --leader-elect-renew-deadline (default):
# a copy that could not renew its lease for this long ends itself.
LEASE_RENEW_DEADLINE = 10.5


def up(nodes: int, port: int | None = None, log=print,  # noqa: ANN001
       bind: str = "127.0.0.1", sans: tuple[str, ...] = (), extra: tuple[str, ...] = (),
       component_args: tuple[str, ...] = (), backend: str = "sandbox",
       record: bool = False) -> Cluster:
    """The control plane; the local backend passes its node address, SANs and flags.

    All or nothing: on any failure, or Ctrl-C, what was started is removed (by the
    sandbox's pid files and directory, records.processes) and the error raised again.
    With `record`, the lab is recorded (lab.json, marked STARTING) before kwokctl starts
    anything, so `status` sees a start that was cut short and `down` removes it."""
    if port and not port_free(port, bind):
        raise KubelabError(f"port {port} on 127.0.0.1 is already in use.",
                           "pick another with `kubelab up --port N`, or leave --port out "
                           "to let kubelab choose a free one.")
    bins = binaries.find_all()
    kubeconfig = lab_kubeconfig()
    if _exists() or records.processes():
        log("a sandbox from an earlier run is still recorded; removing it first")
        delete()
    cluster = Cluster(backend=backend, kubeconfig=str(kubeconfig), context=CONTEXT,
                      created_by_kubelab=True, name=NAME,
                      details={"workdir": str(workdir()), "nodes": nodes})
    with _signals_as_ctrl_c():
        try:
            if record:
                cluster.details[STARTING] = {"pid": os.getpid(),
                                             "since": procs.started_at(os.getpid())}
                cluster.save()
            log(f"starting the sandbox control plane "
                f"({binaries.COMPONENTS['kube-apiserver'].version})")
            proc = run_kwokctl(create_argv(bins, kubeconfig, port, bind, sans, extra,
                                           component_args), timeout=300)
            if proc.returncode != 0:
                raise KubelabError("kwokctl could not create the sandbox:\n"
                                   + "\n".join(proc.stderr.strip().splitlines()[-12:]),
                                   "run `kubelab doctor`; if a port is taken, pass `--port`.")
            kubeconfig.chmod(0o600)
            add_nodes(cluster, nodes)
            cluster.details.pop(STARTING, None)
            cluster.save()
        except BaseException as e:
            _undo_start(e, record, log)
            if isinstance(e, (KubelabError, KeyboardInterrupt, SystemExit)):
                raise
            raise KubelabError(tr("the sandbox could not start: {error}", error=e),
                               tr("nothing it started is left running; run `kubelab doctor`, "
                                  "then `kubelab up` again.")) from e
    return cluster


def _undo_start(error: BaseException, record: bool, log: Log) -> None:
    """Remove what an `up` started before it failed; forget the lab only once nothing is
    left, so that `down` finishes the job if this is cut short too."""
    with _no_interrupts():
        try:
            ended = delete()
        except Exception as e:  # noqa: BLE001 - the first error is the one to report
            log(tr("could not remove the half-started sandbox ({error}): `kubelab down` "
                   "removes it", error=e))
            return
        if record:
            Cluster.forget()
        if isinstance(error, KeyboardInterrupt):
            log(tr("interrupted: the half-started sandbox was removed ({count} processes "
                   "ended, no port left open)", count=ended))


# Ctrl-C, `kill PID` and a closed terminal all end an `up` the same way: what it started
# is removed first. (kwokctl runs in a session of its own: these reach kubelab alone.)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _handling(handler: object) -> Iterator[None]:
    """STOP_SIGNALS handled by `handler` meanwhile (only the main thread can set one)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _signals_as_ctrl_c() -> contextlib.AbstractContextManager:
    """SIGTERM and SIGHUP during `up` are a Ctrl-C: kubelab removes what it started."""
    return _handling(_raise_interrupt)


def _no_interrupts() -> contextlib.AbstractContextManager:
    """Signals wait while kubelab removes what it started (a second Ctrl-C would leave
    half of it behind)."""
    return _handling(signal.SIG_IGN)


def run_kwokctl(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    """kwokctl in a session of its own, so that Ctrl-C reaches kubelab alone. On Ctrl-C (or
    a timeout) kubelab sends it SIGINT: it stops starting components and writes the pid
    file of any it has just started; SIGKILL after 10 s. Then the error is raised again."""
    proc = subprocess.Popen(argv, env=kwokctl_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException as e:
        with _no_interrupts():
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        if isinstance(e, subprocess.TimeoutExpired):
            raise KubelabError(tr("kwokctl did not finish in {seconds:.0f} s.",
                                  seconds=timeout),
                               tr("run `kubelab doctor`; the machine may be short of "
                                  "memory or CPU.")) from None
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _exists() -> bool:
    return cluster_dir().exists()


def _recorded() -> list[tuple[int, float]]:
    """(PID, when its file was written) from the pid files kwokctl wrote for the sandbox."""
    return list(records.pid_files().values())


def pids() -> list[int]:
    """The processes kwokctl started for the sandbox."""
    return [pid for pid, _ in _recorded()]


def _ours() -> list[psutil.Process]:
    """The recorded processes that are still the ones kwokctl started (records.py)."""
    return [p for p in records.states().values() if p is not None]


def delete() -> int:
    """Remove the sandbox: end every process that is its own (by its pid files, and those
    started from its directory without one), wait until they are gone (their ports with
    them), then remove its directory. Safe to repeat, and after an `up` or a `down` that
    was cut short. Returns how many processes it ended."""
    found = records.processes()
    left = procs.end(found, 10)
    if left:
        raise KubelabError(tr("{count} processes of the sandbox did not end: PIDs {pids}",
                              count=len(left), pids=", ".join(str(p.pid) for p in left)),
                           tr("end them yourself (`kill -9 PID`), then run `kubelab down` "
                              "again."))
    kwokctl = binaries.cached("kwokctl")
    if kwokctl and (cluster_dir() / "kwok.yaml").exists():
        # kwokctl removes its own records (it finds every component stopped)
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            subprocess.run([str(kwokctl), "delete", "cluster", "--name", NAME],
                           env=kwokctl_env(), capture_output=True, text=True, timeout=60)
    import shutil
    shutil.rmtree(cluster_dir(), ignore_errors=True)
    return len(found)


def down(cluster: Cluster) -> None:
    delete()
    lab_kubeconfig().unlink(missing_ok=True)


# ------------------------------------------------------------------ a crashed component

def data_missing() -> str | None:
    """Why the sandbox's own files cannot bring it back (its record or etcd's data gone),
    or None when they are there."""
    if not (cluster_dir() / "kwok.yaml").is_file():
        return tr("kwokctl's record of it is gone")
    if not any((cluster_dir() / "etcd").glob("member/snap/db")):
        return tr("etcd's data directory is empty")
    return None


def starting_state(cluster: Cluster) -> tuple[str, int | None] | None:
    """For a lab recorded while `up` started it: ("starting", PID) while that `kubelab
    up` still runs, ("interrupted", None) when it does not; None for a lab that started."""
    mark = cluster.details.get(STARTING)
    if not mark:
        return None
    pid = mark.get("pid") if isinstance(mark, dict) else None
    since = mark.get("since") if isinstance(mark, dict) else None
    if pid and procs.process(pid, since) is not None:
        return "starting", pid
    return "interrupted", None


def component_states() -> dict[str, int | None]:
    """Each of the sandbox's components -> its PID while it runs, None when it is down."""
    return {name: (proc.pid if proc else None) for name, proc in records.states().items()}


def revive(cluster: Cluster, log: Log = print) -> Cluster | None:
    """A recorded sandbox that does not answer: start again only the components that are
    not running, with the command lines kwokctl recorded, on the same etcd data, so every
    object is still there. None (after one line saying why) when it cannot come back and a
    new lab is to be made: its start was interrupted, or its etcd data is gone or unusable.
    Raises KubelabError when the data is fine but a component cannot start (the lab is
    kept: `kubelab down` removes it)."""
    state = starting_state(cluster)
    if state is not None:
        if state[0] == "starting":
            raise KubelabError(tr("the sandbox is still starting (`kubelab up`, PID {pid})",
                                  pid=state[1]),
                               tr("wait for it to finish, or press Ctrl-C there: it "
                                  "removes what it started."))
        log(tr("the last start of the sandbox was interrupted: it is removed and a new lab "
               "is made"))
        return None
    why = data_missing()
    if why:
        log(tr("the sandbox's data is gone ({why}): a new, empty lab is made", why=why))
        return None
    kwokctl = binaries.find("kwokctl", build=False, download=False)
    settle = 0.0
    for _ in range(3):
        down = [name for name, pid in component_states().items() if pid is None]
        if down:
            log(tr("starting the sandbox's {components} again, on its own data",
                   components=", ".join(down)))
            if {"etcd", "kube-apiserver"} & set(down):
                settle = time.monotonic() + LEASE_RENEW_DEADLINE
            records.clear_stale_pid_files()
            proc = run_kwokctl([str(kwokctl), "start", "cluster", "--name", NAME,
                                "--timeout", "120s"], timeout=180)
            if proc.returncode != 0:
                raise KubelabError(tr("kwokctl could not start {components} again:\n"
                                      "{stderr}", components=", ".join(down),
                                      stderr="\n".join(proc.stderr.strip().splitlines()[-8:])),
                                   _keep_fix())
        ok, why = _wait_ready(cluster, 60)
        if not component_states().get("etcd", 1):
            log(tr("the sandbox's etcd data cannot be used (etcd ends as it starts; see "
                   "{log}): a new, empty lab is made", log=cluster_dir() / "logs" / "etcd.log"))
            return None
        if not ok:
            break
        # the controller-manager and the scheduler end when they cannot renew their
        # leader lease: after the API server or etcd was down, wait until they would have
        time.sleep(max(0.0, settle - time.monotonic()))
        if all(component_states().values()):
            return cluster
    still = [name for name, pid in component_states().items() if pid is None]
    raise KubelabError(tr("the sandbox did not come back: {why}",
                          why=tr("{components} keep stopping", components=", ".join(still))
                          if still else why), _keep_fix())


def _keep_fix() -> str:
    return tr("its logs are in {logs}; its data is kept: `kubelab down` removes the lab.",
              logs=cluster_dir() / "logs")


def _wait_ready(cluster: Cluster, seconds: float) -> tuple[bool, str]:
    deadline = time.monotonic() + seconds
    while True:
        ok, why = cluster.reachable(timeout=5)
        if ok or time.monotonic() > deadline:
            return ok, why
        if not component_states().get("etcd", 1):     # etcd gave up: no use waiting
            return ok, why
        time.sleep(1)


def clean_interrupted(log: Log) -> bool:
    """With no lab recorded: remove a sandbox that is still there (an older kubelab's
    interrupted `up`); True when there was one."""
    if not _exists() and not records.processes():
        return False
    ended = delete()
    log(tr("removed a sandbox no lab record named ({count} processes ended)", count=ended))
    return True


def available() -> tuple[bool, str]:
    return True, "needs no Docker and no root"


class Sandbox(Backend):
    name = "sandbox"
    auto_rank = 3
    summary = "a real control plane run by kwokctl on 127.0.0.1; nodes simulated by kwok"
    features = frozenset({"simulated-nodes", "cluster-admin"})
    default_nodes = 2                 # two kwok nodes

    def available(self) -> tuple[bool, str]:
        return available()

    def up(self, options: Options) -> Cluster:
        nodes = options.nodes
        return up(nodes=nodes, port=options.port, log=options.log, record=True)

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster)

    def clean_interrupted(self, log: Log) -> bool:
        return clean_interrupted(log)

    def stopped(self, cluster: Cluster) -> list[str]:
        """What of the recorded lab is not running: its components that are down, or its
        start, when that was interrupted."""
        state = starting_state(cluster)
        if state is not None:
            return [f"start {state[0]}"]
        return [name for name, pid in component_states().items() if pid is None]

    def revive(self, cluster: Cluster, options: Options) -> Cluster | None:
        """A recorded lab that does not answer, or has a component down: back on its own
        data, or None (after saying why) when a new lab is to be made."""
        return revive(cluster, options.log)

    def status_details(self, cluster: Cluster) -> dict[str, object]:
        """What `kubelab status` adds: each component's PID (None: down), and whether a
        start is in progress or was interrupted."""
        state = starting_state(cluster)
        return {"components": component_states(),
                "start": state[0] if state else "done",
                "starting_pid": state[1] if state else None}


register(Sandbox())
