"""Whether a Docker engine answers: kind and minikube (docker driver) need one."""
from __future__ import annotations

import shutil
import subprocess


def docker_ready(timeout: float = 5) -> tuple[bool, str]:
    if not shutil.which("docker"):
        return False, "the docker CLI is not installed"
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "the Docker engine did not answer"
    if proc.returncode != 0:
        return False, "no Docker engine is running (docker info failed)"
    return True, f"Docker engine {proc.stdout.strip()}"
