"""The Gateway API (issue 11, item 5): the pinned standard CRDs come from their Go module
into kubelab's cache (never into the repository), install() applies them and the
GatewayClass for Traefik, and Traefik runs its Gateway provider with the rights it
needs. No cluster; the first test runs `go mod download` (the module cache, else the
Go module proxy)."""
from __future__ import annotations

import shutil
import subprocess
import types
from pathlib import Path

import pytest
import yaml

from kubelab._backends import addons
from kubelab._base import versions
from kubelab._build import gateway

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not shutil.which("go") and not Path("/usr/local/go/bin/go").exists(),
                    reason="needs Go")
def test_the_standard_crds_come_from_the_go_module_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path))
    said: list[str] = []
    files = gateway.crd_files(log=said.append)
    assert files[0].parent == tmp_path / "gateway-api" / versions.GATEWAY_API
    kinds = sorted(f.name.split("_", 1)[1].removesuffix(".yaml") for f in files)
    assert kinds == sorted(gateway.STANDARD_KINDS)
    for f in files:
        crd = yaml.safe_load(f.read_text())
        notes = crd["metadata"]["annotations"]
        assert crd["kind"] == "CustomResourceDefinition"
        assert crd["spec"]["group"] == gateway.GROUP
        assert notes["gateway.networking.k8s.io/bundle-version"] == versions.GATEWAY_API
        assert notes["gateway.networking.k8s.io/channel"] == "standard"
    assert any("go mod download" in line for line in said)
    assert gateway.crd_files(fetch=False) == files          # cached: no second fetch


def test_no_gateway_crd_is_vendored_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert not [f for f in tracked if "gateway.networking.k8s.io_" in f]


class FakeCluster:
    def __init__(self, traefik_args: str):
        self.calls: list[tuple[list[str], str | None]] = []
        self.traefik_args = traefik_args

    def kubectl(self, args, *, input=None, timeout=60, check=True, namespace=None):
        self.calls.append((args, input))
        out = self.traefik_args if args[:3] == ["get", "deployment", "traefik"] else ""
        return types.SimpleNamespace(stdout=out, stderr="", returncode=0)


def test_install_applies_the_crds_waits_for_them_then_the_gatewayclass(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path))
    where = gateway.crd_dir()
    where.mkdir(parents=True)
    for kind in gateway.STANDARD_KINDS:
        (where / f"gateway.networking.k8s.io_{kind}.yaml").write_text(f"# {kind}\n")
    cluster = FakeCluster('["--providers.kubernetesgateway=true"]')
    gateway.install(cluster, log=lambda m: None)
    applied = [text for args, text in cluster.calls if args[:2] == ["apply", "--server-side"]]
    assert applied[:6] == [f"# {kind}\n" for kind in sorted(gateway.STANDARD_KINDS)]
    assert "kind: GatewayClass" in applied[-1] and gateway.TRAEFIK_CONTROLLER in applied[-1]
    wait = next(args for args, _ in cluster.calls if args[0] == "wait")
    assert "crd/httproutes.gateway.networking.k8s.io" in wait

    without = FakeCluster('["--providers.kubernetesingress=true"]')
    gateway.install(without, log=lambda m: None)
    assert not [t for _, t in without.calls if t and "GatewayClass" in t]


def test_traefik_runs_its_gateway_provider_with_the_rights_it_needs():
    docs = list(yaml.safe_load_all(addons.manifest("traefik")))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--providers.kubernetesgateway=true" in args
    assert "--entryPoints.web.address=:8000" in args          # the Gateway listener's port
    rules = next(d for d in docs if d["kind"] == "ClusterRole")["rules"]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"]
               for r in rule["resources"] for v in rule["verbs"]}
    for kind in gateway.STANDARD_KINDS:
        assert (gateway.GROUP, kind, "watch") in granted
    for kind in ("gatewayclasses", "gateways", "httproutes"):
        assert (gateway.GROUP, f"{kind}/status", "update") in granted
    assert ("", "namespaces", "list") in granted
