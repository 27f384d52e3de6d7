"""The files kubelab's kind node image adds to a Debian base: systemd units, containerd's
configuration and the container's entrypoint. Written for kubelab from what a kind node
needs (kind runs kubeadm in it, so the units follow kubeadm's documented layout); nothing
here is copied from kind's base image.

Why some settings differ from a laptop's kind node: the machines this image is built for
have cgroup v1 and a root without CAP_SYS_RESOURCE, so no unit raises RLIMIT_NOFILE or
lowers an OOM score, and containerd keeps pods' OOM scores no lower than its own; and the
kubelet and containerd use the cgroupfs driver under /kubelet, as kubelab's local node
does on the same machines, instead of asking systemd for slices on a hybrid cgroup host.
"""
from __future__ import annotations

from kubelab._base import versions

ENTRYPOINT = r"""#!/bin/bash
# kubelab's kind node: make this privileged container fit for systemd and the kubelet,
# then hand over to /sbin/init (systemd), which starts containerd and the kubelet.
set -o errexit -o nounset -o pipefail

# the kubelet needs shared mount propagation (volumes, projected tokens)
mount --make-rshared /

# each node its own machine id (systemd and the kubelet's node identity read it)
if [ ! -s /etc/machine-id ]; then
  systemd-machine-id-setup >/dev/null 2>&1 \
    || tr -d - < /proc/sys/kernel/random/uuid > /etc/machine-id
fi

# this node routes pods' traffic, and Services' rules must see bridged packets
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
sysctl -qw net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null || true

# Docker's embedded DNS server (127.0.0.11) answers only inside this container's own
# network namespace, so pods (CoreDNS among them, which inherits this resolv.conf) cannot
# use it, and CoreDNS would even find itself there and stop ("loop detected"). Offer it
# on the node's own address instead: repeat Docker's redirect rules for that address and
# name it in resolv.conf.
embedded=127.0.0.11
if grep -q "^nameserver ${embedded}" /etc/resolv.conf; then
  node_ip=$(ip -4 -o addr show dev eth0 | awk '{split($4, a, "/"); print a[1]; exit}')
  rules=$(iptables-save -t nat)
  if [ -n "$node_ip" ] && printf '%s\n' "$rules" | grep -q -- "-d ${embedded}/32"; then
    sysctl -qw net.ipv4.conf.all.route_localnet=1
    printf '%s\n' "$rules" \
      | sed -e "s|-d ${embedded}/32|-d ${node_ip}/32|g" \
            -e "s|--to-source :53|--to-source ${node_ip}:53|g" \
            -e "s|^-A OUTPUT \(.*\) -j DOCKER_OUTPUT\$|&\n-A PREROUTING \1 -j DOCKER_OUTPUT|" \
      | iptables-restore
    resolv=$(sed -e "s/^nameserver ${embedded}/nameserver ${node_ip}/" /etc/resolv.conf)
    printf '%s\n' "$resolv" > /etc/resolv.conf      # a bind mount: rewrite in place
  fi
fi

# the kubelet's OOM watcher reads /dev/kmsg
[ -e /dev/kmsg ] || ln -s /dev/console /dev/kmsg

# cgroup v1: the parent cgroup kind's kubelet configuration names (cgroupRoot: /kubelet)
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  for controller in /sys/fs/cgroup/*/; do
    case "$controller" in */unified/) continue ;; esac
    mkdir -p "${controller}kubelet" 2>/dev/null || true
  done
fi

echo "kubelab kind node $(cat /kind/version): starting systemd" >&2
exec "$@"
"""

CONTAINERD_TOML = f"""\
# containerd 2 in a kind node built by kubelab
version = 3

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # no CAP_SYS_RESOURCE here: keep pods' OOM scores no lower than containerd's own
  restrict_oom_score_adj = true
  tolerate_missing_hugepages_controller = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        # the kubelet uses the cgroupfs driver here (kubelab's kind config says so)
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/opt/cni/bin"]
    conf_dir = "/etc/cni/net.d"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{versions.NODE_IMAGES['pause']}"
"""

CONTAINERD_SERVICE = """\
[Unit]
Description=containerd container runtime
After=network.target local-fs.target

[Service]
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=1
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity

[Install]
WantedBy=multi-user.target
"""

KUBELET_SERVICE = """\
[Unit]
Description=kubelet: the Kubernetes node agent
After=containerd.service
ConditionPathExists=/var/lib/kubelet/config.yaml

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=1s
KillMode=process

[Install]
WantedBy=multi-user.target
"""

# kubeadm writes /var/lib/kubelet/config.yaml and kubeadm-flags.env; this drop-in is the
# layout kubeadm's documentation gives for systemd.
KUBEADM_DROPIN = """\
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

CRICTL_YAML = "runtime-endpoint: unix:///run/containerd/containerd.sock\n"

# path in the node -> (content, mode)
FILES: dict[str, tuple[str, int]] = {
    "usr/local/bin/entrypoint": (ENTRYPOINT, 0o755),
    "etc/containerd/config.toml": (CONTAINERD_TOML, 0o644),
    "etc/systemd/system/containerd.service": (CONTAINERD_SERVICE, 0o644),
    "etc/systemd/system/kubelet.service": (KUBELET_SERVICE, 0o644),
    "etc/systemd/system/kubelet.service.d/10-kubeadm.conf": (KUBEADM_DROPIN, 0o644),
    "etc/crictl.yaml": (CRICTL_YAML, 0o644),
    "etc/default/kubelet": ("KUBELET_EXTRA_ARGS=\n", 0o644),
    "kind/version": (versions.KUBERNETES, 0o644),
}
ENABLED_UNITS = ("containerd.service", "kubelet.service")
