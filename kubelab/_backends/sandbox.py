"""The sandbox: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) run by kwokctl as plain processes on 127.0.0.1, with kwok playing the
kubelet of a few simulated nodes. No root, no Docker: it runs in CI and on Binder.

What it cannot do: run containers. Pods become Running and Ready and get IPs, but no
process runs inside them, so logs, exec and traffic through Services need another backend.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil

from kubelab._backends.base import Backend, Log, Options, register
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._build import binaries
from kubelab._cluster.cluster import Cluster
from kubelab._system import procs
from kubelab._system.net import port_free
from kubelab._system.paths import lab_kubeconfig, state_dir

NAME = "kubelab"
CONTEXT = f"kwok-{NAME}"
SERVICE_CIDR = "10.96.0.0/16"     # distinct from the pod range, as on kind and minikube
POD_CIDR_PREFIX = "10.244"        # node N gets 10.244.N.0/24
NODE_IP_PREFIX = "192.0.2"        # TEST-NET-1: documentation addresses, never routed


def workdir() -> Path:
    return state_dir() / "kwok"


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
    path = state_dir() / "kwokctl.yaml"
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


def up(nodes: int, port: int | None = None, log=print,  # noqa: ANN001
       bind: str = "127.0.0.1", sans: tuple[str, ...] = (), extra: tuple[str, ...] = (),
       component_args: tuple[str, ...] = (), backend: str = "sandbox") -> Cluster:
    """The control plane; the local backend passes its node address, SANs and flags."""
    if port and not port_free(port, bind):
        raise KubelabError(f"port {port} on 127.0.0.1 is already in use.",
                           "pick another with `kubelab up --port N`, or leave --port out "
                           "to let kubelab choose a free one.")
    bins = binaries.find_all()
    kubeconfig = lab_kubeconfig()
    if _exists():
        log("a sandbox from an earlier run is still recorded; removing it first")
        delete()
    log(f"starting the sandbox control plane ({binaries.COMPONENTS['kube-apiserver'].version})")
    proc = subprocess.run(create_argv(bins, kubeconfig, port, bind, sans, extra,
                                      component_args),
                          env=kwokctl_env(),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        delete()
        raise KubelabError("kwokctl could not create the sandbox:\n"
                           + "\n".join(proc.stderr.strip().splitlines()[-12:]),
                           "run `kubelab doctor`; if a port is taken, pass `--port`.")
    kubeconfig.chmod(0o600)
    cluster = Cluster(backend=backend, kubeconfig=str(kubeconfig), context=CONTEXT,
                      created_by_kubelab=True, name=NAME,
                      details={"workdir": str(workdir()), "nodes": nodes})
    try:
        add_nodes(cluster, nodes)
    except KubelabError:
        delete()
        raise
    cluster.save()
    return cluster


def _exists() -> bool:
    return (workdir() / "clusters" / NAME).exists()


def _recorded() -> list[tuple[int, float]]:
    """(PID, when its file was written) from the pid files kwokctl wrote for the sandbox."""
    out = []
    for f in sorted((workdir() / "clusters" / NAME / "pids").glob("*.pid")):
        try:
            out.append((int(f.read_text().strip()), f.stat().st_mtime))
        except (OSError, ValueError):
            pass
    return out


def pids() -> list[int]:
    """The processes kwokctl started for the sandbox."""
    return [pid for pid, _ in _recorded()]


def _ours() -> list[psutil.Process]:
    """The recorded processes that are still the ones kwokctl started: created before it
    wrote their pid file, and run with this sandbox's directory on their command line. A
    PID reused since (by an editor open on a kubelab file, say) matches neither."""
    found = []
    for pid, written in _recorded():
        proc = procs.process(pid)
        try:
            if proc and proc.create_time() <= written + 1 and \
                    any(str(workdir()) in arg for arg in proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def delete() -> None:
    started = _ours()
    try:
        bins = {"kwokctl": binaries.find("kwokctl")}
        subprocess.run([str(bins["kwokctl"]), "delete", "cluster", "--name", NAME],
                       env=kwokctl_env(), capture_output=True, text=True, timeout=120)
    except (KubelabError, subprocess.TimeoutExpired):
        pass
    # kwokctl stops its processes; make sure, ending only the ones it started for us.
    for proc in procs.wait_gone(started, 10):
        try:
            proc.kill()
        except psutil.Error:
            pass
    import shutil
    shutil.rmtree(workdir() / "clusters" / NAME, ignore_errors=True)


def down(cluster: Cluster) -> None:
    delete()
    lab_kubeconfig().unlink(missing_ok=True)


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
        nodes = self.default_nodes if options.nodes is None else options.nodes
        return up(nodes=nodes, port=options.port, log=options.log)

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster)


register(Sandbox())
