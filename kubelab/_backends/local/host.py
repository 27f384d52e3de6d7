"""What the local node changes on this machine, and how `down` puts it back.

The node gets addresses of its own, on interfaces kubelab creates, so no traffic leaves the
machine: the node's address on a dummy interface, and a bridge for the pods. Everything
else the node adds (iptables chains, mounts, network namespaces, cgroups) is recorded
before `up` and removed by `down` when it was not there before.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from kubelab._backends.addons import LOCAL_LB_RANGE
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr

NODE_IF = "kubelab-node"          # a port-less bridge holding the node's own address
BRIDGE = "kubelab-pods"           # the pods' bridge (CNI bridge plugin reuses it)
NODE_NET = "10.240.0.0/24"        # node address and LoadBalancer addresses
NODE_IP = "10.240.0.2"
LB_RANGE = LOCAL_LB_RANGE         # MetalLB's addresses (the add-ons own the value)
POD_CIDR = "10.244.0.0/24"        # this node's pods (cluster range 10.244.0.0/16)
CLUSTER_CIDR = "10.244.0.0/16"
POD_GATEWAY = "10.244.0.1"
GUARD_CHAIN = "KUBELAB-GUARD"
FORWARD_CHAIN = "KUBELAB-FORWARD"
MAX_NODES = 3                     # node 1 in this machine's namespace, 2 and 3 in their own
NODE_PREFIX = "kubelab-node-"     # node k >= 2: its name, network namespace and cgroup root

SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/bridge/bridge-nf-call-iptables": "1",
    "net/bridge/bridge-nf-call-ip6tables": "1",
}
CHAIN_PREFIXES = ("KUBE-", "CNI-", "KUBELAB-")
CGROUP_TOPS = ("kubepods", "kubepods.slice")


def node_ip(index: int) -> str:
    """Node 1 is 10.240.0.2, node 2 10.240.0.3, ..."""
    return f"10.240.0.{index + 1}"


def netns_path(name: str) -> Path:
    return Path("/run/netns") / name


def host_veth(index: int) -> str:
    """The host's end of node k's cable, a port of the kubelab-node bridge."""
    return f"kl-node-{index}"


def in_netns(name: str) -> list[str]:
    """The prefix that runs a program in a node's network namespace. nsenter enters the
    network namespace only: `ip netns exec` would also remount /sys, hiding the cgroup
    mounts the kubelet needs."""
    return ["nsenter", f"--net={netns_path(name)}", "--"]


def run(cmd: list[str], check: bool = True, **kw: object) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise KubelabError(tr("`{command}` failed: {error}", command=" ".join(cmd),
                              error=proc.stderr.strip()[-300:]),
                           tr("the local backend needs root on Linux, with iproute2 and "
                              "iptables installed; `kubelab doctor` checks."))
    return proc


# ------------------------------------------------------------------ what is there now

def interfaces() -> list[str]:
    return sorted(i["ifname"] for i in json.loads(run(["ip", "-j", "link", "show"]).stdout
                                                  or "[]"))


def mounts(*under: str) -> list[str]:
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    points = [p.encode().decode("unicode_escape") for p in points]
    return [p for p in points if not under or any(p.startswith(u) for u in under)]


def iptables_rules(binary: str = "iptables") -> dict[str, list[str]]:
    """table -> its rules and chains, as iptables-save prints them (no counters)."""
    out: dict[str, list[str]] = {}
    if not shutil.which(binary + "-save"):
        return out
    table = ""
    for line in run([binary + "-save"], check=False).stdout.splitlines():
        if line.startswith("*"):
            table = line[1:]
            out[table] = []
        elif line.startswith(("-A", ":")) and table:
            out[table].append(re.sub(r" \[\d+:\d+\]$", "", line))
    return out


def rule_count() -> int:
    """Rules in every iptables table, IPv4 and IPv6: what `down` must bring back."""
    return sum(sum(1 for r in rules if r.startswith("-A"))
               for b in ("iptables", "ip6tables") for rules in iptables_rules(b).values())


def snapshot() -> dict[str, object]:
    """The machine before `up`, to compare with after `down`."""
    return {"interfaces": interfaces(), "mounts": mounts(), "rules": rule_count(),
            "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else [],
            "sysctls": {k: read_sysctl(k) for k in SYSCTLS}}


def read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key).read_text().strip()
    except OSError:
        return None


# ------------------------------------------------------------------ checks before up

def preflight() -> None:
    """Refuse early, with the fix, instead of half-starting a node."""
    problems = []
    if os.name != "posix" or not Path("/proc/self/ns/net").exists():
        problems.append((tr("the local backend runs on Linux only"),
                         tr("use the sandbox backend, or kind/minikube on this machine")))
    elif os.geteuid() != 0:
        problems.append((tr("the local backend needs root (it creates interfaces, mounts "
                            "and firewall rules)"),
                         tr("run as root, or use the sandbox backend")))
    for tool, package in (("runc", "runc"), ("iptables", "iptables"), ("ip", "iproute2"),
                          ("openssl", "openssl"), ("socat", "socat"),
                          ("busybox", "busybox-static"), ("gcc", "gcc")):
        if not shutil.which(tool):
            problems.append((tr("{tool} is not installed", tool=tool),
                             f"apt-get install {package}"))
    if not Path("/proc/sys/net/bridge").exists():
        problems.append((tr("the kernel has no bridge netfilter (br_netfilter)"),
                         "modprobe br_netfilter"))
    if not problems:
        existing = [c for rules in iptables_rules().values() for c in rules
                    if c.startswith(":KUBE-") or c.startswith(":CNI-")]
        if existing:
            problems.append((tr("this machine already has Kubernetes firewall chains "
                                "({chain}, ...): another cluster runs here, and kubelab "
                                "will not touch it", chain=existing[0][1:].split()[0]),
                             tr("stop that cluster first, or use the sandbox backend")))
        taken = [i for i in interfaces() if i in (NODE_IF, BRIDGE)]
        if taken:
            problems.append((tr("interface {name} already exists (a lab that was not "
                                "stopped?)", name=taken[0]),
                             tr("run `kubelab down`, or `ip link delete {name}` if it is "
                                "not kubelab's", name=taken[0])))
        for net in (NODE_NET, CLUSTER_CIDR):
            clash = _route_clash(net)
            if clash:
                problems.append((tr("{range} is already routed on this machine ({route})",
                                    range=net, route=clash),
                                 tr("the local backend needs that range to itself")))
    if problems:
        raise KubelabError(tr("the local node cannot start here: {problems}.",
                              problems="; ".join(p for p, _ in problems)),
                           "; ".join(f for _, f in problems) + ".")


def _route_clash(cidr: str) -> str | None:
    want = ipaddress.ip_network(cidr)
    for route in json.loads(run(["ip", "-j", "route", "show"]).stdout or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", ""):
            continue
        try:
            if ipaddress.ip_network(dst, strict=False).overlaps(want):
                return f"{dst} dev {route.get('dev')}"
        except ValueError:
            continue
    return None


# ------------------------------------------------------------------ set up, tear down

def set_up(saved: dict[str, str | None]) -> None:
    """Interfaces, sysctls and the guard; `saved` gets the sysctls' old values."""
    run(["ip", "link", "add", NODE_IF, "type", "bridge"])   # no dummy driver on every kernel
    run(["ip", "addr", "add", f"{NODE_IP}/24", "dev", NODE_IF])
    run(["ip", "link", "set", NODE_IF, "up"])
    run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "addr", "add", f"{POD_GATEWAY}/24", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    for key, value in SYSCTLS.items():
        saved[key] = read_sysctl(key)
        Path("/proc/sys", key).write_text(value)
    # The node's addresses answer only this machine and its pods: a packet for them that
    # arrives on any other interface is dropped.
    run(["iptables", "-N", GUARD_CHAIN])
    run(["iptables", "-A", GUARD_CHAIN, "-i", "lo", "-j", "RETURN"])
    run(["iptables", "-A", GUARD_CHAIN, "-i", BRIDGE, "-j", "RETURN"])
    run(["iptables", "-A", GUARD_CHAIN, "-d", NODE_NET, "-j", "DROP"])
    run(["iptables", "-I", "INPUT", "-j", GUARD_CHAIN])


def remove_chains(before: dict[str, dict[str, list[str]]]) -> None:
    """Delete the chains (and the rules that jump to them) that were not there before."""
    for binary in ("iptables", "ip6tables"):
        if not shutil.which(binary):
            continue
        old = before.get(binary, {})
        for table, rules in iptables_rules(binary).items():
            had = {r.split()[0][1:] for r in old.get(table, []) if r.startswith(":")}
            ours = {r.split()[0][1:] for r in rules if r.startswith(":")
                    and r[1:].startswith(CHAIN_PREFIXES)} - had
            if not ours:
                continue
            for rule in rules:         # jumps from chains that stay
                parts = rule.split()
                if rule.startswith("-A") and parts[1] not in ours and \
                        any(f"-j {c}" in rule or f"-g {c}" in rule for c in ours):
                    run([binary, "-t", table, "-D", *parts[1:]], check=False)
            for chain in ours:
                run([binary, "-t", table, "-F", chain], check=False)
            for chain in ours:
                run([binary, "-t", table, "-X", chain], check=False)


def unmount_under(*roots: str) -> None:
    for point in sorted(mounts(*roots), key=len, reverse=True):
        run(["umount", "-l", point], check=False)


def remove_cgroups() -> None:
    """kubelet's cgroupfs hierarchy (kubepods/..., and kubelab-node-K/... of nodes 2 and
    3) in every controller, deepest first."""
    for controller in Path("/sys/fs/cgroup").iterdir():
        tops = [*CGROUP_TOPS, *(p.name for p in controller.glob(f"{NODE_PREFIX}*"))]
        for top in tops:
            root = controller / top
            if not root.is_dir():
                continue
            dirs = sorted((p for p in root.rglob("*") if p.is_dir()),
                          key=lambda p: len(p.parts), reverse=True)
            for d in [*dirs, root]:
                try:
                    d.rmdir()
                except OSError:
                    pass


# ------------------------------------------------------------------ nodes 2 and 3

def allow_nodes() -> None:
    """With more than one node: the nodes' namespaces reach this machine's node address
    through the kubelab-node bridge, and pods' packets are forwarded between the bridges
    even where a firewall's FORWARD policy drops (Docker sets DROP)."""
    run(["iptables", "-I", GUARD_CHAIN, "2", "-i", NODE_IF, "-j", "RETURN"])
    run(["iptables", "-N", FORWARD_CHAIN])
    for src, dst in ((NODE_IF, NODE_IF), (NODE_IF, BRIDGE), (BRIDGE, NODE_IF)):
        run(["iptables", "-A", FORWARD_CHAIN, "-i", src, "-o", dst, "-j", "ACCEPT"])
    run(["iptables", "-I", "FORWARD", "-j", FORWARD_CHAIN])


def add_node_netns(index: int) -> str:
    """Node k's network namespace, cabled to the kubelab-node bridge: its address
    10.240.0.(k+1)/24 on eth0, default route via node 1's address. Returns its name."""
    name = f"{NODE_PREFIX}{index}"
    path = netns_path(name)
    path.parent.mkdir(exist_ok=True)
    path.touch()
    run(["unshare", f"--net={path}", "true"])       # kept alive by the bind mount on path
    veth = host_veth(index)
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name])
    run(["ip", "link", "set", veth, "master", NODE_IF, "up"])
    run(["ip", "-n", name, "addr", "add", f"{node_ip(index)}/24", "dev", "eth0"])
    for dev in ("lo", "eth0"):
        run(["ip", "-n", name, "link", "set", dev, "up"])
    run(["ip", "-n", name, "route", "add", "default", "via", NODE_IP])
    for key, value in SYSCTLS.items():    # each namespace has its own
        run([*in_netns(name), "sysctl", "-qw", f"{key.replace('/', '.')}={value}"],
            check=False)
    return name


def route_pods(subnets: dict[int, str]) -> None:
    """node index -> its pod range: routed via that node's address from this machine and
    from every other node's namespace (node 1's namespace is this machine's)."""
    for index, subnet in subnets.items():
        via = node_ip(index)
        if index > 1:
            run(["ip", "route", "replace", subnet, "via", via, "dev", NODE_IF])
        for other in subnets:
            if other > 1 and other != index:
                run(["ip", "-n", f"{NODE_PREFIX}{other}", "route", "replace", subnet,
                     "via", via, "dev", "eth0"])


def make_cgroup_root(name: str) -> None:
    """/NAME in every cgroup controller, for a node's kubelet (its cgroupRoot must
    exist); cpuset gets its parent's CPUs and memory nodes, or nothing could join it."""
    for controller in Path("/sys/fs/cgroup").iterdir():
        if not controller.is_dir():
            continue
        d = controller / name
        d.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (controller / knob).exists() and (d / knob).exists():
                (d / knob).write_text((controller / knob).read_text())


def remove_node_netns(names: list[str]) -> None:
    """The namespaces `add_node_netns` made (their veths go with them)."""
    for name in names:
        index = name.removeprefix(NODE_PREFIX)
        run(["ip", "link", "delete", f"kl-node-{index}"], check=False)
        path = netns_path(name)
        if path.exists():
            run(["umount", "-l", str(path)], check=False)
            path.unlink(missing_ok=True)


def tear_down(saved: dict[str, str | None], netns_before: list[str]) -> None:
    run(["ip", "link", "delete", BRIDGE], check=False)
    run(["ip", "link", "delete", NODE_IF], check=False)
    # A pod's veth goes with its network namespace, so removing the namespaces the
    # runtime left (after a crash) removes their interfaces too.
    if os.path.isdir("/run/netns"):
        for ns in set(os.listdir("/run/netns")) - set(netns_before):
            if ns.startswith("cni-"):
                run(["umount", "-l", f"/run/netns/{ns}"], check=False)
                Path("/run/netns", ns).unlink(missing_ok=True)
    for key, value in saved.items():
        if value is not None:
            try:
                Path("/proc/sys", key).write_text(value)
            except OSError:
                pass

