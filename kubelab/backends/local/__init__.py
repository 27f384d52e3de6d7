"""local: the sandbox's control plane plus one real node on this Linux machine (root).

containerd (with Debian's runc), CNI bridge networking, kubelet and kube-proxy run as
processes kubelab starts; CoreDNS, MetalLB and Traefik run in the cluster as on any other
backend. Every image is built here (images.py), so nothing is pulled. It is never chosen
automatically: it changes this machine's network (interfaces kubelab creates and removes),
so it is used only when named: `kubelab up --backend local`.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ... import binaries, procs, versions
from ...cluster import Cluster
from ...errors import KubelabError
from ...paths import lab_kubeconfig, state_dir
from .. import sandbox
from ..base import Backend, register
from . import addons, config, host, images

def available() -> tuple[bool, str]:
    if _load_state().get("pids"):
        return True, "a local node is running (`kubelab down` stops it)"
    try:
        host.preflight()
    except KubelabError as e:
        return False, e.problem
    return True, "root on Linux"


def node_dir() -> Path:
    return state_dir() / "node"


def run_dir() -> Path:
    """Short (sockets are limited to 108 bytes) and unique to this lab's state directory."""
    tag = hashlib.sha256(str(state_dir().resolve()).encode()).hexdigest()[:8]
    return Path("/run") / f"kubelab-{tag}"


def _state_file() -> Path:
    return node_dir() / "state.json"


def _load_state() -> dict:
    try:
        return json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}


def _save_state(state: dict) -> None:
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(state, indent=2))


def _daemon(name: str, argv: list[str], state: dict, env: dict[str, str] | None = None) -> int:
    """Start a long-lived node process in its own session, logging to node/logs/NAME.log."""
    logs = node_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=env or dict(os.environ))
    state.setdefault("pids", {})[name] = proc.pid
    _save_state(state)
    return proc.pid


def _wait(what: str, ok, seconds: float, log_name: str | None = None,  # noqa: ANN001
          pid: int | None = None) -> None:
    """Wait for ok(); give up early, with the log's tail, if the process `pid` ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ok():
            return
        if pid and not procs.alive(pid):
            seconds = 0
            break
        time.sleep(0.3)
    tail = ""
    if log_name:
        log = node_dir() / "logs" / f"{log_name}.log"
        if log.exists():
            tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-8:])
    raise KubelabError(f"{what} did not happen" + (f" within {seconds:.0f} s" if seconds
                                                   else f": {log_name} exited") + f".{tail}",
                       f"read the node's logs in {state_dir() / 'node-logs'} (kept after "
                       "the node is removed).")


def up(port: int | None = None, log=print, **_: object) -> Cluster:  # noqa: ANN001
    host.preflight()
    if _load_state():
        log("a local node from an earlier run is still recorded; removing it first")
        _tear_down(log)
    progs = binaries.node_programs()
    state: dict = {
        "before": host.snapshot(), "sysctls": {}, "run_dir": str(run_dir()),
        "iptables": {b: host.iptables_rules(b) for b in ("iptables", "ip6tables")},
        "run_containerd": Path("/run/containerd").exists(),
        "run_netns": Path("/run/netns").exists()}
    _save_state(state)
    try:
        return _up(state, progs, port, log)
    except BaseException:
        log("the local node did not come up; cleaning up what was started")
        _tear_down(log)
        raise


def _up(state: dict, progs: dict[str, Path], port: int | None, log) -> Cluster:  # noqa: ANN001
    start = time.monotonic()
    host.set_up(state["sysctls"])
    _save_state(state)
    pki = sandbox.workdir() / "clusters" / sandbox.NAME / "pki"
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
    _daemon("apiserver-forward", ["socat", f"TCP-LISTEN:{api_port},bind={host.NODE_IP},fork,"
                                  "reuseaddr", f"TCP:127.0.0.1:{api_port}"], state)

    nd, rd = node_dir(), run_dir()
    for d in (nd / "etc" / "cni", nd / "pki", nd / "cni-ipam", nd / "pod-logs", rd):
        d.mkdir(parents=True, exist_ok=True)
    etc = nd / "etc"
    cni_bin = progs["bridge"].parent
    (etc / "cni" / "10-kubelab.conflist").write_text(config.cni_conflist(nd / "cni-ipam"))
    (etc / "containerd.toml").write_text(config.containerd_toml(
        nd / "containerd", rd, cni_bin, etc / "cni", shutil.which("runc") or "runc"))
    env = dict(os.environ)
    env["PATH"] = f"{progs['containerd'].parent}:{env.get('PATH', '/usr/sbin:/usr/bin')}"
    sock = rd / "containerd.sock"
    log(f"starting containerd {versions.CONTAINERD} (runc from Debian)")
    _daemon("containerd", [str(progs["containerd"]), "--config", str(etc / "containerd.toml")],
            state, env)
    _wait("containerd's socket", sock.exists, 30, "containerd", state["pids"]["containerd"])

    t = time.monotonic()
    built = images.workbook_images(progs)
    for image in built:
        images.import_image(progs["ctr"], str(sock), images.oci_archive(image), image.name)
    log(f"built and imported {len(built)} images in {time.monotonic() - t:.1f} s")

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

    log(f"starting kubelet and kube-proxy {versions.KUBERNETES}")
    _daemon("kubelet", [str(progs["kubelet"]), "--config", str(etc / "kubelet.yaml"),
                        "--kubeconfig", str(etc / "kubelet.kubeconfig"),
                        "--root-dir", str(nd / "kubelet"), "--cert-dir", str(nd / "pki"),
                        "--hostname-override", config.NODE_NAME, "--node-ip", host.NODE_IP,
                        "--node-labels", "kubelab.dev/node=local",
                        "--v", "1"], state, env)
    _daemon("kube-proxy", [str(progs["kube-proxy"]), "--config", str(etc / "kube-proxy.yaml"),
                           "--v", "1"], state, env)
    _node_registered(cluster, state["pids"]["kubelet"])
    cluster.kubectl(["wait", "--for=condition=Ready", f"node/{config.NODE_NAME}",
                     "--timeout=90s"], timeout=100)
    state["node_ready_seconds"] = round(time.monotonic() - start, 1)
    log(f"node {config.NODE_NAME} is Ready ({state['node_ready_seconds']} s after start)")
    _save_state(state)

    addons.install(cluster, log)
    cluster.details.update({"node": config.NODE_NAME, "node_ip": host.NODE_IP,
                            "run_dir": str(rd)})
    cluster.save()
    return cluster


def _node_registered(cluster: Cluster, kubelet: int, seconds: float = 60) -> None:
    def registered() -> bool:
        return cluster.kubectl(["get", "node", config.NODE_NAME], check=False).returncode == 0
    _wait(f"node {config.NODE_NAME} registering with the API server", registered, seconds,
          "kubelet", kubelet)


def _stop(pid: int | None, seconds: float = 20, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after `seconds`; with `group`, the process group it leads
    too (a daemon started in its own session, e.g. socat and its per-connection forks)."""
    if not pid or not procs.alive(pid):
        return

    def send(sig: int) -> None:
        try:
            os.killpg(pid, sig) if group else os.kill(pid, sig)
        except ProcessLookupError:
            pass
    send(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if procs.alive(pid):
        send(signal.SIGKILL)


def _shim_pids(sock: str) -> list[int]:
    """containerd's shims for this lab: they name its socket on their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in cmd:
                found.append(int(entry.name))
    return found


def _tear_down(log=print) -> None:  # noqa: ANN001
    state = _load_state()
    pids = state.get("pids", {})
    rd = Path(state.get("run_dir") or run_dir())
    sock = rd / "containerd.sock"
    _stop(pids.get("kubelet"))
    if sock.exists() and procs.alive(pids.get("containerd") or 0):
        # Stop and remove every pod through the CRI, so CNI releases its addresses, rules
        # and network namespaces.
        try:
            crictl = binaries.node_group("cri-tools", build=False) / "crictl"
            subprocess.run([str(crictl), "--runtime-endpoint", f"unix://{sock}", "--timeout",
                            "60s", "rmp", "--all", "--force"], capture_output=True,
                           timeout=120)
        except (KubelabError, subprocess.TimeoutExpired):
            pass
    _stop(pids.get("kube-proxy"))
    try:
        proxy = binaries.node_group("kubernetes-node", build=False) / "kube-proxy"
        subprocess.run([str(proxy), "--cleanup"], capture_output=True, timeout=60)
    except (KubelabError, subprocess.TimeoutExpired):
        pass
    _stop(pids.get("containerd"))
    for pid in _shim_pids(str(sock)):
        _stop(pid, 5)
    _stop(pids.get("apiserver-forward"), 5, group=True)
    sandbox.delete()
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
    kept = state_dir() / "node-logs"          # the last node's logs outlive it, to read
    shutil.rmtree(kept, ignore_errors=True)
    if (node_dir() / "logs").is_dir():
        shutil.move(str(node_dir() / "logs"), kept)
    if not host.mounts(str(node_dir()) + "/"):
        shutil.rmtree(node_dir(), ignore_errors=True)
    log("stopped the local node and removed its interfaces, rules and mounts")


def down(cluster: Cluster | None) -> None:
    _tear_down()
    lab_kubeconfig().unlink(missing_ok=True)


def node_state() -> dict:
    """What `up` recorded (PIDs, the machine before, Ready time): for tests and bench."""
    return _load_state()


register(Backend(
    name="local",
    summary="the sandbox's control plane plus one real node on this machine (Linux, root)",
    features=frozenset({"containers", "cluster-admin", "host-network"}),
    available=lambda: available(), fix="see docs/local-node.md (Linux, root; optional)",
    up=lambda o: up(port=o.port, log=o.log),
    down=lambda cluster, log: down(cluster)))
