"""Finding binaries: explicit paths, the cache, downloads checked against digests pinned in
versions.py (served from a loopback HTTP server), and the wrapper module that builds
Kubernetes from the Go proxy."""
from __future__ import annotations

import hashlib
import http.server
import io
import re
import tarfile
import threading
from pathlib import Path

import pytest

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._build import binaries, gobuild


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


@pytest.fixture(autouse=True)
def no_published_trust_unless_asked(monkeypatch):
    monkeypatch.delenv("KUBELAB_TRUST_PUBLISHED_CHECKSUMS", raising=False)
    monkeypatch.setattr(binaries, "platform_key", lambda: f"linux/{binaries._arch()}")


def _publish_etcd(www: Path, version_line: str = "", sums: bool = True,
                  site_digest: str | None = None) -> dict[str, str]:
    """etcd's release archive and SHA256SUMS, shaped as on its release site; returns the
    archive's digest by RELEASE_SHA256 key. site_digest: what SHA256SUMS claims instead."""
    v, arch = versions.ETCD, binaries._arch()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = _fake_binary(version_line or f"etcd Version: {v.lstrip('v')}")
        info = tarfile.TarInfo(f"etcd-{v}-linux-{arch}/etcd")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (www / v).mkdir()
    name = f"etcd-{v}-linux-{arch}.tar.gz"
    (www / v / name).write_bytes(buf.getvalue())
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    if sums:
        (www / v / "SHA256SUMS").write_text(f"{'1' * 64}  other.tar.gz\n"
                                            f"{site_digest or digest}  {name}\n")
    return {f"{v}/{name}": digest}


def _etcd_cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "bin" / f"etcd-{versions.ETCD}"


def test_download_checks_the_pinned_digest_and_fills_the_cache(release_server, tmp_path,
                                                               monkeypatch):
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_ETCD_RELEASE_URL", url)
    # no published checksums at all: the pin is what the archive is checked against
    monkeypatch.setattr(versions, "RELEASE_SHA256", _publish_etcd(www, sums=False))
    path = binaries.find("etcd", build=False, download=True)
    assert path == _etcd_cache(tmp_path) / "etcd"
    assert binaries.reported_version(path, binaries.COMPONENTS["etcd"]) == versions.ETCD


def test_a_file_that_differs_from_its_pin_installs_nothing(release_server, tmp_path,
                                                            monkeypatch):
    """The site's own checksum agrees with its (tampered) file; the pin does not."""
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_ETCD_RELEASE_URL", url)
    pins = {key: "1" * 64 for key in _publish_etcd(www)}
    monkeypatch.setattr(versions, "RELEASE_SHA256", pins)
    with pytest.raises(KubelabError, match="checksum mismatch"):
        binaries.fetch_release("etcd")
    assert not _etcd_cache(tmp_path).exists()


def test_without_a_pinned_digest_the_download_is_refused(release_server, tmp_path,
                                                         monkeypatch):
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_ETCD_RELEASE_URL", url)
    monkeypatch.setattr(versions, "RELEASE_SHA256", {})
    _publish_etcd(www)
    with pytest.raises(KubelabError) as e:
        binaries.fetch_release("etcd")
    assert "no sha256 is pinned" in e.value.problem and "refused" in e.value.problem
    assert "KUBELAB_TRUST_PUBLISHED_CHECKSUMS=1" in e.value.fix
    assert not _etcd_cache(tmp_path).exists()


def test_published_checksums_only_when_asked(release_server, tmp_path, monkeypatch):
    www, url = release_server
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_ETCD_RELEASE_URL", url)
    monkeypatch.setenv("KUBELAB_TRUST_PUBLISHED_CHECKSUMS", "1")
    monkeypatch.setattr(versions, "RELEASE_SHA256", {})
    _publish_etcd(www, site_digest="0" * 64)
    with pytest.raises(KubelabError, match="checksum mismatch"):
        binaries.fetch_release("etcd")
    (www / versions.ETCD).rename(tmp_path / "old")
    _publish_etcd(www)
    path = binaries.find("etcd", build=False, download=True)
    assert binaries.reported_version(path, binaries.COMPONENTS["etcd"]) == versions.ETCD


def test_no_download_for_a_platform_without_release_binaries(monkeypatch):
    monkeypatch.setattr(binaries, "platform_key", lambda: "darwin/arm64")
    assert binaries.release_urls("etcd") == {}
    with pytest.raises(KubelabError, match="no verifiable release download for darwin"):
        binaries.fetch_release("etcd")


def test_the_control_plane_is_never_downloaded(tmp_path, monkeypatch):
    """kube-apiserver, controller-manager, scheduler and kwok are one program built here:
    separate release binaries would share no pages (see gobuild.build_control_plane)."""
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_TRUST_PUBLISHED_CHECKSUMS", "1")
    for plat in versions.DOWNLOAD_PLATFORMS:
        for group in ("kubernetes", "kwok", "control-plane"):
            assert binaries.release_urls(group, plat) == {}
    with pytest.raises(KubelabError) as e:
        binaries.find("kube-apiserver", build=False, download=True)
    assert "not in the cache" in e.value.problem and "download:" not in e.value.problem
    names = gobuild.CONTROL_PLANE_COMMANDS
    assert {binaries.COMPONENTS[n].cache.parent for n in names} == \
        {binaries.group_dir("control-plane", binaries.control_plane_version())}
    assert all(binaries.COMPONENTS[n].build_group == "control-plane" for n in names)
    assert binaries.COMPONENTS["etcd"].build_group == "etcd"


def test_the_control_plane_cache_key_follows_versions_and_the_dispatching_main():
    key = binaries.control_plane_version()
    assert versions.KUBERNETES in key and versions.KWOK in key
    assert key.endswith(gobuild.control_plane_digest())
    assert re.fullmatch(r"[0-9a-f]{8}", gobuild.control_plane_digest())


def test_pinned_digests_are_well_formed_and_current():
    """Every pin is a sha256 of a file kubelab downloads at today's versions (a version bump
    leaves old pins behind: they must go, and the new files be pinned)."""
    wanted = {key for plat in versions.DOWNLOAD_PLATFORMS
              for _, _, key in binaries.release_urls("etcd", plat).values()}
    assert len(wanted) == len(versions.DOWNLOAD_PLATFORMS)
    assert set(versions.RELEASE_SHA256) <= wanted, set(versions.RELEASE_SHA256) - wanted
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in versions.RELEASE_SHA256.values())


def test_unreachable_download_says_so_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBELAB_ETCD_RELEASE_URL", "http://127.0.0.1:9")   # discard port
    monkeypatch.setenv("KUBELAB_TRUST_PUBLISHED_CHECKSUMS", "1")
    with pytest.raises(KubelabError) as e:
        binaries.find("etcd", build=False, download=True)
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
