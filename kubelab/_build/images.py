"""Container images written here, as OCI archives, since no registry can be reached.

Each image carries the name and tag users pull (the chapters read the same everywhere) and
is built from binaries of the same version: agnhost and pause from the pinned Kubernetes
source, CoreDNS, MetalLB and Traefik from their Go modules, busybox from Debian's busybox-static.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._system.run import run

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Image:
    name: str                                  # e.g. registry.k8s.io/pause:3.10.2
    files: dict[str, Path | bytes]             # path in the image -> file or content
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)   # symlink path -> target
    user: str = ""


def _layer(image: Image) -> bytes:
    """One reproducible layer: fixed owners and times, so equal inputs give equal digests."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        entries = sorted(set(image.files) | set(image.links))

        def add_dirs(path: str) -> None:
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)

        for path in entries:
            add_dirs(path)
            info = tarfile.TarInfo(path.strip("/"))
            if path in image.links:
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, image.links[path], 0o777
                tar.addfile(info)
                continue
            src = image.files[path]
            data = src.read_bytes() if isinstance(src, Path) else src
            executable = isinstance(src, Path) and src.stat().st_mode & 0o111
            info.size, info.mode = len(data), 0o755 if executable else 0o644
            tar.addfile(info, io.BytesIO(data))
        for d in ("tmp", "etc", "proc", "sys", "dev", "root"):
            if d not in dirs:
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
                tar.addfile(info)
    return buf.getvalue()


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def oci_archive(image: Image) -> bytes:
    """An OCI image layout in a tar, as `ctr images import` reads it."""
    layer = _layer(image)
    diff_id, _ = _blob(layer)
    layer_gz = gzip.compress(layer, compresslevel=6, mtime=0)
    layer_digest, _ = _blob(layer_gz)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": [PATH_ENV], "Entrypoint": image.entrypoint or None,
                         "Cmd": image.cmd or None, "User": image.user,
                         "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": [diff_id]},
              # the module's first path, kept so that every image keeps its digest
              "history": [{"created_by": "kubelab (kubelab/node/images.py)"}]}
    config_digest, config_bytes = _blob(json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": len(config_bytes)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": layer_digest, "size": len(layer_gz)}]}
    manifest_digest, manifest_bytes = _blob(json.dumps(manifest, sort_keys=True).encode())
    tag = image.name.rsplit(":", 1)[1]
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": manifest["mediaType"], "digest": manifest_digest,
                            "size": len(manifest_bytes),
                            "platform": {"architecture": "amd64", "os": "linux"},
                            "annotations": {"io.containerd.image.name": image.name,
                                            "org.opencontainers.image.ref.name": tag}}]}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        def put(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        put("index.json", json.dumps(index).encode())
        for digest, data in ((config_digest, config_bytes), (manifest_digest, manifest_bytes),
                             (layer_digest, layer_gz)):
            put("blobs/sha256/" + digest.split(":")[1], data)
    return out.getvalue()


def busybox_links(busybox: Path) -> dict[str, str]:
    """Every applet as a link to /bin/busybox, like the busybox image."""
    out = run([str(busybox), "--list-full"], 30, check=True).stdout.split()
    return {"/" + applet: "/bin/busybox" for applet in out if applet != "bin/busybox"}


def import_image(ctr: Path, address: str, archive: bytes, name: str) -> None:
    proc = subprocess.run([str(ctr), "--address", address, "--namespace", "k8s.io",
                           "images", "import", "-"],
                          input=archive, capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise KubelabError(tr("containerd refused the image {name}: {error}", name=name,
                              error=proc.stderr.decode(errors="replace").strip()[-400:]),
                           tr("run `kubelab down` and `kubelab up --backend local` again; "
                              "if it repeats, see `kubelab doctor`."))


def workbook_images(progs: dict[str, Path]) -> list[Image]:
    """The chapters' images and the add-ons' (CoreDNS, MetalLB, Traefik), from the node
    programs (kubelab/binaries.py). The local backend imports them into its containerd;
    the kind backend loads them into its nodes."""
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    if not busybox.is_file():
        raise KubelabError(tr("busybox is not installed."), "apt-get install busybox-static")
    tools = {"/bin/busybox": busybox}
    links = busybox_links(busybox)
    v = versions
    return [
        Image(v.NODE_IMAGES["pause"], {"/pause": progs["pause"]}, entrypoint=["/pause"],
              user="65535:65535"),
        # agnhost's own image is alpine with shell tools; busybox gives the same commands.
        Image(v.IMAGES["agnhost"], {"/agnhost": progs["agnhost"], **tools},
              entrypoint=["/agnhost"], cmd=["pause"], links=links),
        Image(v.IMAGES["agnhost-prev"],
              {"/agnhost": progs[f"agnhost-{v.AGNHOST_PREV}"], **tools},
              entrypoint=["/agnhost"], cmd=["pause"], links=links),
        Image(v.IMAGES["busybox"], tools, cmd=["sh"], links=links),
        Image(v.NODE_IMAGES["coredns"], {"/coredns": progs["coredns"]},
              entrypoint=["/coredns"], user="65532:65532"),
        Image(v.NODE_IMAGES["traefik"], {"/usr/local/bin/traefik": progs["traefik"]},
              entrypoint=["/usr/local/bin/traefik"], user="65532:65532"),
        Image(v.NODE_IMAGES["metallb-controller"],
              {"/controller": progs["metallb-controller"]},
              entrypoint=["/controller"], user="65534:65534"),
    ]
