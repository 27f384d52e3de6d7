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

from . import versions
from .errors import KubelabError
from .paths import publish_dir

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
KWOK_COMMANDS = ("kwok", "kwokctl")


def go_binary() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists()
                                else None)
    if not go:
        raise KubelabError("Go is needed to build the control plane from source, and it is "
                           "not installed.",
                           "install Go 1.26 or newer (Debian golang, conda-forge go, or "
                           "go.dev), or provide the binaries through KUBELAB_*_BINARY.")
    return go


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CGO_ENABLED", "0")
    env.setdefault("GOTOOLCHAIN", "local")   # never download a toolchain unless told to
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -buildvcs=false -mod=mod").strip()
    return env


def _go(args: list[str], cwd: Path, log) -> str:  # noqa: ANN001
    cmd = [go_binary(), *args]
    log(f"$ go {' '.join(args[:3])}{' ...' if len(args) > 3 else ''}")
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise KubelabError(f"`go {' '.join(args)}` failed:\n{tail}",
                           "check that the Go module proxy is reachable (GOPROXY) and Go is "
                           "1.26 or newer.")
    return proc.stdout


def _module_gomod(module: str, version: str, cwd: Path, log) -> str:  # noqa: ANN001
    info = json.loads(_go(["mod", "download", "-json", f"{module}@{version}"], cwd, log))
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


def kubernetes_wrapper_gomod(kubernetes_gomod: str) -> str:
    go_line = re.search(r"^go\s+(\S+)", kubernetes_gomod, re.MULTILINE)
    lines = ["module kubelab.local/kubernetes-build", "",
             f"go {go_line.group(1) if go_line else '1.26'}", ""]
    lines += godebug_lines(kubernetes_gomod) + [""]
    lines += [f"require k8s.io/kubernetes {versions.KUBERNETES}", "", "replace ("]
    lines += [f"\t{m} => {m} {versions.KUBERNETES_STAGING}"
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
    _go(["mod", "tidy"], work, log)


def build_kubernetes(out: Path, log) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory(prefix="kubelab-k8s-") as tmp:
        work = Path(tmp)
        upstream = _module_gomod(versions.GO_MODULES["kubernetes"], versions.KUBERNETES,
                                 work, log)
        _prepare(work, kubernetes_wrapper_gomod(upstream),
                 [f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS], log)
        for cmd in KUBE_COMMANDS:
            _go(["build", "-trimpath", "-ldflags", kubernetes_ldflags(), "-o",
                 str(out / cmd), f"k8s.io/kubernetes/cmd/{cmd}"], work, log)


def build_etcd(out: Path, log) -> None:  # noqa: ANN001
    module = versions.GO_MODULES["etcd"]
    with tempfile.TemporaryDirectory(prefix="kubelab-etcd-") as tmp:
        work = Path(tmp)
        upstream = _module_gomod(module, versions.ETCD, work, log)
        go_line = re.search(r"^go\s+(\S+)", upstream, re.MULTILINE)
        gomod = (f"module kubelab.local/etcd-build\n\ngo {go_line.group(1) if go_line else '1.26'}"
                 f"\n\nrequire {module} {versions.ETCD}\n")
        _prepare(work, gomod, [module], log)
        _go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "etcd"), module],
            work, log)


def build_kwok(out: Path, log) -> None:  # noqa: ANN001
    module = versions.GO_MODULES["kwok"]
    ldflags = (f"-s -w -X {module}/pkg/consts.Version={versions.KWOK} "
               f"-X {module}/pkg/consts.KubeVersion={versions.KUBERNETES}")
    with tempfile.TemporaryDirectory(prefix="kubelab-kwok-") as tmp:
        work = Path(tmp)
        gomod = f"module kubelab.local/kwok-build\n\ngo 1.26\n\nrequire {module} {versions.KWOK}\n"
        _prepare(work, gomod, [f"{module}/cmd/{c}" for c in KWOK_COMMANDS], log)
        for cmd in KWOK_COMMANDS:
            _go(["build", "-trimpath", "-ldflags", ldflags, "-o", str(out / cmd),
                 f"{module}/cmd/{cmd}"], work, log)


BUILDERS = {"kubernetes": build_kubernetes, "etcd": build_etcd, "kwok": build_kwok}


def build_group(group: str, final: Path, log=None) -> float:  # noqa: ANN001
    """Build one group into `final` (atomically); returns the seconds it took."""
    log = log or (lambda msg: print(f"[kubelab build {group}] {msg}", file=sys.stderr,
                                    flush=True))
    final.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        log(f"building {group} from source (cold: many minutes; cached afterwards)")
        BUILDERS[group](tmp, log)
        publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - start
    log(f"built {group} in {seconds:.0f} s -> {final}")
    return seconds
