"""Finding binaries: explicit paths, the cache, checksum-verified downloads (served from a
loopback HTTP server), and the wrapper module that builds Kubernetes from the Go proxy."""
from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from kubelab import binaries, gobuild, versions
from kubelab.errors import KubelabError


@pytest.fixture
def release_server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 like a release site."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _fake_binary(version_line: str) -> bytes:
    return f"#!/bin/sh\necho '{version_line}'\n".encode()


def _publish_k8s(www: Path, corrupt: str | None = None) -> None:
    d = www / versions.KUBERNETES / "bin" / "linux" / binaries._arch()
    d.mkdir(parents=True)
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        data = _fake_binary(f"Kubernetes {versions.KUBERNETES}")
        (d / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if name == corrupt:
            digest = "0" * 64
        (d / f"{name}.sha256").write_text(digest)


def test_download_verifies_checksums_and_fills_the_cache(release_server, tmp_path,
                                                         monkeypatch):
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_K8S_RELEASE_URL", url)
    _publish_k8s(www)
    path = binaries.find("kube-apiserver", build=False, download=True)
    assert path == tmp_path / "cache" / "bin" / f"kubernetes-{versions.KUBERNETES}" / \
        "kube-apiserver"
    assert binaries.reported_version(path, binaries.COMPONENTS["kube-apiserver"]) == \
        versions.KUBERNETES


def test_a_bad_checksum_installs_nothing(release_server, tmp_path, monkeypatch):
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_K8S_RELEASE_URL", url)
    _publish_k8s(www, corrupt="kube-scheduler")
    with pytest.raises(KubelabError, match="checksum mismatch"):
        binaries.fetch_release("kubernetes")
    assert not (tmp_path / "cache" / "bin" / f"kubernetes-{versions.KUBERNETES}").exists()


def test_etcd_comes_out_of_its_release_archive(release_server, tmp_path, monkeypatch):
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_ETCD_RELEASE_URL", url)
    v, arch = versions.ETCD, binaries._arch()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = _fake_binary(f"etcd Version: {v.lstrip('v')}")
        info = tarfile.TarInfo(f"etcd-{v}-linux-{arch}/etcd")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (www / v).mkdir()
    name = f"etcd-{v}-linux-{arch}.tar.gz"
    (www / v / name).write_bytes(buf.getvalue())
    (www / v / "SHA256SUMS").write_text(
        f"{'1' * 64}  other.tar.gz\n{hashlib.sha256(buf.getvalue()).hexdigest()}  {name}\n")
    path = binaries.find("etcd", build=False, download=True)
    assert binaries.reported_version(path, binaries.COMPONENTS["etcd"]) == v


def test_unreachable_download_says_so_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_K8S_RELEASE_URL", "http://127.0.0.1:9")   # discard port
    with pytest.raises(KubelabError) as e:
        binaries.find("kube-apiserver", build=False, download=True)
    assert "could not download" in e.value.problem and "kubelab" in e.value.fix


def test_explicit_binary_of_the_wrong_version_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "kube-apiserver"
    fake.write_bytes(_fake_binary("Kubernetes v1.29.0"))
    fake.chmod(0o755)
    monkeypatch.setenv("KUBELAB_KUBE_APISERVER_BINARY", str(fake))
    with pytest.raises(KubelabError) as e:
        binaries.find("kube-apiserver")
    assert "v1.29.0" in e.value.problem and versions.KUBERNETES in e.value.problem
    assert "KUBELAB_KUBE_APISERVER_BINARY" in e.value.fix


def test_explicit_binary_that_does_not_exist_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELAB_ETCD_BINARY", str(tmp_path / "nope"))
    with pytest.raises(KubelabError, match="not an executable file"):
        binaries.find("etcd")


def test_missing_binary_without_download_or_build(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(KubelabError) as e:
        binaries.find("kwokctl", build=False, download=False)
    assert "not in the cache" in e.value.problem and "kubelab up" in e.value.fix


KUBERNETES_GOMOD = """module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tk8s.io/api v0.0.0
\tgithub.com/kylelemons/godebug v1.1.0 // indirect
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


def test_wrapper_module_replaces_every_staging_module_with_its_release():
    gomod = gobuild.kubernetes_wrapper_gomod(KUBERNETES_GOMOD)
    assert f"require k8s.io/kubernetes {versions.KUBERNETES}" in gomod
    assert f"k8s.io/api => k8s.io/api {versions.KUBERNETES_STAGING}" in gomod
    assert f"k8s.io/client-go => k8s.io/client-go {versions.KUBERNETES_STAGING}" in gomod
    assert "godebug default=go1.26" in gomod
    assert "go 1.26.0" in gomod
    assert "kylelemons" not in gomod


def test_builds_are_version_stamped():
    flags = gobuild.kubernetes_ldflags()
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion={versions.KUBERNETES}" in flags
        assert f"-X {pkg}.gitMinor={versions.minor(versions.KUBERNETES)}" in flags


def test_kubectl_is_within_one_minor_of_the_control_plane():
    got = binaries.kubectl_version(binaries.kubectl())
    assert got is not None
    assert abs(versions.minor(got) - versions.minor(versions.KUBERNETES)) <= 1
