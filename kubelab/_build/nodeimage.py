"""A kind node image built here, for machines that cannot pull `kindest/node`.

It holds what kind's own node image holds, from the same pinned sources as every other
kubelab binary: a Debian base with systemd (debootstrap), containerd 2, Debian's runc,
crictl and the CNI plugins; kubelet, kubeadm and kubectl of the pinned Kubernetes; and
the control-plane images (kube-apiserver, kube-controller-manager, kube-scheduler,
kube-proxy, etcd, CoreDNS, pause) already in the node's containerd, so kubeadm pulls
nothing. An unchanged kind accepts it (`kind create cluster --image ...`).

Why not `kind build node-image`: it pulls pause, etcd, CoreDNS and kindnetd from their
registries inside the build container (`ctr content fetch`), and no registry answers
here. This module does the same steps itself: binaries into /usr/bin, `/kind/version`,
images imported with the label kind uses (`io.cri-containerd.pinned=pinned`), and the
entrypoint `/usr/local/bin/entrypoint /sbin/init`.

kind's default CNI (kindnetd) is not in the image: its Go module is not served by the Go
module proxy. The kind backend wires pod routes itself instead (see `network.py`).

Both stages are cached by a key of their inputs, and each is written to a temporary
file first and renamed, so an interrupted build leaves nothing that looks finished.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries, gobuild, images, nodefiles
from kubelab._system.engine import docker_env
from kubelab._system.paths import cache_dir
from kubelab._system.run import run

Log = Callable[[str], None]

# What kind's base image installs that a node needs, as Debian packages.
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "conntrack", "iptables", "nftables",
                 "iproute2", "ethtool", "util-linux", "mount", "kmod", "libseccomp2",
                 "procps", "ca-certificates", "bash", "runc", "socat", "netbase",
                 # minikube provisions its nodes over SSH as a sudo user (kicbase.py)
                 "openssh-server", "sudo")
# systemd units a container node does not want (kind removes the same kind of wants).
DROP_WANTS = ("etc/systemd/system/multi-user.target.wants", "etc/systemd/system/getty.target.wants",
              "lib/systemd/system/multi-user.target.wants", "lib/systemd/system/local-fs.target.wants",
              "lib/systemd/system/sockets.target.wants/systemd-udevd-control.socket",
              "lib/systemd/system/sockets.target.wants/systemd-udevd-kernel.socket",
              "lib/systemd/system/sysinit.target.wants/systemd-udevd.service",
              "lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service")
# Bump when the way the image is assembled here changes; the node's files are hashed.
LAYOUT = 3       # 3: the control plane's images share the one multi-call program


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()


def base_key() -> str:
    return digest(versions.DEBIAN_SUITE, *BASE_PACKAGES, *DROP_WANTS)[:12]


def node_key() -> str:
    """Changes with every pinned version, the node's files and LAYOUT."""
    pins = [versions.KUBERNETES, versions.ETCD, versions.CONTAINERD, versions.CNI_PLUGINS,
            versions.CRI_TOOLS, versions.COREDNS, versions.PAUSE, str(LAYOUT),
            # the programs' cache keys carry their build recipes (module graph, plugin set)
            *(version for version, _ in binaries.NODE_GROUPS.values()),
            *(version for version, _ in binaries.KIND_GROUPS.values()),
            binaries.control_plane_version()]
    files = [f"{path}:{mode}:{text}" for path, (text, mode) in sorted(nodefiles.FILES.items())]
    return digest(base_key(), *pins, *files, *nodefiles.ENABLED_UNITS)[:12]


def image_tag() -> str:
    return f"kubelab/kind-node:{versions.KUBERNETES}-{node_key()[:8]}"


def image_dir() -> Path:
    path = cache_dir() / "kind"
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_tarball() -> Path:
    return image_dir() / f"base-{versions.DEBIAN_SUITE}-{base_key()}.tar"


def node_tarball() -> Path:
    return image_dir() / f"node-{versions.KUBERNETES}-{node_key()}.tar"


def clear_interrupted(log: Log = print) -> int:
    """Remove what an interrupted build left (its temporary directories: a finished stage
    appears only by rename), so the next build starts that stage again cleanly."""
    left = [p for p in image_dir().glob(".*-*") if p.is_dir()
            and p.name.split("-")[0] in (".base", ".node", ".kicbase")]
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    if left:
        log(tr("removed {count} half-built stage(s) of an interrupted build", count=len(left)))
    return len(left)


def debian_mirror() -> str:
    """KUBELAB_DEBIAN_MIRROR, else the mirror apt already uses, else Debian's CDN."""
    if os.environ.get("KUBELAB_DEBIAN_MIRROR"):
        return os.environ["KUBELAB_DEBIAN_MIRROR"]
    texts = []
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            texts.append(f.read_text())
        except OSError:
            pass
    for text in texts:
        for m in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+/debian)/?\s",
                             text, re.MULTILINE):
            return m.group(1)
    return "http://deb.debian.org/debian"


def run_step(argv: list[str], what: str, log: Log, timeout: float = 900, **kw: object) -> str:
    """Run one build step, printing what it is and a line every 30 s while it runs."""
    log(f"{what} ...")
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **kw)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        reader.join(timeout=30)
        elapsed = time.monotonic() - start
        if proc.poll() is None:
            if elapsed > timeout:
                proc.kill()
                raise KubelabError(tr("{what} took longer than {seconds:.0f} s and was "
                                      "stopped.", what=what, seconds=timeout),
                                   tr("run `kubelab build --kind` again: it restarts "
                                      "cleanly."))
            if elapsed >= 29:
                log(tr("  ... {what}: still running ({seconds:.0f} s)", what=what,
                       seconds=elapsed))
    reader.join()
    if proc.returncode != 0:
        tail = "".join(out)[-1500:]
        raise KubelabError(tr("{what} failed (exit {code}):\n{tail}", what=what,
                              code=proc.returncode, tail=tail),
                           tr("run `kubelab build --kind` again; if it repeats, check the "
                              "output above (a Debian mirror or Go module that did not "
                              "answer)."))
    return "".join(out)


def build_base(log: Log) -> Path:
    """Debian with systemd and the node's packages, as a tar of its root file system."""
    final = base_tarball()
    if final.is_file():
        return final
    clear_interrupted(log)
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise KubelabError(tr("building a kind node image needs root and debootstrap."),
                           tr("apt-get install debootstrap, and run `sudo kubelab build "
                              "--kind`."))
    with tempfile.TemporaryDirectory(prefix=".base-", dir=image_dir()) as tmp:
        root = Path(tmp) / "rootfs"
        run_step(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                  versions.DEBIAN_SUITE, str(root), debian_mirror()],
                 tr("Debian {suite} with systemd (debootstrap, about 2 min)",
                    suite=versions.DEBIAN_SUITE), log)
        for rel in DROP_WANTS:
            target = root / rel
            if target.is_dir():
                for f in target.iterdir():
                    f.unlink()
            elif target.is_symlink() or target.exists():
                target.unlink()
        with (root / "etc/systemd/journald.conf").open("a") as f:
            f.write("ReadKMsg=no\n")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in (root / junk).glob("*"):
                if f.is_file():
                    f.unlink()
        (root / "etc/machine-id").write_text("")        # each node makes its own
        partial = Path(tmp) / "base.tar"
        run_step(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."],
                 tr("packing the base"), log)
        partial.rename(final)
    for old in image_dir().glob(f"base-{versions.DEBIAN_SUITE}-*.tar"):   # earlier bases
        if old != final:
            old.unlink()
    return final


def iptables_files(root: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Debian's iptables (nf_tables backend, as in the node) and what it loads, for the
    kube-proxy image: the binary, its libraries and its extensions."""
    multi = "/usr/sbin/xtables-nft-multi"
    extensions = sorted((root / "usr/lib/x86_64-linux-gnu/xtables").glob("*.so"))
    inside = [multi] + ["/" + str(e.relative_to(root)) for e in extensions]
    # the extensions load libraries of their own (libxt_statistic needs libm, ...)
    out = run(["chroot", str(root), "ldd", *inside], 60).stdout
    libs = set(re.findall(r"=> (/\S+)", out)) | set(re.findall(r"^\s*(/\S+ld-linux\S*)", out,
                                                                re.MULTILINE))
    files = {path: (root / path.lstrip("/")).resolve() for path in inside}
    for lib in libs:
        files[lib] = (root / lib.lstrip("/")).resolve()
    for etc in ("etc/protocols", "etc/ethertypes"):
        if (root / etc).is_file():
            files["/" + etc] = root / etc
    links = {f"/usr/sbin/{name}": "xtables-nft-multi" for name in (
        "iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save",
        "ip6tables-restore", "iptables-nft", "iptables-nft-save", "iptables-nft-restore",
        "ip6tables-nft", "ip6tables-nft-save", "ip6tables-nft-restore")}
    return files, links


def control_plane_images(root: Path, progs: dict[str, Path], control: dict[str, Path],
                         etcd_image: str = versions.KIND_NODE_IMAGES["etcd"]
                         ) -> list[images.Image]:
    """What kubeadm runs as static pods and DaemonSets, under the names it pulls.

    kube-apiserver, kube-controller-manager and kube-scheduler are the sandbox's one
    multi-call program (gobuild.build_control_plane), linked under each name. Their three
    images hold the same single layer (same files, same links: equal digests), so the
    node's containerd stores and unpacks it once, and the three static pods run one file
    whose code pages they share; no second build of the upstream programs is needed."""
    out = []
    program = f"/usr/local/bin/{gobuild.CONTROL_PLANE_PROGRAM}"
    shared_links = {f"/usr/local/bin/{name}": gobuild.CONTROL_PLANE_PROGRAM
                    for name in gobuild.CONTROL_PLANE_KUBERNETES}
    for name in gobuild.CONTROL_PLANE_KUBERNETES:
        out.append(images.Image(versions.KIND_NODE_IMAGES[name],
                                {program: control["control-plane"]}, links=shared_links,
                                entrypoint=[f"/usr/local/bin/{name}"]))
    ipt_files, ipt_links = iptables_files(root)
    out.append(images.Image(versions.KIND_NODE_IMAGES["kube-proxy"],
                            {"/usr/local/bin/kube-proxy": progs["kube-proxy"], **ipt_files},
                            links=ipt_links))
    out.append(images.Image(etcd_image, {"/usr/local/bin/etcd": control["etcd"]}))
    wanted = {versions.NODE_IMAGES["pause"], versions.NODE_IMAGES["coredns"]}
    out += [i for i in images.workbook_images(progs) if i.name in wanted]
    return out


def _preload(root: Path, work: Path, built: list[images.Image], progs: dict[str, Path],
             log: Log) -> None:
    """Import the images into the node's own containerd store (/var/lib/containerd), with
    a private containerd run here for the purpose, as kind's build does in its container."""
    sock = work / "containerd.sock"
    config = work / "containerd.toml"
    config.write_text(f"""version = 3
root = "{root / 'var/lib/containerd'}"
state = "{work / 'state'}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
                    "io.containerd.cri.v1.images", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
""")
    logfile = open(work / "containerd.log", "wb")
    daemon = subprocess.Popen([str(progs["containerd"]), "--config", str(config)],
                              stdout=logfile, stderr=logfile, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise KubelabError(tr("a private containerd for loading the node's images "
                                      "did not start:\n{log}",
                                      log=(work / "containerd.log").read_text()[-800:]),
                                   tr("run `kubelab build --kind` again."))
            time.sleep(0.2)
        for image in built:
            log(tr("  loading {image} into the node's containerd", image=image.name))
            proc = subprocess.run([str(progs["ctr"]), "--address", str(sock), "--namespace",
                                   "k8s.io", "images", "import", "--no-unpack",
                                   "--label=io.cri-containerd.pinned=pinned", "-"],
                                  input=images.oci_archive(image), capture_output=True,
                                  timeout=300)
            if proc.returncode != 0:
                raise KubelabError(tr("containerd refused {image}: {error}", image=image.name,
                                      error=proc.stderr.decode(errors="replace")[-400:]),
                                   tr("run `kubelab build --kind` again."))
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def programs() -> tuple[dict[str, Path], dict[str, Path]]:
    """The node's programs, and the control plane's: the multi-call program and etcd
    (all cached by version)."""
    progs = binaries.node_programs()
    for group in binaries.KIND_GROUPS:
        where = binaries.node_group(group)
        progs.update({n: where / n for n in binaries.KIND_GROUPS[group][1]})
    return progs, {"control-plane": binaries.control_plane_program(),
                   "etcd": binaries.find("etcd")}


def build_node(log: Log) -> Path:
    """The node's root file system as a tar (cached by node_key())."""
    progs, control = programs()
    placed = {"usr/bin": ("kubelet", "kubeadm", "kubectl"), **RUNTIME_PLACES}
    return assemble(node_tarball(), "node", placed, nodefiles.FILES, nodefiles.ENABLED_UNITS,
                    lambda root: control_plane_images(root, progs, control), progs, log,
                    extra_dirs=("kind/manifests",))


# Where the container runtime's programs go in every node image built here.
RUNTIME_PLACES = {"usr/local/bin": ("containerd", "containerd-shim-runc-v2", "ctr", "crictl"),
                  "opt/cni/bin": ("bridge", "host-local", "loopback", "portmap")}


def assemble(final: Path, stage: str, placed: dict[str, tuple[str, ...]],
             files: dict[str, tuple[str, int]], units: tuple[str, ...],
             images_for: Callable[[Path], list[images.Image]], progs: dict[str, Path],
             log: Log, extra_dirs: tuple[str, ...] = (),
             customize: Callable[[Path], None] | None = None) -> Path:
    """A node image on the shared base: programs placed, files written, units enabled,
    images preloaded into its containerd; packed to `final` (written last, by rename)."""
    if final.is_file():
        return final
    base = build_base(log)
    clear_interrupted(log)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".{stage}-", dir=image_dir()) as tmp:
        work = Path(tmp)
        root = work / "rootfs"
        root.mkdir()
        run_step(["tar", "-C", str(root), "--numeric-owner", "-xpf", str(base)],
                 tr("unpacking the base"), log)
        for where, names in placed.items():
            (root / where).mkdir(parents=True, exist_ok=True)
            for name in names:
                shutil.copy2(progs[name], root / where / name)
                (root / where / name).chmod(0o755)
        for rel, (text, mode) in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(mode)
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        for unit in units:
            link = wants / unit
            if not link.is_symlink():
                target = (f"/etc/systemd/system/{unit}"
                          if (root / "etc/systemd/system" / unit).exists()
                          else f"/lib/systemd/system/{unit}")
                link.symlink_to(target)
        for d in ("etc/kubernetes/manifests", "etc/cni/net.d", "var/lib/containerd",
                  *extra_dirs):
            (root / d).mkdir(parents=True, exist_ok=True)
        if customize:
            customize(root)
        _preload(root, work, images_for(root), progs, log)
        partial = work / f"{stage}.tar"
        run_step(["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."],
                 tr("packing the {stage} image", stage=stage), log)
        partial.rename(final)
    prefix = final.name.split("-")[0]
    for old in image_dir().glob(f"{prefix}-*.tar"):     # earlier versions: only the cache grows
        if old != final:
            old.unlink()
    log(tr("{stage} image assembled in {seconds:.0f} s -> {file}", stage=stage,
           seconds=time.monotonic() - start, file=final.name))
    return final


def image_present(tag: str) -> bool:
    return run(["docker", "image", "inspect", tag], 60, env=docker_env()).returncode == 0


def import_image(tarball: Path, tag: str, log: Log) -> str:
    """The image `tag` in the Docker engine, imported from `tarball` if missing; earlier
    tags of the same repository are removed."""
    env = docker_env()
    if image_present(tag):
        return tag
    # (`docker import` takes no STOPSIGNAL; kind and minikube delete nodes with `docker rm -f`)
    run_step(["docker", "import",
              "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
              "--change", "ENV container=docker", str(tarball), tag],
             tr("importing the node image into Docker as {tag}", tag=tag), log, env=env)
    listed = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}",
                  tag.split(":")[0]], 60, env=env).stdout
    stale = [t for t in listed.split() if t != tag]
    if stale:                                # images of earlier kubelab versions
        run(["docker", "rmi", *stale], 120, env=env)
    return tag


def ensure_image(log: Log = print) -> str:
    """The node image in the Docker engine, built or imported if missing; its tag."""
    tag = image_tag()
    return tag if image_present(tag) else import_image(build_node(log), tag, log)
