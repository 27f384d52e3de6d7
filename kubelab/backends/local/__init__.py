"""local: the sandbox's control plane plus one real node on this Linux machine (root).

containerd (with Debian's runc), CNI bridge networking, kubelet and kube-proxy run as
processes kubelab starts; CoreDNS, MetalLB and Traefik run in the cluster as on any other
backend. Every image is built here (images.py), so nothing is pulled. It is never chosen
automatically: it changes this machine's network (interfaces kubelab creates and removes),
so it is used only when named: `kubelab up --backend local`.

The package: this module starts and stops the node, one named step at a time; host.py is
what the node changes on the machine and how `down` puts it back; config.py writes the
node's configuration files; images.py builds its images; addons.py installs what runs in
the cluster (manifests in addons/); daemons.py starts and stops the node's processes;
state.py records what `up` did, so `down` can undo it. The kind and minikube backends
reuse images.py and addons.py.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from ... import binaries, procs, versions
from ...cluster import Cluster
from ...errors import KubelabError
from ...paths import lab_kubeconfig
from .. import sandbox
from ..base import Backend, Log, register
from . import addons, config, daemons, host, images
from .state import load_state, logs_kept, node_dir, run_dir, save_state


def available() -> tuple[bool, str]:
    if load_state().get("pids"):
        return True, "a local node is running (`kubelab down` stops it)"
    try:
        host.preflight()
    except KubelabError as e:
        return False, e.problem
    return True, "root on Linux"


# ------------------------------------------------------------------ up, step by step

def up(port: int | None = None, log: Log = print, **_: object) -> Cluster:
    """Check the machine, then start the node; if any step fails, undo every one before it
    (the state records each as it happens)."""
    host.preflight()
    remove_earlier_node(log)
    progs = binaries.node_programs()
    state = record_machine()
    try:
        return start_node(state, progs, port, log)
    except BaseException:
        log("the local node did not come up; cleaning up what was started")
        tear_down(log)
        raise


def start_node(state: dict, progs: dict[str, Path], port: int | None, log: Log) -> Cluster:
    """The steps of `up` after the checks, in the order each needs the one before."""
    start = time.monotonic()
    set_up_host(state)
    cluster, server = start_control_plane(state, port, log)
    make_node_dirs()
    env = node_env(progs)
    sock = start_containerd(state, progs, env, log)
    import_images(progs, sock, log)
    write_node_configs(server)
    start_kubelet_and_proxy(state, progs, env, log)
    wait_until_ready(cluster, state, start, log)
    addons.install(cluster, log)
    record_cluster(cluster)
    return cluster


def remove_earlier_node(log: Log) -> None:
    """A node an earlier run left recorded (interrupted, never stopped) goes first: two
    would clash on the same interfaces and addresses."""
    if load_state():
        log("a local node from an earlier run is still recorded; removing it first")
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


def set_up_host(state: dict) -> None:
    """The node's interfaces, sysctls and firewall guard; the sysctls' old values are
    recorded for `down`."""
    host.set_up(state["sysctls"])
    save_state(state)


def _sandbox_pki() -> Path:
    return sandbox.workdir() / "clusters" / sandbox.NAME / "pki"


def start_control_plane(state: dict, port: int | None, log: Log) -> tuple[Cluster, str]:
    """The sandbox's control plane without its fake nodes, and a forward from the node's
    address to its API server; returns the cluster and the API server's URL."""
    pki = _sandbox_pki()
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
        "kube-controller-manager=node-cidr-mask-size=24"))
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
    log(f"starting containerd {versions.CONTAINERD} (runc from Debian)")
    daemons.start("containerd", [str(progs["containerd"]), "--config",
                                 str(etc / "containerd.toml")], state, env)
    daemons.wait_for("containerd's socket", sock.exists, 30, "containerd",
                     state["pids"]["containerd"])
    return sock


def import_images(progs: dict[str, Path], sock: Path, log: Log) -> None:
    """Every image the chapters and add-ons use, built here, into containerd: nothing is
    pulled."""
    t = time.monotonic()
    built = images.workbook_images(progs)
    for image in built:
        images.import_image(progs["ctr"], str(sock), images.oci_archive(image), image.name)
    log(f"built and imported {len(built)} images in {time.monotonic() - t:.1f} s")


def write_node_configs(server: str) -> None:
    """kubelet's and kube-proxy's configuration, with client certificates signed by the
    sandbox's CA, so the API server knows them as the node and as kube-proxy."""
    nd, rd = node_dir(), run_dir()
    etc, pki = nd / "etc", _sandbox_pki()
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
    log(f"starting kubelet and kube-proxy {versions.KUBERNETES}")
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
    log(f"node {config.NODE_NAME} is Ready ({state['node_ready_seconds']} s after start)")
    save_state(state)


def wait_registered(cluster: Cluster, kubelet: int, seconds: float = 60) -> None:
    """Until the kubelet's Node object exists; at once, with its log, if the kubelet exits."""
    def registered() -> bool:
        return cluster.kubectl(["get", "node", config.NODE_NAME], check=False).returncode == 0
    daemons.wait_for(f"node {config.NODE_NAME} registering with the API server", registered,
                     seconds, "kubelet", kubelet)


def record_cluster(cluster: Cluster) -> None:
    """The node's name, address and run directory in the lab's record (tests read them)."""
    cluster.details.update({"node": config.NODE_NAME, "node_ip": host.NODE_IP,
                            "run_dir": str(run_dir())})
    cluster.save()


# ------------------------------------------------------------------ down, step by step

def tear_down(log: Log = print) -> None:
    """Undo whatever the state records, in the reverse order of `up`; safe to repeat and
    safe after an `up` that stopped halfway."""
    state = load_state()
    rd = Path(state.get("run_dir") or run_dir())
    stop_node_processes(state, rd / "containerd.sock")
    sandbox.delete()
    restore_host(state, rd)
    keep_logs()
    log("stopped the local node and removed its interfaces, rules and mounts")


def stop_node_processes(state: dict, sock: Path) -> None:
    """kubelet first (so it restarts nothing), the pods through the CRI, kube-proxy and
    its rules, containerd and its shims, and the API server's forward last."""
    pids = state.get("pids", {})
    daemons.stop(pids.get("kubelet"))
    if sock.exists() and procs.alive(pids.get("containerd") or 0):
        remove_pods(sock)
    daemons.stop(pids.get("kube-proxy"))
    try:
        proxy = binaries.node_group("kubernetes-node", build=False) / "kube-proxy"
        subprocess.run([str(proxy), "--cleanup"], capture_output=True, timeout=60)
    except (KubelabError, subprocess.TimeoutExpired):
        pass
    daemons.stop(pids.get("containerd"))
    for pid in daemons.shim_pids(str(sock)):
        daemons.stop(pid, 5)
    daemons.stop(pids.get("apiserver-forward"), 5, group=True)


def remove_pods(sock: Path) -> None:
    """Stop and remove every pod through the CRI, so CNI releases its addresses, rules and
    network namespaces."""
    try:
        crictl = binaries.node_group("cri-tools", build=False) / "crictl"
        subprocess.run([str(crictl), "--runtime-endpoint", f"unix://{sock}", "--timeout",
                        "60s", "rmp", "--all", "--force"], capture_output=True,
                       timeout=120)
    except (KubelabError, subprocess.TimeoutExpired):
        pass


def restore_host(state: dict, rd: Path) -> None:
    """Firewall chains, mounts, cgroups, interfaces and sysctls as they were before `up`,
    and the run directories the node made."""
    host.remove_chains(state.get("iptables", {}))
    host.unmount_under(str(node_dir()) + "/", str(rd) + "/")
    host.remove_cgroups()
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


def node_state() -> dict:
    """What `up` recorded (PIDs, the machine before, Ready time): for tests and bench."""
    return load_state()


register(Backend(
    name="local",
    summary="the sandbox's control plane plus one real node on this machine (Linux, root)",
    features=frozenset({"containers", "cluster-admin", "host-network"}),
    available=lambda: available(), fix="see docs/local-node.md (Linux, root; optional)",
    up=lambda o: up(port=o.port, log=o.log),
    down=lambda cluster, log: down(cluster)))
