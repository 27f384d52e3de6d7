"""Bad input gets one clear message naming the fix and a non-zero exit, never a traceback."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

from kubelab import manifests
from kubelab.errors import KubelabError


def kubelab(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kubelab.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def assert_clean_failure(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "fix:" in proc.stderr
    for phrase in phrases:
        assert phrase in proc.stderr, proc.stderr


def test_unknown_backend(isolated_home):
    assert_clean_failure(kubelab("up", "--backend", "kubeadm"), "unknown backend",
                         "sandbox")


def test_port_in_use(isolated_home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = kubelab("up", "--backend", "sandbox", "--port", str(port))
    assert_clean_failure(proc, f"port {port}", "already in use", "--port")
    assert not (isolated_home / "kwok" / "clusters" / "kubelab").exists()


def test_unknown_context(isolated_home, tmp_path):
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [], "users": [],
        "contexts": [{"name": "work", "context": {"cluster": "c", "user": "u"}}]}))
    proc = kubelab("up", "--backend", "existing", "--context", "nope", "--kubeconfig",
                   str(config))
    assert_clean_failure(proc, "'nope' is not in", "work")


def test_existing_backend_needs_a_named_context(isolated_home):
    assert_clean_failure(kubelab("up", "--backend", "existing"), "needs the context")


def test_unreachable_cluster(isolated_home, tmp_path):
    """A lab recorded earlier whose apiserver is gone (machine rebooted, say)."""
    with socket.socket() as s:          # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{dead}",
                                                  "insecure-skip-tls-verify": True}}],
        "users": [{"name": "gone", "user": {"token": "x"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}]}))
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "lab.json").write_text(json.dumps({
        "backend": "sandbox", "kubeconfig": str(config), "context": "gone",
        "created_by_kubelab": True}))
    proc = kubelab("status")
    assert_clean_failure(proc, "does not answer", "kubelab up")


def test_missing_binary(isolated_home, tmp_path):
    proc = kubelab("up", "--backend", "sandbox",
                   env={"KUBELAB_KUBE_APISERVER_BINARY": str(tmp_path / "missing")})
    assert_clean_failure(proc, "not an executable file", "KUBELAB_KUBE_APISERVER_BINARY")


def test_wrong_binary_version(isolated_home, tmp_path):
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\necho 'etcd Version: 3.4.23'\n")
    fake.chmod(0o755)
    proc = kubelab("up", "--backend", "sandbox", env={"KUBELAB_ETCD_BINARY": str(fake)})
    assert_clean_failure(proc, "v3.4.23", "pins")


def test_status_without_a_lab(isolated_home):
    proc = kubelab("status")
    assert proc.returncode == 1 and "kubelab up" in proc.stdout


def test_down_without_a_lab_is_harmless(isolated_home):
    proc = kubelab("down")
    assert proc.returncode == 0 and "nothing to stop" in proc.stdout


@pytest.mark.parametrize("text, phrase", [
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: {}\n", "line 5"),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n", "malformed"),
    ("kind: Pod\nmetadata: {name: x}\n", "no apiVersion"),
    ("apiVersion: v1\nkind: Pod\nspec: {}\n", "no metadata.name"),
    ("- just\n- a list\n", "not a mapping"),
    ("", "empty"),
])
def test_malformed_yaml_is_explained(text, phrase):
    with pytest.raises(KubelabError) as e:
        manifests.parse(text)
    assert phrase in str(e.value) and e.value.fix


def test_doctor_lists_each_prerequisite(isolated_home):
    proc = kubelab("doctor")
    assert "kubectl v1." in proc.stdout
    assert "kind:" in proc.stdout and "minikube:" in proc.stdout
    assert "`kubelab up` would use:" in proc.stdout
