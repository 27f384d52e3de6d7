"""The node's configuration files, each written from the facts of this machine.

Why these settings: this kind of machine has hybrid cgroups (v1 controllers) and PID 1 is
not systemd, so the cgroupfs driver and `failCgroupV1: false` (still accepted by 1.36);
its hard nofile limit is 20000, so nothing asks for more; and every address is the node's
own (kubelab/backends/local/host.py), never the machine's network.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kubelab._backends import addons
from kubelab._backends.local import host
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr

NODE_NAME = "kubelab-node"
CLUSTER_DNS = addons.CLUSTER_DNS
CLUSTER_DOMAIN = "cluster.local"


def containerd_toml(root: Path, run_dir: Path, cni_bin: Path, cni_conf: Path,
                    runc: str) -> str:
    return f"""\
version = 3
root = "{root}"
state = "{run_dir / 'containerd'}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{run_dir / 'containerd.sock'}"

[ttrpc]
  address = "{run_dir / 'containerd.sock.ttrpc'}"

[plugins.'io.containerd.internal.v1.opt']
  path = "{root / 'opt'}"

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # Processes here cannot lower their OOM score (no CAP_SYS_RESOURCE), and kubelet asks
  # for -998 for every pod sandbox: keep scores no lower than containerd's own.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{run_dir / 'runc'}"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["{cni_bin}"]
    conf_dir = "{cni_conf}"
    max_conf_num = 1

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{versions.NODE_IMAGES['pause']}"
"""


def cni_conflist(data_dir: Path, subnet: str = host.POD_CIDR,
                 gateway: str = host.POD_GATEWAY, masquerade: bool = True) -> str:
    """bridge + host-local + portmap (hostPort), on the bridge host.py created (for a node
    in a network namespace of its own, the bridge plugin creates it there). A second or
    third node does not masquerade: its pods reach the others by routes, with their own
    addresses."""
    return json.dumps({
        "cniVersion": "1.0.0", "name": "kubelab",
        "plugins": [
            {"type": "bridge", "bridge": host.BRIDGE, "isGateway": True,
             "ipMasq": masquerade, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(data_dir),
                      "ranges": [[{"subnet": subnet, "gateway": gateway}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ]}, indent=2)


def kubelet_yaml(run_dir: Path, ca: Path, pod_logs: Path, resolv: Path,
                 address: str = host.NODE_IP, cgroup_root: str | None = None) -> str:
    """cgroup_root: a node beside another on this machine keeps its pods' cgroups under a
    root of its own; under the same one, each kubelet removes the other's as orphans."""
    extra = {"cgroupRoot": cgroup_root} if cgroup_root else {}
    return json.dumps({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "failCgroupV1": False, "cgroupDriver": "cgroupfs", **extra,
        "containerRuntimeEndpoint": f"unix://{run_dir / 'containerd.sock'}",
        "address": address, "port": 10250, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": 10248,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(ca)}},
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [CLUSTER_DNS], "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(resolv), "podLogsDir": str(pod_logs),
        "failSwapOn": False, "maxPods": 110,
        # a CI disk is shared: evict only when truly full, and never for the image disk
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False, "registerNode": True,
        "syncFrequency": "10s", "fileCheckFrequency": "10s",
        "shutdownGracePeriod": "0s", "containerLogMaxSize": "5Mi",
    }, indent=2)


def kube_proxy_yaml(kubeconfig: Path, name: str = NODE_NAME, address: str = host.NODE_IP) -> str:
    return json.dumps({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "mode": "iptables", "clusterCIDR": host.CLUSTER_CIDR,
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "bindAddress": "127.0.0.1", "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249", "hostnameOverride": name,
        "nodePortAddresses": [f"{address}/32"],
        "conntrack": {"maxPerCore": 0},       # leave the host's conntrack table alone
        "detectLocalMode": "ClusterCIDR",
    }, indent=2)


def resolv_conf() -> str:
    """What CoreDNS forwards to: nothing outside this machine answers, so it says so."""
    return "# kubelab's node: no DNS server outside the cluster is reachable from here\n"


def client_cert(pki: Path, out: Path, cn: str, org: str) -> tuple[Path, Path]:
    """A client certificate signed by the sandbox's CA (openssl, like kubeadm's certs)."""
    key, csr, crt = out / f"{cn.replace(':', '-')}.key", out / "req.csr", \
        out / f"{cn.replace(':', '-')}.crt"
    steps = [
        ["openssl", "genrsa", "-out", str(key), "2048"],
        ["openssl", "req", "-new", "-key", str(key), "-subj", f"/O={org}/CN={cn}",
         "-out", str(csr)],
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"),
         "-CAkey", str(pki / "ca.key"), "-CAcreateserial", "-days", "30", "-out", str(crt)],
    ]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True)
        if proc.returncode != 0:
            raise KubelabError(tr("openssl could not make the node's certificate: {error}",
                                  error=proc.stderr.strip()[-300:]),
                               tr("install openssl."))
    csr.unlink(missing_ok=True)
    key.chmod(0o600)
    return crt, key


def kubeconfig(server: str, ca: Path, crt: Path | None, key: Path | None, user: str,
               token: str | None = None) -> str:
    """With a client certificate; or with a bootstrap token (a joining node's kubelet uses
    it once, to ask for its certificate)."""
    creds = {"token": token} if token else {"client-certificate": str(crt),
                                            "client-key": str(key)}
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "kubelab", "cluster": {"server": server,
                                                     "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": creds}],
        "contexts": [{"name": "kubelab", "context": {"cluster": "kubelab", "user": user}}],
        "current-context": "kubelab"}, indent=2)
