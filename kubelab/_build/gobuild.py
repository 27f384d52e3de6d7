"""Build the pinned control plane from source through the Go module proxy.

k8s.io/kubernetes cannot be `go install`ed: it requires its staging modules at v0.0.0 and
replaces them with local directories, which only works inside its own repository. A small
wrapper module that requires k8s.io/kubernetes and replaces each staging module with its
published v0.X.Y fixes that (the approach of scheduler-plugins and others). etcd's server
module has local replaces too, so it gets a wrapper of its own.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._system.paths import publish_dir
from kubelab._system.run import run

CONTROL_PLANE_KUBERNETES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
CONTROL_PLANE_COMMANDS = (*CONTROL_PLANE_KUBERNETES, "kwok")


def go_binary() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists()
                                else None)
    if not go:
        raise KubelabError(tr("Go is needed to build the control plane from source, and it "
                              "is not installed."),
                           tr("install Go 1.26 or newer (Debian golang, conda-forge go, or "
                              "go.dev), or provide the binaries through KUBELAB_*_BINARY."))
    return go


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CGO_ENABLED", "0")
    env.setdefault("GOTOOLCHAIN", "local")   # never download a toolchain unless told to
    # k8s.io/minikube has no entry in the checksum database (see versions.MINIKUBE)
    env["GONOSUMDB"] = ",".join(filter(None, [env.get("GONOSUMDB"), "k8s.io/minikube"]))
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -buildvcs=false -mod=mod").strip()
    return env


PROGRESS_EVERY = 30.0   # seconds between "still running" lines of a long go command


def _summary(args: list[str]) -> str:
    """`go build k8s.io/kubernetes/cmd/kube-apiserver -> kube-apiserver` rather than a
    screen of -ldflags: the package being built, and what it becomes."""
    if args[:1] == ["build"]:
        out = args[args.index("-o") + 1] if "-o" in args else ""
        return f"build {args[-1]}" + (f" -> {Path(out).name}" if out else "")
    return " ".join(a for a in args if len(a) < 80)


def run_go(args: list[str], cwd: Path, log, every: float | None = None,  # noqa: ANN001
           env: dict[str, str] | None = None) -> str:
    """Run `go ARGS`, saying what it does, and while it runs a line every `every` seconds
    (PROGRESS_EVERY): time so far and what Go last reported (a package compiled, a module
    downloaded), so a 5-minute compile is never silent. Returns its stdout."""
    import threading
    every = PROGRESS_EVERY if every is None else every
    verb = args[0] if args else ""
    # -v: Go names each package as it compiles it, which the progress lines report
    cmd = [go_binary(), *(["build", "-v", *args[1:]] if verb == "build" else args)]
    summary = _summary(args)
    log(f"$ go {summary}")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**_env(), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []
    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),
               threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)]
    for t in readers:
        t.start()
    while True:
        try:
            proc.wait(timeout=every)
            break
        except subprocess.TimeoutExpired:
            log(f"  ... go {summary}: {progress_note(err, time.monotonic() - start)}")
    for t in readers:
        t.join()
    seconds = time.monotonic() - start
    stderr = "".join(err)
    if proc.returncode != 0:
        # the compiler's own messages, not the package names `build -v` lists
        lines = stderr.strip().splitlines()
        errors = [ln for ln in lines if ln.startswith("#") or ":" in ln]
        tail = "\n".join((errors or lines)[-15:])
        raise KubelabError(tr("`go {args}` failed after {seconds:.0f} s:\n{tail}",
                              args=" ".join(args), seconds=seconds, tail=tail),
                           tr("check that the Go module proxy is reachable (GOPROXY) and Go "
                              "is 1.26 or newer."))
    if seconds >= 5:
        log(tr("  done in {seconds:.0f} s: go {summary}", seconds=seconds, summary=summary))
    return "".join(out)


def progress_note(stderr_lines: list[str], seconds: float) -> str:
    """'95 s so far; 412 packages compiled, last k8s.io/api/core/v1' from what Go has
    printed so far (`go build -v` names packages; `go mod` says `go: downloading M V`)."""
    lines = [line.strip() for line in list(stderr_lines) if line.strip()]
    packages = [line for line in lines if " " not in line and not line.startswith("#")]
    downloads = [line.split(" ", 2)[2] for line in lines if line.startswith("go: downloading ")]
    note = tr("{seconds:.0f} s so far", seconds=seconds)
    if packages:
        note += tr("; {count} packages compiled, last {package}", count=len(packages),
                   package=packages[-1])
    if downloads:
        note += tr("; {count} modules downloaded, last {module}", count=len(downloads),
                   module=downloads[-1])
    if not packages and not downloads:
        note += tr("; still running (Go prints nothing until it is done)")
    return note


def _module_gomod(module: str, version: str, cwd: Path, log) -> str:  # noqa: ANN001
    info = json.loads(run_go(["mod", "download", "-json", f"{module}@{version}"], cwd, log))
    return Path(info["GoMod"]).read_text()


def staging_modules(kubernetes_gomod: str) -> list[str]:
    """The modules k8s.io/kubernetes replaces with ./staging/src/... directories."""
    return sorted(set(re.findall(r"^\s*(\S+)\s*=>\s*\./staging/src/", kubernetes_gomod,
                                 re.MULTILINE)))


def godebug_lines(gomod: str) -> list[str]:
    """`godebug` settings only count in the main module, so the wrapper copies them."""
    single = re.findall(r"^godebug\s+([^(\s].*)$", gomod, re.MULTILINE)
    block = re.search(r"^godebug\s*\((.*?)^\)", gomod, re.MULTILINE | re.DOTALL)
    lines = [f"godebug {s.strip()}" for s in single]
    if block:
        lines += [f"godebug {s.strip()}" for s in block.group(1).splitlines() if s.strip()]
    return lines


def kubernetes_wrapper_gomod(kubernetes_gomod: str, kubernetes: str = versions.KUBERNETES) -> str:
    go_line = re.search(r"^go\s+(\S+)", kubernetes_gomod, re.MULTILINE)
    staging = "v0" + kubernetes[2:]
    lines = ["module kubelab.local/kubernetes-build", "",
             f"go {go_line.group(1) if go_line else '1.26'}", ""]
    lines += godebug_lines(kubernetes_gomod) + [""]
    lines += [f"require k8s.io/kubernetes {kubernetes}", "", "replace ("]
    lines += [f"\t{m} => {m} {staging}"
              for m in staging_modules(kubernetes_gomod)]
    lines += [")", ""]
    return "\n".join(lines)


def kubernetes_ldflags() -> str:
    """Stamp versions as hack/lib/version.sh does: kwokctl picks flags from `--version`,
    and an unstamped build reports v0.0.0."""
    v = versions.KUBERNETES
    major, minor = v.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.gitVersion={v}", f"-X {pkg}.gitMajor={major}",
                  f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean",
                  f"-X {pkg}.buildDate=1970-01-01T00:00:00Z"]
    return " ".join(flags)


def _tools_go(imports: list[str]) -> str:
    body = "\n".join(f'\t_ "{i}"' for i in imports)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{body}\n)\n"


def _prepare(work: Path, gomod: str, imports: list[str], log) -> None:  # noqa: ANN001
    (work / "go.mod").write_text(gomod)
    (work / "tools.go").write_text(_tools_go(imports))
    run_go(["mod", "tidy"], work, log)


CONTROL_PLANE_SOURCE = Path(__file__).with_name("gosrc") / "control-plane" / "main.go"
CONTROL_PLANE_PROGRAM = "kubelab-control-plane"


# Every program built from the pinned Kubernetes release, beside the control plane.
KUBERNETES_PACKAGES = {
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
    "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
    "kubeadm": "k8s.io/kubernetes/cmd/kubeadm",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "agnhost": "k8s.io/kubernetes/test/images/agnhost",
}
# Bump when the recipe of the one module graph changes: it is part of the cache keys.
GRAPH = "one-graph-1"
# Bump when the kubernetes-node group's recipe changes (2: the previous agnhost in the graph).
NODE_RECIPE = "2"


def control_plane_digest() -> str:
    """Part of the cache key: a change to the dispatching main or to the module graph's
    recipe builds anew."""
    import hashlib
    return hashlib.sha256(CONTROL_PLANE_SOURCE.read_bytes() + GRAPH.encode()).hexdigest()[:8]


def kubernetes_graph(work: Path, log) -> None:  # noqa: ANN001
    """The one module graph of everything built from the pinned Kubernetes release: the
    control plane (main.go, which imports kwok too) and the node's and kind's programs.
    Each build writes the same go.mod, main.go and tools.go and tidies them, so every
    build selects the same version of every dependency, and Go's build cache compiles a
    shared package (client-go, apimachinery, the API types, ...) once for all of them;
    with two graphs, kubelet's build compiled all of those again."""
    kwok = versions.GO_MODULES["kwok"]
    upstream = _module_gomod(versions.GO_MODULES["kubernetes"], versions.KUBERNETES, work, log)
    gomod = kubernetes_wrapper_gomod(upstream).replace(
        "module kubelab.local/kubernetes-build", "module kubelab.local/control-plane")
    (work / "go.mod").write_text(gomod + f"\nrequire {kwok} {versions.KWOK}\n")
    shutil.copyfile(CONTROL_PLANE_SOURCE, work / "main.go")
    (work / "tools.go").write_text(_tools_go(sorted(KUBERNETES_PACKAGES.values())))
    run_go(["mod", "tidy"], work, log)


def build_control_plane(out: Path, log) -> None:  # noqa: ANN001
    """kube-apiserver, kube-controller-manager, kube-scheduler and kwok as one multi-call
    program (gosrc/control-plane/main.go), linked under each name: four processes started
    from one file share its code pages, about 120 MB less for the sandbox than four
    programs. One module graph builds all four: kwok compiles against the pinned
    Kubernetes modules (it pins an older patch release of the same minor)."""
    kwok = versions.GO_MODULES["kwok"]
    with tempfile.TemporaryDirectory(prefix="kubelab-control-plane-") as tmp:
        work = Path(tmp)
        kubernetes_graph(work, log)
        ldflags = (f"{kubernetes_ldflags()} -X {kwok}/pkg/consts.Version={versions.KWOK} "
                   f"-X {kwok}/pkg/consts.KubeVersion={versions.KUBERNETES}")
        program = out / CONTROL_PLANE_PROGRAM
        run_go(["build", "-trimpath", "-ldflags", ldflags, "-o", str(program), "."], work, log)
        for name in CONTROL_PLANE_COMMANDS:
            os.link(program, out / name)


def build_etcd(out: Path, log, version: str = versions.ETCD) -> None:  # noqa: ANN001
    module = versions.GO_MODULES["etcd"]
    with tempfile.TemporaryDirectory(prefix="kubelab-etcd-") as tmp:
        work = Path(tmp)
        upstream = _module_gomod(module, version, work, log)
        go_line = re.search(r"^go\s+(\S+)", upstream, re.MULTILINE)
        gomod = (f"module kubelab.local/etcd-build\n\ngo {go_line.group(1) if go_line else '1.26'}"
                 f"\n\nrequire {module} {version}\n")
        _prepare(work, gomod, [module], log)
        run_go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "etcd"), module],
               work, log)


def build_kwokctl(out: Path, log) -> None:  # noqa: ANN001
    """kwokctl, which starts the sandbox's processes (kwok itself is in the control plane)."""
    module = versions.GO_MODULES["kwok"]
    ldflags = (f"-s -w -X {module}/pkg/consts.Version={versions.KWOK} "
               f"-X {module}/pkg/consts.KubeVersion={versions.KUBERNETES}")
    with tempfile.TemporaryDirectory(prefix="kubelab-kwok-") as tmp:
        work = Path(tmp)
        gomod = f"module kubelab.local/kwok-build\n\ngo 1.26\n\nrequire {module} {versions.KWOK}\n"
        _prepare(work, gomod, [f"{module}/cmd/kwokctl"], log)
        run_go(["build", "-trimpath", "-ldflags", ldflags, "-o", str(out / "kwokctl"),
                f"{module}/cmd/kwokctl"], work, log)


def _build_kubernetes_programs(programs: dict[str, tuple[str, str]], out: Path, log,  # noqa: ANN001
                               prepare: Callable[[Path], None] | None = None) -> None:
    """programs: output name -> (package, ldflags), built in the one module graph of the
    pinned Kubernetes release (kubernetes_graph); `prepare` adds sources to the work
    directory first."""
    with tempfile.TemporaryDirectory(prefix="kubelab-k8s-") as tmp:
        work = Path(tmp)
        kubernetes_graph(work, log)
        if prepare:
            prepare(work)
        for name, (pkg, ldflags) in programs.items():
            run_go(["build", "-trimpath", "-ldflags", ldflags, "-o", str(out / name), pkg],
                   work, log)


PREVIOUS_AGNHOST = "agnhost-prev"    # its source's directory in the work module


def previous_agnhost_source(work: Path, log) -> None:  # noqa: ANN001
    """agnhost's previous release (the "old version" of the chapters' rollouts) from its
    own source, test/images/agnhost of Kubernetes AGNHOST_PREV_KUBERNETES, placed in the
    work module and compiled in the pinned release's module graph. A module graph of its
    own for one test program took two minutes of a cold build, to compile client-go and
    the API types once more; its own packages are what make it that version."""
    info = json.loads(run_go(["mod", "download", "-json",
                              f"{versions.GO_MODULES['kubernetes']}@"
                              f"{versions.AGNHOST_PREV_KUBERNETES}"], work, log))
    dest = work / PREVIOUS_AGNHOST
    shutil.copytree(Path(info["Dir"]) / "test" / "images" / "agnhost", dest)
    own = f"{versions.GO_MODULES['kubernetes']}/test/images/agnhost/"
    for path in sorted(dest.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)      # the module cache is read-only
        if path.suffix == ".go":
            text = path.read_text()
            if own in text:
                path.write_text(text.replace(f'"{own}', f'"kubelab.local/control-plane/'
                                                        f'{PREVIOUS_AGNHOST}/'))


def build_kubernetes_node(out: Path, log) -> None:  # noqa: ANN001
    """kubelet and kube-proxy of the pinned release, and the images' agnhost binaries."""
    _build_kubernetes_programs({
        "kubelet": (KUBERNETES_PACKAGES["kubelet"], kubernetes_ldflags()),
        "kube-proxy": (KUBERNETES_PACKAGES["kube-proxy"], kubernetes_ldflags()),
        "agnhost": (KUBERNETES_PACKAGES["agnhost"], f"-s -w -X main.Version={versions.AGNHOST}"),
        f"agnhost-{versions.AGNHOST_PREV}": (f"./{PREVIOUS_AGNHOST}",
                                            f"-s -w -X main.Version={versions.AGNHOST_PREV}"),
    }, out, log, prepare=lambda work: previous_agnhost_source(work, log))
    _build_pause(out, log)


def build_kubernetes_kind(out: Path, log) -> None:  # noqa: ANN001
    """What a kind node image carries beside the kubelet, from the pinned release: kubeadm
    (sets the node up) and kubectl (kind applies manifests with it). The control plane's
    images carry the one multi-call program (build_control_plane), not a second build."""
    _build_kubernetes_programs({name: (KUBERNETES_PACKAGES[name], kubernetes_ldflags())
                                for name in ("kubeadm", "kubectl")}, out, log)


def _build_pause(out: Path, log) -> None:  # noqa: ANN001
    """The pause program is C in Kubernetes' build/pause; compiled as its Makefile does."""
    info = json.loads(run_go(["mod", "download", "-json",
                              f"{versions.GO_MODULES['kubernetes']}@{versions.KUBERNETES}"],
                             out, log))
    source = Path(info["Dir"]) / "build" / "pause" / "linux" / "pause.c"
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise KubelabError(tr("a C compiler is needed to build the pause program."),
                           tr("install gcc (Debian: apt-get install gcc libc6-dev)."))
    cmd = [cc, "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{versions.PAUSE}",
           "-o", str(out / "pause"), str(source)]
    log("$ cc -static pause.c")
    proc = run(cmd, 300)
    if proc.returncode != 0:
        raise KubelabError(tr("compiling pause failed:\n{error}", error=proc.stderr[-800:]),
                           tr("install libc6-dev (static glibc) beside gcc."))


# Node programs from ordinary Go modules: group -> [(output, package, ldflags, tags)].
def _node_programs(group: str) -> list[tuple[str, str, str, str]]:
    module, version = versions.NODE_GO_MODULES[group]
    if group == "containerd":
        ld = f"-s -w -X {module}/version.Version={version}"
        tags = "no_btrfs no_devmapper no_zfs"
        return [(c, f"{module}/cmd/{c}", ld, tags)
                for c in ("containerd", "containerd-shim-runc-v2", "ctr")]
    if group == "cni-plugins":
        ld = f"-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion={version}"
        return [(p.rsplit("/", 1)[1], f"{module}/plugins/{p}", ld, "")
                for p in ("main/bridge", "main/loopback", "ipam/host-local", "meta/portmap")]
    if group == "cri-tools":
        return [("crictl", f"{module}/cmd/crictl",
                 f"-s -w -X {module}/pkg/version.Version={version}", "")]
    if group == "coredns":      # "." is the main coredns_main() writes (its plugin set)
        return [("coredns", ".", f"-s -w -X {module}/coremain.GitCommit={version}", "")]
    if group == "metallb":
        return [("metallb-controller", f"{module}/controller",
                 "-s -w", "")]
    if group == "kind":
        return [("kind", module, "-s -w", "")]
    if group == "minikube":   # as its Makefile stamps it
        pv = f"{module}/pkg/version"
        ld = (f"-s -w -X {pv}.version={version} -X {pv}.isoVersion={versions.MINIKUBE_ISO} "
              f"-X {pv}.storageProvisionerVersion={versions.STORAGE_PROVISIONER}")
        return [("minikube", f"{module}/cmd/minikube", ld, "libvirt_dlopen"),
                ("storage-provisioner", f"{module}/cmd/storage-provisioner",
                 f"-s -w -X {module}/pkg/storage.version={versions.STORAGE_PROVISIONER}", "")]
    if group == "traefik":
        return [("traefik", f"{module}/cmd/traefik",
                 f"-s -w -X {module}/pkg/version.Version={version}", "")]
    raise KeyError(group)


def inherited_directives(gomod: str, module_dir: Path) -> list[str]:
    """A module's replace and exclude directives count only in the main module: the
    wrapper copies them, pointing local paths into the module's own directory."""
    out = []
    for m in re.finditer(r"^(replace|exclude)\s*\((.*?)^\)|^(replace|exclude)\s+([^(\n].*)$",
                         gomod, re.MULTILINE | re.DOTALL):
        keyword = m.group(1) or m.group(3)
        body = m.group(2).splitlines() if m.group(2) else [m.group(4)]
        for line in body:
            line = line.split("//")[0].strip()
            if not line:
                continue
            if keyword == "replace":
                old, new = (s.strip() for s in line.split("=>"))
                if new.startswith("."):
                    new = str((module_dir / new).resolve())
                line = f"{old} => {new}"
            out.append(f"{keyword} {line}")
    return out


# CoreDNS plugins a cluster's Corefile never names, whose client libraries (cloud SDKs,
# etcd, gRPC, QUIC, tracing) were most of CoreDNS's build: kubeadm's, kind's, minikube's
# and kubelab's Corefiles use errors, health, ready, kubernetes, prometheus, forward,
# cache, loop, reload, loadbalance, hosts and log, all kept, with every other small one.
COREDNS_LEFT_OUT = ("geoip", "quic", "grpc_server", "https3", "trace", "dnstap", "route53",
                    "azure", "clouddns", "etcd", "grpc", "view", "nomad")
# Directives whose package is not plugin/<directive>.
COREDNS_PACKAGES = {"prometheus": "github.com/coredns/coredns/plugin/metrics",
                    "on": "github.com/coredns/caddy/onevent"}
# Bump when the plugin set changes: part of the coredns group's cache key.
COREDNS_BUILD = "k8s-plugins-1"


def coredns_main(module_dir: Path) -> str:
    """A main package for CoreDNS with the plugins a Kubernetes cluster uses, as CoreDNS
    documents for builds with a plugin set of their own: it imports each plugin and sets
    dnsserver.Directives to upstream's order (read from this version's
    core/dnsserver/zdirectives.go) without the ones left out."""
    text = (module_dir / "core" / "dnsserver" / "zdirectives.go").read_text()
    block = text[text.index("var Directives = []string{"):]
    directives = re.findall(r'"([a-z0-9_]+)"', block[:block.index("}")])
    kept = [d for d in directives if d not in COREDNS_LEFT_OUT]
    imports = sorted({COREDNS_PACKAGES.get(d, f"github.com/coredns/coredns/plugin/{d}")
                      for d in kept})
    return ("// CoreDNS with the plugins a Kubernetes cluster uses (written by kubelab).\n"
            "package main\n\nimport (\n\t\"github.com/coredns/coredns/core/dnsserver\"\n"
            "\t\"github.com/coredns/coredns/coremain\"\n"
            + "".join(f"\t_ \"{i}\"\n" for i in imports) + ")\n\n"
            "func init() {\n\tdnsserver.Directives = []string{\n"
            + "".join(f"\t\t\"{d}\",\n" for d in kept) + "\t}\n}\n\n"
            "func main() {\n\tcoremain.Run()\n}\n")


def build_node_group(group: str, out: Path, log) -> None:  # noqa: ANN001
    module, version = versions.NODE_GO_MODULES[group]
    programs = _node_programs(group)
    with tempfile.TemporaryDirectory(prefix=f"kubelab-{group}-") as tmp:
        work = Path(tmp)
        info = json.loads(run_go(["mod", "download", "-json", f"{module}@{version}"], work, log))
        upstream = Path(info["GoMod"]).read_text()
        go_line = re.search(r"^go\s+(\S+)", upstream, re.MULTILINE)
        gomod = (f"module kubelab.local/{group}-build\n\n"
                 f"go {go_line.group(1) if go_line else '1.26'}\n\n"
                 + "\n".join(godebug_lines(upstream)) + f"\n\nrequire {module} {version}\n\n"
                 + "\n".join(inherited_directives(upstream, Path(info["Dir"]))) + "\n")
        if group == "coredns":
            (work / "main.go").write_text(coredns_main(Path(info["Dir"])))
        _prepare(work, gomod, sorted({pkg for _, pkg, _, _ in programs if pkg != "."}), log)
        # minikube's KVM driver is cgo (libvirt, opened at run time: libvirt_dlopen)
        env = {"CGO_ENABLED": "1"} if group == "minikube" else None
        for name, pkg, ldflags, tags in programs:
            args = ["build", "-trimpath", "-ldflags", ldflags, "-o", str(out / name)]
            if tags:
                args += ["-tags", tags]
            run_go([*args, pkg], work, log, env=env)
        if group == "metallb":     # its CustomResourceDefinitions, applied by `up`
            crds = out / "crds"
            crds.mkdir()
            for f in sorted((Path(info["Dir"]) / "config" / "crd" / "bases").glob("*.yaml")):
                shutil.copyfile(f, crds / f.name)


BUILDERS = {"control-plane": build_control_plane, "etcd": build_etcd, "kwok": build_kwokctl,
            "kubernetes-node": build_kubernetes_node,
            "kubernetes-kind": build_kubernetes_kind,
            "etcd-kubeadm": lambda out, log: build_etcd(out, log, versions.KUBEADM_ETCD),
            **{g: (lambda out, log, g=g: build_node_group(g, out, log))
               for g in versions.NODE_GO_MODULES}}


def build_group(group: str, final: Path, log=None) -> float:  # noqa: ANN001
    """Build one group into `final` (atomically); returns the seconds it took."""
    log = log or (lambda msg: print(f"[kubelab build {group}] {msg}", file=sys.stderr,
                                    flush=True))
    final.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        log(tr("building {group} from source (cold: many minutes; cached afterwards)",
               group=group))
        BUILDERS[group](tmp, log)
        publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - start
    log(tr("built {group} in {seconds:.0f} s -> {path}", group=group, seconds=seconds,
           path=final))
    return seconds
