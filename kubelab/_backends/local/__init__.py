"""local: the sandbox's control plane plus one to three real nodes on this Linux machine
(root).

containerd (with Debian's runc), CNI bridge networking, kubelet and kube-proxy run as
processes kubelab starts; CoreDNS, MetalLB and Traefik run in the cluster as on any other
backend. Every image is built here (images.py), so nothing is pulled. It is never chosen
automatically: it changes this machine's network (interfaces kubelab creates and removes),
so it is used only when named: `kubelab up --backend local`.

With `--nodes 2` or `3`, nodes 2 and 3 each get a network namespace of their own with
their own containerd, kubelet and kube-proxy, and join with a bootstrap token and a
certificate request the controller-manager approves (workers.py, join.py). That is a
multi-node local backend built from upstream programs, not K3s.

The package: this module starts and stops the node, one named step at a time; host.py is
what the node changes on the machine and how `down` puts it back; config.py writes the
node's configuration files; images.py builds its images; addons.py installs what runs in
the cluster (kubelab/_backends/addons, shared with kind and minikube); daemons.py starts
and stops the node's processes; state.py records what `up` did, so `down` can undo it;
workers.py and join.py add nodes 2 and 3.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from kubelab._backends import addons, sandbox
from kubelab._backends.base import Backend, Log, Options, register
from kubelab._backends.local import config, daemons, host, join, workers
from kubelab._backends.local.state import (
    load_state,
    logs_kept,
    node_dir,
    run_dir,
    sandbox_pki,
    save_state,
)
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._build import binaries, images
from kubelab._cluster.cluster import Cluster
from kubelab._system.paths import lab_kubeconfig


def available() -> tuple[bool, str]:
    if load_state().get("pids"):
        return True, tr("a local node is running (`kubelab down` stops it)")
    try:
        host.preflight()
    except KubelabError as e:
        return False, e.problem
    return True, tr("root on Linux")


# ------------------------------------------------------------------ up, step by step

def up(port: int | None = None, log: Log = print, nodes: int | None = None,
       **_: object) -> Cluster:
    """Check the machine, then start the nodes; if any step fails, undo every one before it
    (the state records each as it happens)."""
    count = workers.check_count(nodes)
    host.preflight()
    remove_earlier_node(log)
    progs = binaries.node_programs()
    state = record_machine()
    try:
        return start_node(state, progs, port, log, count)
    except BaseException:
        log(tr("the local node did not come up; cleaning up what was started"))
        tear_down(log)
        raise


def start_node(state: dict, progs: dict[str, Path], port: int | None, log: Log,
               count: int = 1) -> Cluster:
    """The steps of `up` after the checks, in the order each needs the one before."""
    start = time.monotonic()
    set_up_host(state, count)
    cluster, server = start_control_plane(state, port, log, count)
    make_node_dirs()
    env = node_env(progs)
    sock = start_containerd(state, progs, env, log)
    import_images(progs, [sock], log)
    write_node_configs(server)
    start_kubelet_and_proxy(state, progs, env, log)
    wait_until_ready(cluster, state, start, log)
    if count > 1:
        join_workers(cluster, state, progs, env, server, count, start, log)
    addons.install(cluster, log, lb_range=host.LB_RANGE)
    record_cluster(cluster, state)
    return cluster


def join_workers(cluster: Cluster, state: dict, progs: dict[str, Path], env: dict[str, str],
                 server: str, count: int, start: float, log: Log) -> None:
    """Nodes 2..count: their namespaces and containerd, the images, then their kubelets
    join with a bootstrap token; records when all were Ready."""
    team = [workers.Worker(k) for k in range(2, count + 1)]
    for worker in team:
        workers.set_up(state, worker)
        workers.start_containerd(state, worker, progs, env)
    log(tr("nodes {names}: network namespaces and containerd up",
           names=", ".join(w.name for w in team)))
    import_images(progs, [w.sock for w in team], log)
    token = join.create_token(cluster)
    workers.join_all(cluster, state, team, progs, env, server, token, log)
    workers.wait_ready(cluster, [w.name for w in team])
    state["nodes_ready_seconds"] = round(time.monotonic() - start, 1)
    log(tr("{count} nodes Ready ({seconds} s after start)", count=count,
           seconds=state["nodes_ready_seconds"]))
    save_state(state)


def remove_earlier_node(log: Log) -> None:
    """A node an earlier run left recorded (interrupted, never stopped) goes first: two
    would clash on the same interfaces and addresses."""
    if load_state():
        log(tr("a local node from an earlier run is still recorded; removing it first"))
        tear_down(log)


def record_machine() -> dict:
    """The machine before the node: what `down` compares with and restores."""
    state: dict = {
        "before": host.snapshot(), "sysctls": {}, "run_dir": str(run_dir()),
        "iptables": {b: host.iptables_rules(b) for b in ("iptables", "ip6tables")},
        "run_containerd": Path("/run/containerd").exists(),
        "run_netns": Path("/run/netns").exists()}
    save_state(state)
    return state


def set_up_host(state: dict, count: int = 1) -> None:
    """The node's interfaces, sysctls and firewall guard; the sysctls' old values are
    recorded for `down`."""
    host.set_up(state["sysctls"])
    if count > 1:
        host.allow_nodes()
    save_state(state)


def start_control_plane(state: dict, port: int | None, log: Log,
                        count: int = 1) -> tuple[Cluster, str]:
    """The sandbox's control plane without its fake nodes, and a forward from the node's
    address to its API server; returns the cluster and the API server's URL. With more
    than one node, what a join needs too (join.py)."""
    pki = sandbox_pki()
    joining = join.control_plane_args(pki) if count > 1 else ()
    # The control plane stays on 127.0.0.1 like the sandbox's; pods reach it through the
    # `kubernetes` Service, whose endpoint is the node's address, where socat forwards.
    cluster = sandbox.up(nodes=0, port=port, log=log, backend="local",
                         sans=("10.96.0.1", host.NODE_IP), extra=("--disable", "kwok-controller"),
                         component_args=(
        f"kube-apiserver=advertise-address={host.NODE_IP}",
        f"kube-apiserver=kubelet-client-certificate={pki / 'admin.crt'}",
        f"kube-apiserver=kubelet-client-key={pki / 'admin.key'}",
        # the node's name resolves nowhere (no DNS outside the cluster): use its address
        "kube-apiserver=kubelet-preferred-address-types=InternalIP,Hostname",
        "kube-controller-manager=allocate-node-cidrs=true",
        f"kube-controller-manager=cluster-cidr={host.CLUSTER_CIDR}",
        "kube-controller-manager=node-cidr-mask-size=24", *joining))
    server = json.loads(cluster.kubectl(["config", "view", "--minify", "-o", "json"]).stdout)[
        "clusters"][0]["cluster"]["server"]
    api_port = int(server.rsplit(":", 1)[1])
    daemons.start("apiserver-forward", ["socat", f"TCP-LISTEN:{api_port},bind={host.NODE_IP},"
                                        "fork,reuseaddr", f"TCP:127.0.0.1:{api_port}"], state)
    return cluster, server


def make_node_dirs() -> None:
    nd, rd = node_dir(), run_dir()
    for d in (nd / "etc" / "cni", nd / "pki", nd / "cni-ipam", nd / "pod-logs", rd):
        d.mkdir(parents=True, exist_ok=True)


def node_env(progs: dict[str, Path]) -> dict[str, str]:
    """The node's processes find containerd's shim and runc on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{progs['containerd'].parent}:{env.get('PATH', '/usr/sbin:/usr/bin')}"
    return env


def start_containerd(state: dict, progs: dict[str, Path], env: dict[str, str],
                     log: Log) -> Path:
    """containerd with its CNI configuration, once its socket answers; returns the socket."""
    nd, rd = node_dir(), run_dir()
    etc = nd / "etc"
    cni_bin = progs["bridge"].parent
    (etc / "cni" / "10-kubelab.conflist").write_text(config.cni_conflist(nd / "cni-ipam"))
    (etc / "containerd.toml").write_text(config.containerd_toml(
        nd / "containerd", rd, cni_bin, etc / "cni", shutil.which("runc") or "runc"))
    sock = rd / "containerd.sock"
    log(tr("starting containerd {version} (runc from Debian)", version=versions.CONTAINERD))
    daemons.start("containerd", [str(progs["containerd"]), "--config",
                                 str(etc / "containerd.toml")], state, env)
    daemons.wait_for(tr("containerd's socket"), sock.exists, 30, "containerd",
                     state["pids"]["containerd"])
    return sock


def import_images(progs: dict[str, Path], socks: list[Path], log: Log) -> None:
    """Every image the chapters and add-ons use, built here, into each node's containerd:
    nothing is pulled."""
    t = time.monotonic()
    built = images.workbook_images(progs)
    for image in built:
        archive = images.oci_archive(image)
        for sock in socks:
            images.import_image(progs["ctr"], str(sock), archive, image.name)
    log(tr("built and imported {count} images in {seconds:.1f} s{into}", count=len(built),
           seconds=time.monotonic() - t,
           into=tr(" (into {count} nodes)", count=len(socks)) if len(socks) > 1 else ""))


def write_node_configs(server: str) -> None:
    """kubelet's and kube-proxy's configuration, with client certificates signed by the
    sandbox's CA, so the API server knows them as the node and as kube-proxy."""
    nd, rd = node_dir(), run_dir()
    etc, pki = nd / "etc", sandbox_pki()
    ca = pki / "ca.crt"
    crt, key = config.client_cert(pki, nd / "pki", f"system:node:{config.NODE_NAME}",
                                  "system:nodes")
    (etc / "kubelet.kubeconfig").write_text(config.kubeconfig(server, ca, crt, key, "kubelet"))
    crt, key = config.client_cert(pki, nd / "pki", "system:kube-proxy", "system:node-proxier")
    (etc / "kube-proxy.kubeconfig").write_text(config.kubeconfig(server, ca, crt, key,
                                                                 "kube-proxy"))
    (etc / "resolv.conf").write_text(config.resolv_conf())
    (etc / "kubelet.yaml").write_text(config.kubelet_yaml(rd, ca, nd / "pod-logs",
                                                          etc / "resolv.conf"))
    (etc / "kube-proxy.yaml").write_text(config.kube_proxy_yaml(etc / "kube-proxy.kubeconfig"))


def start_kubelet_and_proxy(state: dict, progs: dict[str, Path], env: dict[str, str],
                            log: Log) -> None:
    nd, etc = node_dir(), node_dir() / "etc"
    log(tr("starting kubelet and kube-proxy {version}", version=versions.KUBERNETES))
    daemons.start("kubelet", [str(progs["kubelet"]), "--config", str(etc / "kubelet.yaml"),
                              "--kubeconfig", str(etc / "kubelet.kubeconfig"),
                              "--root-dir", str(nd / "kubelet"), "--cert-dir", str(nd / "pki"),
                              "--hostname-override", config.NODE_NAME,
                              "--node-ip", host.NODE_IP,
                              "--node-labels", "kubelab.dev/node=local",
                              "--v", "1"], state, env)
    daemons.start("kube-proxy", [str(progs["kube-proxy"]), "--config",
                                 str(etc / "kube-proxy.yaml"), "--v", "1"], state, env)


def wait_until_ready(cluster: Cluster, state: dict, start: float, log: Log) -> None:
    """The node registered and Ready; records how long that took (for bench and tests)."""
    wait_registered(cluster, state["pids"]["kubelet"])
    cluster.kubectl(["wait", "--for=condition=Ready", f"node/{config.NODE_NAME}",
                     "--timeout=90s"], timeout=100)
    state["node_ready_seconds"] = round(time.monotonic() - start, 1)
    log(tr("node {node} is Ready ({seconds} s after start)", node=config.NODE_NAME,
           seconds=state["node_ready_seconds"]))
    save_state(state)


def wait_registered(cluster: Cluster, kubelet: int, seconds: float = 60) -> None:
    """Until the kubelet's Node object exists; at once, with its log, if the kubelet exits."""
    def registered() -> bool:
        return cluster.kubectl(["get", "node", config.NODE_NAME], check=False).returncode == 0
    daemons.wait_for(tr("node {node} registering with the API server",
                        node=config.NODE_NAME), registered, seconds, "kubelet", kubelet)


def record_cluster(cluster: Cluster, state: dict | None = None) -> None:
    """The node's name, address and run directory in the lab's record (tests read them);
    with more nodes, their names too."""
    cluster.details.update({"node": config.NODE_NAME, "node_ip": host.NODE_IP,
                            "run_dir": str(run_dir())})
    indexes = (state or {}).get("workers") or []
    if indexes:
        cluster.details.update({"nodes": 1 + len(indexes), "node_names": [
            config.NODE_NAME, *(workers.Worker(k).name for k in indexes)]})
    else:
        # one node: the join a chapter looks for (02) is not there to see
        cluster.details["missing_features"] = ["node-join"]
    cluster.save()


# ------------------------------------------------------------------ down, step by step

def tear_down(log: Log = print) -> None:
    """Undo whatever the state records, in the reverse order of `up`; safe to repeat and
    safe after an `up` that stopped halfway."""
    state = load_state()
    rd = Path(state.get("run_dir") or run_dir())
    for index in state.get("workers", []):
        workers.stop(state, workers.Worker(index))
    stop_node_processes(state, rd / "containerd.sock")
    sandbox.delete()
    restore_host(state, rd)
    keep_logs()
    log(tr("stopped the local node and removed its interfaces, rules and mounts"))


def stop_node_processes(state: dict, sock: Path) -> None:
    """Node 1's daemons, kube-proxy's rules, and the API server's forward last."""
    daemons.stop_node(state, sock)
    try:
        proxy = binaries.node_group("kubernetes-node", build=False) / "kube-proxy"
        subprocess.run([str(proxy), "--cleanup"], capture_output=True, timeout=60)
    except (KubelabError, subprocess.TimeoutExpired):
        pass
    daemons.stop(daemons.recorded(state, "apiserver-forward"), 5, group=True)


def restore_host(state: dict, rd: Path) -> None:
    """Firewall chains, mounts, cgroups, interfaces and sysctls as they were before `up`,
    and the run directories the node made."""
    host.remove_chains(state.get("iptables", {}))
    host.unmount_under(str(node_dir()) + "/", str(rd) + "/")
    host.remove_cgroups()
    host.remove_node_netns(state.get("netns", []))
    host.tear_down(state.get("sysctls", {}), state.get("before", {}).get("netns", []))
    shutil.rmtree(rd, ignore_errors=True)
    if state and not state.get("run_containerd", True):
        # containerd 2 keeps its shims' sockets in /run/containerd/s whatever its config
        shutil.rmtree("/run/containerd", ignore_errors=True)
    if state and not state.get("run_netns", True):
        try:
            Path("/run/netns").rmdir()      # made by the runtime for pods; empty by now
        except OSError:
            pass


def keep_logs() -> None:
    """The last node's logs outlive it, to read; the rest of its directory goes (unless
    something is still mounted under it)."""
    kept = logs_kept()
    shutil.rmtree(kept, ignore_errors=True)
    if (node_dir() / "logs").is_dir():
        shutil.move(str(node_dir() / "logs"), kept)
    if not host.mounts(str(node_dir()) + "/"):
        shutil.rmtree(node_dir(), ignore_errors=True)


def down(cluster: Cluster | None) -> None:
    tear_down()
    lab_kubeconfig().unlink(missing_ok=True)


def node_kubelet(name: str, start: bool) -> int:
    """Stop or start the kubelet of node 2 or 3 (chapter 02's node going down); returns
    its PID (the stopped one's, or the new one's)."""
    state = load_state()
    indexes = {workers.Worker(k).name: k for k in state.get("workers", [])}
    if name not in indexes:
        raise KubelabError(tr("{name} is not a node kubelab can stop here (nodes 2 and 3 of "
                              "the local backend: {running}).", name=name,
                              running=", ".join(indexes) or tr("none running")),
                           tr("start the lab with `kubelab up --backend local --nodes 3`."))
    key = workers.Worker(indexes[name]).pid_name("kubelet")
    if start:
        workers.start_kubelet_again(state, indexes[name])
    else:
        workers.stop_kubelet(state, indexes[name])
    save_state(state)
    return int(state["pids"][key])


def node_state() -> dict:
    """What `up` recorded (PIDs, the machine before, Ready time): for tests and bench."""
    return load_state()


class Local(Backend):
    name = "local"
    summary = ("the sandbox's control plane plus 1 to 3 real nodes on this machine (Linux, "
               "root)")
    # node-join: with --nodes 2 or 3 (one node records it missing, record_cluster)
    features = frozenset({"containers", "cluster-admin", "host-network", "node-join"})
    fix = N_("see docs/local-node.md (Linux, root; optional)")
    default_nodes = 1
    max_nodes = host.MAX_NODES

    def available(self) -> tuple[bool, str]:
        return available()

    def up(self, options: Options) -> Cluster:
        return up(port=options.port, log=options.log, nodes=options.nodes)

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster)

    def clean_interrupted(self, log: Log) -> bool:
        if not node_state():
            return False
        down(None)
        log(tr("removed what an interrupted local node had left"))
        return True

    # chapter 02's node going down: its kubelet stops, as `systemctl stop kubelet` would
    def node_stop(self, cluster: Cluster, node: str, log: Log) -> None:
        pid = node_kubelet(node, start=False)
        log(tr("(kubelab stopped the kubelet process of {node}, PID {pid}; its containers "
               "and kube-proxy go on)", node=node, pid=pid))

    def node_start(self, cluster: Cluster, node: str, log: Log) -> None:
        pid = node_kubelet(node, start=True)
        log(tr("(kubelab started the kubelet process of {node} again: PID {pid})",
               node=node, pid=pid))


register(Local())
