"""kind: each node is a Docker container; kubelab's cluster is named `kubelab`.

Node image: kind v0.32.0's own default (pinned by digest) on a machine that can pull it;
where nothing can be pulled, the image `kubelab build --kind` built here from the same
pinned sources as everything else (nodeimage.py), used whenever it is in the cache.

`up` also installs what the services and ingress chapters need, as on the local backend:
MetalLB's controller (LoadBalancer addresses from the kind network) and Traefik (the
Ingress controller, default IngressClass), with the chapters' images loaded into the
nodes. `down` deletes the cluster and the route kubelab added; a kind cluster of the same
name that kubelab did not create is never touched.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import yaml

from kubelab._backends.base import Backend, Options, register
from kubelab._backends.docker_nodes import addons, network
from kubelab._backends.docker_nodes import nodes as docker_nodes
from kubelab._base import versions
from kubelab._base.errors import BackendUnavailable, KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._build import binaries, images, nodeimage
from kubelab._cluster.cluster import Cluster
from kubelab._system.engine import docker_env, require
from kubelab._system.net import port_free
from kubelab._system.paths import lab_kubeconfig, state_dir
from kubelab._system.run import run, run_logged

NAME = "kubelab"
CONTEXT = f"kind-{NAME}"
# Host ports on 127.0.0.1 for the Ingress controller (80/443 in the node) and one
# NodePort the services chapter uses. Unprivileged host ports: no root, fewer clashes.
PORT_MAPPINGS = [(80, 8080), (443, 8443), (30080, 30080)]
OWNER_FILE = "kind-owner.json"
Log = Callable[[str], None]


def kind_binary() -> str:
    """kind on PATH, else the one `kubelab build --kind` built."""
    found = shutil.which("kind")
    if found:
        return found
    try:
        return str(binaries.node_group("kind", build=False) / "kind")
    except KubelabError:
        raise BackendUnavailable(tr("kind is not installed."),
                                 tr("install kind {version} (`go install "
                                    "sigs.k8s.io/kind@{version}`), or run "
                                    "`kubelab build --kind`.", version=versions.KIND)) from None


def built_image_available() -> bool:
    return nodeimage.node_tarball().is_file()


def node_image() -> str:
    """The node image `up` uses: KUBELAB_KIND_IMAGE, else the one built here, else
    kind's pinned upstream image."""
    return (os.environ.get("KUBELAB_KIND_IMAGE")
            or (nodeimage.image_tag() if built_image_available() else versions.KIND_NODE_IMAGE))


def uses_built_image(image: str) -> bool:
    return image.startswith("kubelab/kind-node:")


def config(nodes: int = 1, built: bool = False) -> dict:
    """A kind Cluster config: the control plane carries `ingress-ready=true` and the port
    mappings kind's Ingress guide uses; extra nodes are workers.

    Every node's kubelet gets `failCgroupV1: false`: Kubernetes 1.35+ refuses cgroup v1
    otherwise (kind's nodes run kubeadm with its preflight checks skipped). With the image
    built here, kubeadm runs the etcd kubelab pins, the kubelet uses the cgroupfs driver
    (as the image's containerd does), and no default CNI is installed (kindnetd cannot be
    built here; `network.py` routes pods instead)."""
    patches = ["kind: KubeletConfiguration\nfailCgroupV1: false\n"]
    if built:
        patches = ["kind: KubeletConfiguration\nfailCgroupV1: false\ncgroupDriver: cgroupfs\n",
                   "kind: ClusterConfiguration\netcd:\n  local:\n"
                   f"    imageTag: {versions.ETCD_IMAGE_TAG}\n"]
    control_plane = {
        "role": "control-plane",
        "labels": {"ingress-ready": "true"},
        "extraPortMappings": [{"containerPort": c, "hostPort": h, "listenAddress": "127.0.0.1",
                               "protocol": "TCP"} for c, h in PORT_MAPPINGS],
    }
    out = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
           "kubeadmConfigPatches": patches,
           "nodes": [control_plane] + [{"role": "worker"}] * (nodes - 1)}
    if built:
        out["networking"] = {"disableDefaultCNI": True}
    return out


def config_path(nodes: int, built: bool) -> Path:
    path = state_dir() / "kind-config.yaml"
    path.write_text(yaml.safe_dump(config(nodes, built), sort_keys=False))
    return path


def create_argv(nodes: int = 1, image: str | None = None) -> list[str]:
    image = image or node_image()
    return [kind_binary(), "create", "cluster", "--name", NAME, "--image", image,
            "--config", str(config_path(nodes, uses_built_image(image))),
            "--kubeconfig", str(lab_kubeconfig()), "--wait", "0s"]


def delete_argv() -> list[str]:
    return [kind_binary(), "delete", "cluster", "--name", NAME,
            "--kubeconfig", str(lab_kubeconfig())]


def available() -> tuple[bool, str]:
    return docker_nodes.available(kind_binary)


def existing_clusters() -> list[str]:
    proc = run([kind_binary(), "get", "clusters"], 60, env=docker_env())
    return proc.stdout.split() if proc.returncode == 0 else []


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    return not port_free(port, host)


def preflight() -> None:
    """Each problem as one message with its fix, before anything is created."""
    kind_binary()
    why = require("kind")
    major = int(why.split(".")[0]) if why.split(".")[0].isdigit() else 0
    if major and major < 20:
        raise BackendUnavailable(tr("Docker engine {version} is too old for kind (20.10 or "
                                    "newer is needed: nodes use --cgroupns=private).",
                                    version=why),
                                 tr("upgrade Docker."))
    if NAME in existing_clusters() and not _owned():
        raise BackendUnavailable(
            tr("a kind cluster named {name!r} exists, and kubelab did not create it.",
               name=NAME),
            tr("kubelab leaves it alone: delete it yourself (`kind delete cluster --name "
               "{name}`) if it is yours to delete, or use `kubelab up --backend existing "
               "--context kind-{name}` to use it as it is.", name=NAME))
    for _, host_port in PORT_MAPPINGS:
        if port_taken(host_port):
            raise BackendUnavailable(tr("port {port} on 127.0.0.1 is taken; the kind "
                                        "cluster maps its Ingress and a NodePort there.",
                                        port=host_port),
                                     tr("stop what listens there (`ss -ltnp 'sport = "
                                        ":{port}'`), then run `kubelab up --backend kind` "
                                        "again.", port=host_port))


def _owned() -> bool:
    return (state_dir() / OWNER_FILE).is_file()


def network_exists(name: str = "kind") -> bool:
    return docker_nodes.network_exists(name)


def _remove_network_if_ours(log: Log, name: str = "kind") -> None:
    """kind leaves its Docker network behind; remove it when `up` created it and nothing
    else uses it (its bridge and route go with it)."""
    try:
        owner = json.loads((state_dir() / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return
    if owner.get("network_existed", True):
        return
    docker_nodes.remove_network(name, log, who=tr("kind had created"))


def _run(argv: list[str], what: str, log: Log, timeout: float) -> None:
    """Run kind, passing its progress lines through as they come, bounded by `timeout`."""
    run_logged(argv, timeout, what=what, log=log, env=docker_env(), fix=lambda output: (
        tr("this machine cannot pull kind's node image: build one here with `kubelab build "
           "--kind` (Linux, root), then `kubelab up --backend kind` again.")
        if "failed to pull image" in output else
        tr("read kind's output above; `kubelab doctor` checks Docker.")))


def up(nodes: int, log: Log = print, **_: object) -> Cluster:
    preflight()
    image = node_image()
    built = uses_built_image(image)
    if built:
        image = nodeimage.ensure_image(log)
    start = time.monotonic()
    (state_dir() / OWNER_FILE).write_text(json.dumps(
        {"name": NAME, "image": image, "network_existed": network_exists()}))
    cluster = Cluster(backend="kind", kubeconfig=str(lab_kubeconfig()), context=CONTEXT,
                      created_by_kubelab=True, name=NAME,
                      details={"nodes": nodes, "image": image})
    try:
        log(tr("creating kind cluster {name!r}: {nodes} node(s) from {image}", name=NAME,
               nodes=nodes, image=image))
        _run(create_argv(nodes, image), "kind create cluster", log, timeout=900)
        cluster.save()
        if built:
            network.wire(cluster, log)
        docker_nodes.wait_ready(cluster, nodes, log, what=N_("the kind nodes"))
        cluster.details.update(addons.install(
            cluster, log, network_name="kind", control_plane=f"{NAME}-control-plane",
            load=lambda: load_images(NAME, log)))
        cluster.details["up_seconds"] = round(time.monotonic() - start, 1)
        cluster.save()
        log(tr("kind cluster ready in {seconds} s", seconds=cluster.details["up_seconds"]))
        return cluster
    except BaseException:
        log(tr("the kind cluster did not come up; deleting what was created"))
        down(cluster, log=lambda m: None)
        raise


def load_images(name: str, log: Log) -> int:
    """`kind load image-archive` of the chapters' and add-ons' images built here."""
    progs = binaries.node_programs(build=False)
    wanted = [i for i in images.workbook_images(progs)
              if "pause" not in i.name and "coredns" not in i.name]
    with tempfile.TemporaryDirectory(prefix="kubelab-kind-images-") as tmp:
        for image in wanted:
            archive = Path(tmp) / "image.tar"
            archive.write_bytes(images.oci_archive(image))
            log(tr("loading {image} into the nodes", image=image.name))
            proc = run([kind_binary(), "load", "image-archive", str(archive), "--name", name],
                       300, env=docker_env())
            if proc.returncode != 0:
                raise KubelabError(tr("kind could not load {image}: {error}",
                                      image=image.name, error=proc.stderr.strip()),
                                   tr("run `kubelab down`, then `kubelab up --backend "
                                      "kind`."))
    return len(wanted)


def down(cluster: Cluster, log: Log = print) -> None:
    if not _owned():
        log(tr("kind cluster {name!r} was not created by kubelab: left as it is",
               name=NAME))
        return
    network.unroute(cluster, NAME)
    _run(delete_argv(), "kind delete cluster", log, timeout=300)
    _remove_network_if_ours(log)
    (state_dir() / OWNER_FILE).unlink(missing_ok=True)


class Kind(Backend):
    name = "kind"
    auto_rank = 1
    summary = "kind: each node a Docker container (3 by default); MetalLB and Traefik added"
    # on Linux the kind network is this machine's own bridge: node addresses answer here
    # (a cluster that cannot route its LoadBalancer range records the feature missing)
    features = frozenset({"containers", "kind", "cluster-admin"}
                         | ({"host-network"} if sys.platform == "linux" else set()))
    fix = N_("install Docker and kind (or `kubelab build --kind`); on Linux as root without "
             "Docker: apt-get install docker.io, then `kubelab engine start`")
    default_nodes = 3                 # a control plane and two workers

    def available(self) -> tuple[bool, str]:
        return available()

    def up(self, options: Options) -> Cluster:
        return up(nodes=options.nodes, log=options.log)

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster, log=log)

    def node_containers(self) -> dict[str, str]:
        return docker_nodes.containers(f"io.x-k8s.kind.cluster={NAME}")


register(Kind())
