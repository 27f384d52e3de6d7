"""Nodes 2 and 3 of the local backend (`kubelab up --backend local --nodes 3`).

Each is a node of its own on this machine: a network namespace cabled to the kubelab-node
bridge (host.py), and in it its own containerd, kubelet and kube-proxy, with their own
directories, sockets, CNI configuration and cgroup root. Its kubelet joins with the
bootstrap token (join.py): nothing signs a certificate for it beforehand. This is not K3s:
it is the mechanism a K3s agent's K3S_TOKEN stands for, with the upstream programs.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kubelab._backends.base import Log
from kubelab._backends.local import config, daemons, host
from kubelab._backends.local.state import node_dir, run_dir, sandbox_pki, save_state
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._system import procs


@dataclass(frozen=True)
class Worker:
    index: int                                   # 2 or 3

    @property
    def name(self) -> str:
        return f"{host.NODE_PREFIX}{self.index}"     # node, namespace and cgroup root

    @property
    def ip(self) -> str:
        return host.node_ip(self.index)

    @property
    def dir(self) -> Path:
        return node_dir() / f"node-{self.index}"

    @property
    def run(self) -> Path:
        return run_dir() / f"node-{self.index}"

    @property
    def sock(self) -> Path:
        return self.run / "containerd.sock"

    def pid_name(self, program: str) -> str:
        return f"{program}-{self.index}"


def check_count(nodes: int | None) -> int:
    """1 unless asked; more than MAX_NODES is refused with the fix."""
    count = 1 if nodes is None else nodes
    if not 1 <= count <= host.MAX_NODES:
        raise KubelabError(tr("the local backend runs 1 to {most} nodes, not {count}.",
                              most=host.MAX_NODES, count=count),
                           tr("use --nodes 1, 2 or {most} (each extra node is a network "
                              "namespace with its own containerd, kubelet and kube-proxy; "
                              "about 210 MB each).", most=host.MAX_NODES))
    return count


def set_up(state: dict, worker: Worker) -> None:
    """The node's namespace, cgroup root and directories; each recorded before it is made,
    so `down` removes it even if the next line fails."""
    state.setdefault("netns", []).append(worker.name)
    state.setdefault("workers", []).append(worker.index)
    save_state(state)
    host.add_node_netns(worker.index)
    host.make_cgroup_root(worker.name)
    for d in (worker.dir / "etc" / "cni", worker.dir / "pki", worker.dir / "cni-ipam",
              worker.dir / "pod-logs", worker.run):
        d.mkdir(parents=True, exist_ok=True)


def start_containerd(state: dict, worker: Worker, progs: dict[str, Path],
                     env: dict[str, str]) -> None:
    """Its containerd, in its namespace. The CNI configuration comes once the node has its
    pod range (containerd watches the directory)."""
    etc = worker.dir / "etc"
    (etc / "containerd.toml").write_text(config.containerd_toml(
        worker.dir / "containerd", worker.run, progs["bridge"].parent, etc / "cni",
        shutil.which("runc") or "runc"))
    pid = daemons.start(worker.pid_name("containerd"),
                        [*host.in_netns(worker.name), str(progs["containerd"]), "--config",
                         str(etc / "containerd.toml")], state, env)
    daemons.wait_for(tr("containerd of {node}", node=worker.name), worker.sock.exists, 30,
                     worker.pid_name("containerd"), pid)


def server_url(server: str) -> str:
    """The API server as a node in its own namespace reaches it: at node 1's address
    (where socat forwards), not at this machine's loopback."""
    return f"https://{host.NODE_IP}:{server.rsplit(':', 1)[1]}"


def start_kubelet(state: dict, worker: Worker, progs: dict[str, Path], env: dict[str, str],
                  server: str, token: str) -> None:
    """Its kubelet, with the bootstrap token only: it asks for its own certificate
    (TLS bootstrapping) and writes etc/kubelet.kubeconfig once the CSR is signed."""
    etc, ca = worker.dir / "etc", config_ca()
    server = server_url(server)
    (etc / "bootstrap.kubeconfig").write_text(config.kubeconfig(
        server, ca, None, None, "kubelet-bootstrap", token=token))
    (etc / "resolv.conf").write_text(config.resolv_conf())
    (etc / "kubelet.yaml").write_text(config.kubelet_yaml(
        worker.run, ca, worker.dir / "pod-logs", etc / "resolv.conf", address=worker.ip,
        cgroup_root=f"/{worker.name}"))
    argv = [*host.in_netns(worker.name), str(progs["kubelet"]),
            "--config", str(etc / "kubelet.yaml"),
            "--bootstrap-kubeconfig", str(etc / "bootstrap.kubeconfig"),
            "--kubeconfig", str(etc / "kubelet.kubeconfig"),
            "--root-dir", str(worker.dir / "kubelet"), "--cert-dir", str(worker.dir / "pki"),
            "--hostname-override", worker.name, "--node-ip", worker.ip,
            "--node-labels", "kubelab.dev/node=local", "--v", "1"]
    state.setdefault("argv", {})[worker.pid_name("kubelet")] = argv
    state.setdefault("env_path", env["PATH"])
    daemons.start(worker.pid_name("kubelet"), argv, state, env)


def config_ca() -> Path:
    return sandbox_pki() / "ca.crt"


def pod_range(cluster: Cluster, state: dict, worker: Worker, seconds: float = 60) -> str:
    """The pod range the controller-manager gave the node once it registered (after its
    CSR was approved and signed)."""
    found: list[str] = []

    def allocated() -> bool:
        proc = cluster.kubectl(["get", "node", worker.name, "-o", "json"], check=False)
        if proc.returncode == 0:
            cidr = json.loads(proc.stdout)["spec"].get("podCIDR")
            if cidr:
                found.append(cidr)
                return True
        return False
    daemons.wait_for(tr("node {node} joining (bootstrap token, CSR, registration)",
                        node=worker.name),
                     allocated, seconds, worker.pid_name("kubelet"),
                     state["pids"][worker.pid_name("kubelet")])
    return found[0]


def finish(state: dict, worker: Worker, subnet: str, progs: dict[str, Path],
           env: dict[str, str], server: str) -> None:
    """With its pod range known: the CNI configuration and the node's kube-proxy.
    containerd watches the directory and reloads on a write (it ignores a file renamed
    into it: a Create event), so the file is written in place, in one write."""
    etc = worker.dir / "etc"
    gateway = subnet.rsplit(".", 1)[0] + ".1"
    (etc / "cni" / "10-kubelab.conflist").write_text(config.cni_conflist(
        worker.dir / "cni-ipam", subnet, gateway, masquerade=False))
    # kube-proxy's identity is the same on every node (kubeadm's uses one ServiceAccount)
    pki = node_dir() / "pki"
    (etc / "kube-proxy.kubeconfig").write_text(config.kubeconfig(
        server_url(server), config_ca(), pki / "system-kube-proxy.crt",
        pki / "system-kube-proxy.key", "kube-proxy"))
    proxy_conf = etc / "kube-proxy.yaml"
    proxy_conf.write_text(config.kube_proxy_yaml(etc / "kube-proxy.kubeconfig",
                                                 name=worker.name, address=worker.ip))
    daemons.start(worker.pid_name("kube-proxy"),
                  [*host.in_netns(worker.name), str(progs["kube-proxy"]), "--config",
                   str(proxy_conf), "--v", "1"], state, env)


def join_all(cluster: Cluster, state: dict, workers: list[Worker], progs: dict[str, Path],
             env: dict[str, str], server: str, token: str, log: Log) -> None:
    """Kubelets start together; each node's network is finished as it registers."""
    subnets = {1: host.POD_CIDR}
    for worker in workers:
        start_kubelet(state, worker, progs, env, server, token)
    for worker in workers:
        subnets[worker.index] = pod_range(cluster, state, worker)
        finish(state, worker, subnets[worker.index], progs, env, server)
    host.route_pods(subnets)
    state["pod_ranges"] = {str(k): v for k, v in subnets.items()}
    save_state(state)
    log(tr("nodes {names} joined with a bootstrap token (kubelet {kubernetes}, containerd "
           "{containerd})", names=", ".join(w.name for w in workers),
           kubernetes=versions.KUBERNETES, containerd=versions.CONTAINERD))


def stop(state: dict, worker: Worker) -> None:
    """kubelet, the pods, kube-proxy and containerd of one node (its namespace goes later,
    with its iptables rules)."""
    daemons.stop_node(state, worker.sock, worker.pid_name)


def stop_kubelet(state: dict, index: int) -> None:
    """The node's kubelet only: its containers and kube-proxy go on, as on a machine where
    `systemctl stop kubelet` ran."""
    daemons.stop(daemons.recorded(state, Worker(index).pid_name("kubelet")))


def start_kubelet_again(state: dict, index: int) -> None:
    """The kubelet as `up` started it; it has its certificate now, so no token is used."""
    name = Worker(index).pid_name("kubelet")
    if procs_alive(state, name):
        return
    env = {**os.environ, "PATH": state.get("env_path") or os.environ.get("PATH", "")}
    daemons.start(name, state["argv"][name], state, env)


def procs_alive(state: dict, name: str) -> bool:
    return daemons.recorded(state, name) is not None


def wait_ready(cluster: Cluster, names: list[str], seconds: int = 120) -> None:
    cluster.kubectl(["wait", "--for=condition=Ready", *(f"node/{n}" for n in names),
                     f"--timeout={seconds}s"], timeout=seconds + 10)


def rss_mb(state: dict, index: int) -> float:
    """Resident memory of one node's processes (containerd, kubelet, kube-proxy, shims)."""
    worker = Worker(index)
    found = [daemons.recorded(state, worker.pid_name(p))
             for p in ("containerd", "kubelet", "kube-proxy")]
    found += daemons.shims(str(worker.sock))
    return round(procs.rss_mb([p.pid for p in found if p]), 1)

