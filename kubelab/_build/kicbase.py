"""minikube's node image ("kicbase"), built here from the same base as the kind node image.

minikube's Docker driver starts each node from its kicbase image and then provisions it
the way it provisions a VM: over SSH as the user `docker` with passwordless sudo, and
through `docker exec`. It copies kubeadm, kubelet and kubectl in from its cache, writes
the kubelet's unit and kubeadm's config itself, and runs `kubeadm init` or `join`. So
this image holds what kicbase holds for the containerd runtime and nothing minikube
writes itself:

- the shared Debian base (systemd, sshd, sudo, runc, iptables; kind/nodeimage.py);
- containerd 2, crictl and the CNI plugins, with kubelab's containerd configuration;
- the user `docker`, the SSH settings minikube's RSA key needs, and sshd enabled;
- every image a cluster needs, already in containerd: the control plane at the versions
  kubeadm v1.36 asks for (etcd 3.6.8), CoreDNS, pause, minikube's storage provisioner
  and the chapters' images, so nothing is pulled.

The upstream kicbase (gcr.io/k8s-minikube/kicbase) is pulled by minikube itself on a
machine with a registry; this one is used where nothing can be pulled.
"""
from __future__ import annotations

from pathlib import Path

from kubelab._base import versions
from kubelab._base.i18n import tr
from kubelab._build import binaries, images, nodefiles, nodeimage

Log = nodeimage.Log

SSHD_CONFIG = """\
# minikube logs in with an RSA key it makes per node
PubkeyAcceptedAlgorithms +ssh-rsa
HostkeyAlgorithms +ssh-rsa
PubkeyAuthentication yes
PasswordAuthentication no
"""

# minikube sets restrict_oom_score_adj with `sed 's|^( *)restrict_oom_score_adj = .*$|...|'`
# to "rootless or not"; on these machines it must stay true (no CAP_SYS_RESOURCE), so the
# line is written without spaces around "=", which TOML allows and the sed does not match.
# Registry settings per host come from /etc/containerd/certs.d, as in minikube's own image
# (kubelab writes one there on a machine that cannot pull: see offline_registry()).
CONTAINERD_TOML = nodefiles.CONTAINERD_TOML.replace(
    "restrict_oom_score_adj = true", "restrict_oom_score_adj=true") + """
[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = "/etc/containerd/certs.d"
"""

# The kubelet's parent cgroup (--cgroup-root=/kubelet) in every v1 hierarchy, made once
# systemd has mounted them (before that, some hierarchies are not yet the final ones).
CGROUPS_SERVICE = """\
[Unit]
Description=kubelab: the kubelet's parent cgroup in every cgroup v1 hierarchy
Before=kubelet.service containerd.service
ConditionPathExists=!/sys/fs/cgroup/cgroup.controllers

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for c in /sys/fs/cgroup/*/; do case "$$c" in */unified/) ;; *) mkdir -p "$${c}kubelet" || true ;; esac; done'

[Install]
WantedBy=multi-user.target
"""

FILES: dict[str, tuple[str, int]] = {
    "etc/systemd/system/kubelab-cgroups.service": (CGROUPS_SERVICE, 0o644),
    "usr/local/bin/entrypoint": (nodefiles.ENTRYPOINT, 0o755),
    "etc/containerd/config.toml": (CONTAINERD_TOML, 0o644),
    "etc/systemd/system/containerd.service": (nodefiles.CONTAINERD_SERVICE, 0o644),
    "etc/crictl.yaml": (nodefiles.CRICTL_YAML, 0o644),
    "etc/ssh/sshd_config.d/minikube.conf": (SSHD_CONFIG, 0o644),
    "etc/sudoers.d/20-passwordless-sudo": ("%sudo ALL=(ALL) NOPASSWD:ALL\n", 0o440),
    "kind/version": (versions.KUBERNETES, 0o644),       # the entrypoint prints it
}
ENABLED_UNITS = ("containerd.service", "ssh.service", "kubelab-cgroups.service")
LAYOUT = 1


def key() -> str:
    files = [f"{p}:{m}:{t}" for p, (t, m) in sorted(FILES.items())]
    return nodeimage.digest(nodeimage.node_key(), versions.MINIKUBE, versions.KUBEADM_ETCD,
                            versions.STORAGE_PROVISIONER, str(LAYOUT), *files,
                            *ENABLED_UNITS)[:12]


def tarball() -> Path:
    return nodeimage.image_dir() / f"kicbase-{versions.MINIKUBE}-{key()}.tar"


def image_tag() -> str:
    return f"kubelab/kicbase:{versions.MINIKUBE}-{key()[:8]}"


def _add_user(root: Path, log: Log) -> None:
    """The user minikube logs in as, as kicbase makes it: group docker, in sudo, no
    password, and an empty ~/.ssh for the key minikube copies in."""
    nodeimage.run_step(["chroot", str(root), "sh", "-c",
                        "groupadd -f docker && useradd -m -s /bin/bash -g docker -G sudo docker"
                        " && passwd -d docker >/dev/null"
                        " && install -d -m 700 -o docker -g docker /home/docker/.ssh"],
                       tr("adding the user docker"), log)


def node_images(root: Path, progs: dict[str, Path], control: dict[str, Path]
                ) -> list[images.Image]:
    storage = binaries.node_group("minikube") / "storage-provisioner"
    out = nodeimage.control_plane_images(root, progs, control,
                                         etcd_image=versions.KUBEADM_ETCD_IMAGE)
    out.append(images.Image(versions.STORAGE_PROVISIONER_IMAGE,
                            {"/storage-provisioner": storage},
                            entrypoint=["/storage-provisioner"]))
    have = {i.name for i in out}
    out += [i for i in images.workbook_images(progs) if i.name not in have]
    return out


def build(log: Log) -> Path:
    """The kicbase root file system as a tar (cached by key())."""
    progs, control = nodeimage.programs()
    control = {**control, "etcd": binaries.node_group("etcd-kubeadm") / "etcd"}
    return nodeimage.assemble(tarball(), "kicbase", nodeimage.RUNTIME_PLACES, FILES,
                              ENABLED_UNITS, lambda root: node_images(root, progs, control),
                              progs, log, customize=lambda root: _add_user(root, log))


def ensure_image(log: Log = print) -> str:
    """The kicbase image in the Docker engine, built or imported if missing; its tag."""
    tag = image_tag()
    if nodeimage.image_present(tag):
        return tag
    return nodeimage.import_image(build(log), tag, log)
