"""kubectl under a workshop learner's login, and the pods a learner's namespace must
refuse: shared by the workshop tests on the sandbox and the class on kind. Every attempt
is counted in ATTEMPTS (printed by the workshop tests at the end)."""
from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

from kubelab._base import versions
from kubelab._build import binaries

ATTEMPTS: Counter = Counter()


def as_learner(kubeconfig: Path | str, *args: str,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(binaries.kubectl()), "--kubeconfig", str(kubeconfig), *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


def refused(kubeconfig: Path | str, *args: str, stdin: str | None = None) -> None:
    proc = as_learner(kubeconfig, *args, stdin=stdin)
    ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
    assert proc.returncode != 0, f"allowed: kubectl {' '.join(args)}\n{proc.stdout}"
    assert "forbidden" in proc.stderr.lower(), proc.stderr


def allowed(kubeconfig: Path | str, *args: str, stdin: str | None = None) -> str:
    proc = as_learner(kubeconfig, *args, stdin=stdin)
    ATTEMPTS["allowed as expected" if proc.returncode == 0 else "WRONGLY REFUSED"] += 1
    assert proc.returncode == 0, f"refused: kubectl {' '.join(args)}\n{proc.stderr}"
    return proc.stdout


def pod(name: str, image: str = versions.IMAGES["busybox"],
        command: tuple[str, ...] = ("sleep", "3600"), **spec: object) -> str:
    container = {"name": "main", "image": image, "command": list(command)}
    container.update(spec.pop("container", {}))
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [container], **spec}})


HOST_PODS = {
    "privileged": pod("root-on-the-node", container={"securityContext": {"privileged": True}}),
    "hostPath": pod("node-disk", volumes=[{"name": "root", "hostPath": {"path": "/"}}],
                    container={"volumeMounts": [{"name": "root", "mountPath": "/host"}]}),
    "hostNetwork": pod("node-network", hostNetwork=True),
    "hostPID": pod("node-processes", hostPID=True),
    "capabilities": pod("node-admin", container={
        "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}),
}
GREEDY = pod("greedy", container={"resources": {"requests": {"cpu": "3"},
                                                "limits": {"cpu": "3"}}})
