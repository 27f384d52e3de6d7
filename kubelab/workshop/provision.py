"""`create`: apply a workshop's objects, make sure the cluster enforces its rules before
any login exists, then write each learner a kubeconfig holding a TokenRequest token that
expires."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import yaml

from kubelab._base.contract import LEARNER_SERVICE_ACCOUNT
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._system.paths import write_private
from kubelab.workshop.learners import Learner
from kubelab.workshop.manifests import objects_for, probe_objects, workshop_objects


def wait_until_enforced(cluster: Cluster, learner: Learner, seconds: float = 30) -> None:
    """Return once the cluster refuses a token Secret and a privileged pod in the learner's
    namespace (a new policy takes a moment to be loaded); say why if it never does."""
    deadline = time.monotonic() + seconds
    while True:
        allowed = {}
        for reason, manifest in probe_objects(learner).items():
            proc = cluster.kubectl(["create", "--dry-run=server", "-n", learner.namespace,
                                    "-f", "-"], input=json.dumps(manifest), check=False)
            if proc.returncode == 0 or reason not in proc.stderr:
                allowed[reason] = (proc.stdout + proc.stderr).strip()
        if not allowed:
            return
        if time.monotonic() >= deadline:
            raise KubelabError(
                tr("the cluster does not enforce {what} in {namespace}: {answer}",
                   what=", ".join(allowed), namespace=learner.namespace,
                   answer="; ".join(allowed.values())),
                tr("the workshop needs Kubernetes 1.30 or newer with the PodSecurity and "
                   "ValidatingAdmissionPolicy admission plugins (both on by default); run "
                   "`kubelab workshop delete` and check the apiserver's admission flags."))
        time.sleep(0.5)


def _token(cluster: Cluster, learner: Learner, seconds: int) -> tuple[str, str]:
    from kubernetes import client
    core = client.CoreV1Api(cluster.api_client())
    req = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds))
    out = core.create_namespaced_service_account_token(LEARNER_SERVICE_ACCOUNT,
                                                       learner.namespace, req)
    return out.status.token, out.status.expiration_timestamp.isoformat()


def _server_and_ca(cluster: Cluster) -> tuple[str, str]:
    api = cluster.api_client()
    conf = api.configuration
    ca = Path(conf.ssl_ca_cert).read_bytes() if conf.ssl_ca_cert else b""
    return conf.host, base64.b64encode(ca).decode()


def learner_kubeconfig(learner: Learner, server: str, ca: str, token: str) -> dict:
    name = f"kubelab-{learner.namespace}"
    cluster_entry = {"server": server}
    if ca:
        cluster_entry["certificate-authority-data"] = ca
    return {"apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": cluster_entry}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name,
                                                    "namespace": learner.namespace}}]}


def create(cluster: Cluster, learners: list[Learner], out_dir: Path, hours: float,
           log=print) -> list[dict]:  # noqa: ANN001
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o700)
    server, ca = _server_and_ca(cluster)
    seconds = max(600, int(hours * 3600))       # TokenRequest's minimum is 10 minutes
    if learners:
        cluster.kubectl(["apply", "-f", "-"], timeout=120, input=json.dumps(
            {"apiVersion": "v1", "kind": "List",
             "items": workshop_objects(learners[0].workshop)}))
    made = []
    for index, learner in enumerate(learners):
        doc = json.dumps({"apiVersion": "v1", "kind": "List",
                          "items": objects_for(learner, index)})
        cluster.kubectl(["apply", "-f", "-"], input=doc, timeout=120)
        if index == 0:      # before any login exists: the rules hold, or nothing is handed out
            wait_until_enforced(cluster, learner)
        token, expires = _token(cluster, learner, seconds)
        path = out_dir / f"{learner.name}.kubeconfig"
        write_private(path, yaml.safe_dump(learner_kubeconfig(learner, server, ca, token),
                                           sort_keys=False))
        made.append({"learner": learner.name, "namespaces": learner.namespaces,
                      "kubeconfig": str(path), "expires": expires})
        log(f"{learner.name:<20} {learner.namespace:<32} token until {expires}  {path}")
    write_private(out_dir / "workshop.json", json.dumps(made, indent=2))
    return made

