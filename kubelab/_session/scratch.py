"""A throwaway kubeconfig for the contexts chapter: learners try `config use-context` and
KUBECONFIG merging on it, never on their own ~/.kube/config nor on kubelab's."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from kubelab._build import binaries
from kubelab._cluster.cluster import Cluster, kubectl_words
from kubelab._system.paths import write_private
from kubelab._system.run import run


class ScratchKubeconfigs:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.dir = Path(tempfile.mkdtemp(prefix="kubelab-kubeconfigs-"))

    def lab_entries(self) -> tuple[dict, dict]:
        """The lab's cluster and user entries (server, CA, credentials)."""
        data = yaml.safe_load(Path(self.cluster.kubeconfig).read_text())
        ctx = next(c for c in data["contexts"] if c["name"] == self.cluster.context)["context"]
        cluster = next(c for c in data["clusters"] if c["name"] == ctx["cluster"])["cluster"]
        user = next(u for u in data["users"] if u["name"] == ctx["user"])["user"]
        return cluster, user

    def write(self, filename: str, contexts: dict[str, str | None], current: str) -> Path:
        """A kubeconfig whose contexts (name -> namespace) all reach the lab cluster, each
        through cluster and user entries of its own name, as kind or K3s would write."""
        cluster, user = self.lab_entries()
        doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [{"name": n, "cluster": cluster} for n in contexts],
               "users": [{"name": n, "user": user} for n in contexts],
               "contexts": [{"name": n, "context": {"cluster": n, "user": n,
                                                    **({"namespace": ns} if ns else {})}}
                            for n, ns in contexts.items()],
               "current-context": current}
        path = self.dir / filename
        write_private(path, yaml.safe_dump(doc, sort_keys=False))   # it holds credentials
        return path

    def kubectl(self, command: str, *files: Path, show: bool = True) -> str:
        """Run `kubectl ...` with KUBECONFIG set to these files (joined with ':' when there
        are several), as a learner would in a terminal."""
        argv = kubectl_words(command)
        env = dict(os.environ)
        env["KUBECONFIG"] = os.pathsep.join(str(f) for f in files)
        proc = run([str(binaries.kubectl()), *argv], 60, env=env, what="kubectl")
        out = (proc.stdout + proc.stderr).rstrip()
        if show:
            names = ":".join(f.name for f in files)
            print(f"$ KUBECONFIG={names} kubectl {' '.join(argv)}")
            if out:
                print(out)
        return out

    @staticmethod
    def redacted(path: Path) -> str:
        """The file as YAML, with certificates, keys and tokens cut out (safe to show)."""
        def cut(node: object) -> object:
            if isinstance(node, dict):
                return {k: ("<redacted>" if k.endswith("-data") or k in ("token", "password")
                            else cut(v)) for k, v in node.items()}
            if isinstance(node, list):
                return [cut(v) for v in node]
            return node
        return yaml.safe_dump(cut(yaml.safe_load(path.read_text())), sort_keys=False)

    @staticmethod
    def read(path: Path) -> dict:
        return yaml.safe_load(path.read_text())

    def remove(self) -> None:
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)
