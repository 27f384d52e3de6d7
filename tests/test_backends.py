"""The exact command lines each backend runs, auto-selection, and kwokctl's own dry run
of the sandbox (every component on loopback, distinct service and pod ranges)."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from kubelab import backends, binaries, versions
from kubelab.backends import kind, minikube, sandbox
from kubelab.errors import KubelabError
from kubelab.paths import lab_kubeconfig


def test_kind_create_and_delete_command_lines(isolated_home):
    assert kind.create_argv(nodes=3) == [
        "kind", "create", "cluster", "--name", "kubelab", "--image", versions.KIND_NODE_IMAGE,
        "--config", str(isolated_home / "kind-config.yaml"),
        "--kubeconfig", str(isolated_home / "kubeconfig"), "--wait", "120s"]
    assert kind.delete_argv() == ["kind", "delete", "cluster", "--name", "kubelab",
                                  "--kubeconfig", str(isolated_home / "kubeconfig")]


def test_kind_config_is_ingress_ready_with_port_mappings(isolated_home):
    kind.create_argv(nodes=3)
    cfg = yaml.safe_load((isolated_home / "kind-config.yaml").read_text())
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    cp = cfg["nodes"][0]
    assert 'node-labels: "ingress-ready=true"' in cp["kubeadmConfigPatches"][0]
    mapped = {(m["containerPort"], m["hostPort"]) for m in cp["extraPortMappings"]}
    assert {(80, 8080), (443, 8443)} <= mapped
    assert all(m["listenAddress"] == "127.0.0.1" for m in cp["extraPortMappings"])


def test_kind_node_image_is_pinned_by_digest():
    assert "@sha256:" in versions.KIND_NODE_IMAGE and ":latest" not in versions.KIND_NODE_IMAGE


def test_minikube_command_lines_and_private_kubeconfig(isolated_home):
    assert minikube.start_argv(nodes=2) == [
        "minikube", "start", "-p", "kubelab", "--driver=docker",
        f"--kubernetes-version={versions.KUBERNETES}", "--nodes=2", "--cpus=2", "--memory=2g"]
    assert minikube.delete_argv() == ["minikube", "delete", "-p", "kubelab"]
    assert minikube.env()["KUBECONFIG"] == str(isolated_home / "kubeconfig")


def test_auto_selection_explains_its_choice(monkeypatch):
    monkeypatch.setattr(kind, "available", lambda: (False, "kind is not installed"))
    monkeypatch.setattr(minikube, "available", lambda: (True, "Docker engine 28"))
    assert backends.choose("auto") == ("minikube", "kind: kind is not installed; "
                                                   "minikube: Docker engine 28")
    monkeypatch.setattr(minikube, "available", lambda: (False, "no Docker engine"))
    name, why = backends.choose("auto")
    assert name == "sandbox" and "no Docker engine" in why


def test_auto_selection_never_picks_a_cluster_kubelab_did_not_create():
    assert "k3s" not in backends.AUTO_ORDER and "existing" not in backends.AUTO_ORDER


def test_unknown_backend_names_the_choices():
    with pytest.raises(KubelabError) as e:
        backends.choose("kubeadm")
    assert "sandbox" in e.value.fix and "kind" in e.value.fix


def test_sandbox_dry_run_is_loopback_only_with_distinct_ranges(isolated_home):
    argv = sandbox.create_argv(binaries.find_all(), lab_kubeconfig()) + ["--dry-run"]
    proc = subprocess.run(argv, env=sandbox.kwokctl_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    commands = [line for line in proc.stdout.splitlines()
                if line.startswith("cd ") and " && " in line]
    started = {line.split(" && ")[1].split()[0] for line in commands}
    assert {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
            "kwok-controller"} <= started
    apiserver = next(c for c in commands if " && kube-apiserver " in c)
    assert "--bind-address=127.0.0.1" in apiserver
    assert f"--service-cluster-ip-range={sandbox.SERVICE_CIDR}" in apiserver
    assert "RBAC" in apiserver
    assert "0.0.0.0" not in proc.stdout
    # nothing ran: a dry run leaves no cluster behind
    assert not (isolated_home / "kwok" / "clusters" / "kubelab" / "pids").exists() or \
        not list((isolated_home / "kwok" / "clusters" / "kubelab" / "pids").iterdir())


def test_sandbox_nodes_get_their_own_pod_ranges():
    n1, n2 = sandbox.node_manifest(1), sandbox.node_manifest(2)
    assert n1["spec"]["podCIDR"] != n2["spec"]["podCIDR"]
    assert n1["spec"]["podCIDR"].startswith(sandbox.POD_CIDR_PREFIX)
    assert not sandbox.SERVICE_CIDR.startswith(sandbox.POD_CIDR_PREFIX)
