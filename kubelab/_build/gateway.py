"""The Gateway API's standard CustomResourceDefinitions, at the pinned version.

They come from the Go module sigs.k8s.io/gateway-api (its config/crd/standard/*.yaml) at
versions.GATEWAY_API, fetched with `go mod download` through the Go module proxy (nothing
is downloaded from the web, and nothing is copied into this repository), and kept in
kubelab's cache like the binaries it builds: cache_dir()/gateway-api/<version>/.

    install(cluster)   the CRDs (and, where Traefik runs its Gateway provider, the
                       GatewayClass `traefik`); what `kubelab up` calls on backends with
                       Traefik, and what chapter 07 calls when they are missing.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._system.paths import cache_dir, publish_dir

MODULE = "sigs.k8s.io/gateway-api"
GROUP = "gateway.networking.k8s.io"
# What the standard channel of the pinned release defines (tests check the cache holds
# exactly these).
STANDARD_KINDS = ("backendtlspolicies", "gatewayclasses", "gateways", "grpcroutes",
                  "httproutes", "referencegrants")
TRAEFIK_CONTROLLER = "traefik.io/gateway-controller"
GATEWAY_CLASS = f"""\
apiVersion: {GROUP}/v1
kind: GatewayClass
metadata:
  name: traefik
spec:
  controllerName: {TRAEFIK_CONTROLLER}
  description: Traefik's Gateway provider (kubelab's local and kind backends)
"""


def crd_dir(version: str = versions.GATEWAY_API) -> Path:
    return cache_dir() / "gateway-api" / version


def crd_files(*, fetch: bool = True, log: Callable[[str], None] = print,
              version: str = versions.GATEWAY_API) -> list[Path]:
    """The CRD manifests of the standard channel, fetching them into the cache first if
    they are not there (and `fetch`)."""
    where = crd_dir(version)
    files = sorted(where.glob("*.yaml"))
    if files:
        return files
    if not fetch:
        raise KubelabError(tr("the Gateway API CRDs {version} are not in kubelab's cache.",
                              version=version),
                           tr("run `kubelab build` where the Go module proxy is reachable."))
    return _fetch(where, version, log)


def _fetch(where: Path, version: str, log: Callable[[str], None]) -> list[Path]:
    from kubelab._build import gobuild
    log(tr("fetching the Gateway API CRDs {version} (Go module {module})", version=version,
           module=MODULE))
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=where.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="kubelab-gateway-api-") as work:
            info = json.loads(gobuild.run_go(["mod", "download", "-json",
                                              f"{MODULE}@{version}"], Path(work), log))
        standard = Path(info["Dir"]) / "config" / "crd" / "standard"
        found = sorted(standard.glob("*.yaml"))
        if not found:
            raise KubelabError(tr("{module}@{version} has no config/crd/standard/*.yaml.",
                                  module=MODULE, version=version),
                               tr("pin a Gateway API release that ships its CRDs "
                                  "(kubelab/versions.py)."))
        for f in found:
            shutil.copyfile(f, tmp / f.name)
        publish_dir(tmp, where)
    except KubelabError as e:
        raise KubelabError(tr("the Gateway API CRDs {version} could not be fetched: {error}",
                              version=version, error=e.problem),
                           tr("they come from the Go module {module} through the Go module "
                              "proxy: install Go 1.26 or newer, check GOPROXY, or run "
                              "`kubelab build` where the proxy is reachable.",
                              module=MODULE)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(where.glob("*.yaml"))


def installed(cluster) -> bool:  # noqa: ANN001 - kubelab.cluster.Cluster
    """Whether the cluster serves the Gateway API (its CRDs are installed)."""
    proc = cluster.kubectl(["api-versions"], check=False)
    return any(line.startswith(GROUP + "/") for line in proc.stdout.split())


def traefik_gateway_enabled(cluster) -> bool:  # noqa: ANN001
    """Whether Traefik runs in kube-system with its Gateway provider turned on."""
    proc = cluster.kubectl(["get", "deployment", "traefik", "-n", "kube-system", "-o",
                            "jsonpath={.spec.template.spec.containers[0].args}"],
                           check=False)
    return proc.returncode == 0 and "--providers.kubernetesgateway=true" in proc.stdout


def install(cluster, log: Callable[[str], None] = print,  # noqa: ANN001
            gateway_class: bool | None = None) -> None:
    """Apply the standard CRDs (server-side: they are too large for a client-side apply)
    and wait until the API serves them; then, when Traefik runs its Gateway provider here
    (or `gateway_class` is True), the GatewayClass `traefik`. Safe to run again."""
    files = crd_files(log=log)
    for f in files:
        cluster.kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"],
                        input=f.read_text(), timeout=120)
    names = [f"crd/{kind}.{GROUP}" for kind in STANDARD_KINDS
             if any(f.name.endswith(f"_{kind}.yaml") for f in files)]
    cluster.kubectl(["wait", "--for=condition=Established", *names, "--timeout=60s"],
                    timeout=70)
    if gateway_class is None:
        gateway_class = traefik_gateway_enabled(cluster)
    if gateway_class:
        cluster.kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"],
                        input=GATEWAY_CLASS)
    log(tr("Gateway API {version}: standard CRDs installed{extra}",
           version=versions.GATEWAY_API,
           extra=tr(", GatewayClass traefik") if gateway_class else ""))
