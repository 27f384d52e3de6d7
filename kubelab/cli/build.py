"""`kubelab build`: fetch or build the pinned binaries (and, when asked, the node programs
and images) into the cache, and say where each one is."""
from __future__ import annotations

import argparse
import sys

from kubelab._base import versions
from kubelab._base.i18n import N_, tr
from kubelab._build import binaries
from kubelab.cli.common import command

EXAMPLES = {
    "build": "kubelab build --node",
}


def cmd_build(args: argparse.Namespace) -> int:
    """Get every sandbox binary into the cache (download, else build) and list them;
    with --node, also the local backend's node programs (always built from source)."""
    import time
    for name, path in binaries.find_all().items():
        print(f"{name:>24}  {binaries.COMPONENTS[name].version:>8}  {path}")
    from kubelab._build import gateway  # chapter 07's Gateway API CRDs, from their Go module
    crds = gateway.crd_files(log=lambda m: print(f"[kubelab build gateway-api] {m}",
                                                 file=sys.stderr, flush=True))
    print(f"{tr('gateway-api CRDs'):>24}  {versions.GATEWAY_API:>8}  {crds[0].parent}")
    groups = {}
    if args.node or args.kind or args.minikube:
        groups.update(binaries.NODE_GROUPS)
    if args.kind or args.minikube:
        groups.update(binaries.KIND_GROUPS)
    if args.minikube:
        groups.update(binaries.MINIKUBE_GROUPS)
    if groups:
        for group, (version, names) in groups.items():
            start = time.monotonic()
            where = binaries.node_group(group)
            print(f"{group:>24}  {version:>8}  {where}  ({', '.join(names)}; "
                  f"{time.monotonic() - start:.0f} s)")
    from kubelab._build import kicbase, nodeimage
    images = ((args.kind, "kind", N_("kind node image"), versions.KUBERNETES,
               nodeimage.build_node, nodeimage.image_tag),
              (args.minikube, "minikube", N_("minikube node image"), versions.MINIKUBE,
               kicbase.build, kicbase.image_tag))
    for wanted, log_name, what, version, build, tag in images:
        if not wanted:
            continue
        start = time.monotonic()
        tarball = build(lambda m, n=log_name: print(f"[kubelab build {n}] {m}",
                                                    file=sys.stderr, flush=True))
        print(f"{tr(what):>24}  {version:>8}  {tarball}  "
              f"({tag()}; {time.monotonic() - start:.0f} s)")
    return 0



def register_build(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    bd = command(sub, EXAMPLES, "build",
                 "fetch or build the pinned sandbox binaries into the cache")
    bd.add_argument("--node", action="store_true",
                    help="also build the local backend's node (containerd, kubelet, ...)")
    bd.add_argument("--kind", action="store_true",
                    help="also build kind and a kind node image (Linux, root, debootstrap)")
    bd.add_argument("--minikube", action="store_true",
                    help="also build minikube and its node image (Linux, root, debootstrap)")
    bd.set_defaults(run=cmd_build)


VERBS = {"build": register_build}
