"""`create` and `add`: apply the learners' objects (slot and fixed nodePorts issued from
the cluster, ports.py), make sure the cluster enforces the workshop's rules before any
login exists, then write each learner a kubeconfig holding a TokenRequest token that
expires. `renew`: a new login for learners who lost theirs or whose token expired."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import yaml

from concurrent.futures import ThreadPoolExecutor

from kubelab._base.contract import (CONTROLLER_SELECTOR, LEARNER_SERVICE_ACCOUNT, LOGIN_EXTENSION,
                                    NODE_PORTS_ANNOTATION)
from kubelab._base.errors import KubelabError, UsageError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._session.scope import reservation_manifest
from kubelab._system.paths import write_private
from kubelab.workshop import ports as node_ports
from kubelab.workshop.learners import Learner, check_workshop_name, learners_from
from kubelab.workshop.manifests import objects_for, probe_objects, workshop_objects
from kubelab.workshop.roster import existing_learners, workshop_exists

# kubectl applies and TokenRequests at once: the apiserver, not this machine, is the limit
PARALLEL = 4


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


def _token(api, learner: Learner, seconds: int) -> tuple[str, str]:  # noqa: ANN001
    from kubernetes import client
    core = client.CoreV1Api(api)
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
    # the extension names the workshop and learner, so an expired login can say which
    # `kubelab workshop renew` gives a new one
    who = {"name": LOGIN_EXTENSION,
           "extension": {"workshop": learner.workshop, "learner": learner.name}}
    return {"apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": cluster_entry}],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name,
                                                    "namespace": learner.namespace,
                                                    "extensions": [who]}}]}


class Logins:
    """Writes learners' kubeconfigs into one directory (mode 0700, files 0600), and the
    directory's workshop.json (learner -> namespaces, file, expiry), merged across runs."""

    def __init__(self, cluster: Cluster, out_dir: Path, hours: float) -> None:
        self.cluster, self.out_dir = cluster, out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        out_dir.chmod(0o700)
        self.server, self.ca = _server_and_ca(cluster)
        self.seconds = max(600, int(hours * 3600))    # TokenRequest's minimum is 10 minutes
        self.api = cluster.api_client()

    def write(self, learner: Learner) -> dict:
        token, expires = _token(self.api, learner, self.seconds)
        path = self.out_dir / f"{learner.name}.kubeconfig"
        write_private(path, yaml.safe_dump(
            learner_kubeconfig(learner, self.server, self.ca, token), sort_keys=False))
        return {"learner": learner.name, "namespaces": learner.namespaces,
                "kubeconfig": str(path), "expires": expires}

    def record(self, made: list[dict]) -> None:
        index = self.out_dir / "workshop.json"
        try:
            old = json.loads(index.read_text())
        except (OSError, ValueError):
            old = []
        names = {m["learner"] for m in made}
        write_private(index, json.dumps([o for o in old if o.get("learner") not in names]
                                        + made, indent=2))


def _reserve(cluster: Cluster, api, learner: Learner, ports: list[int]) -> list[int]:  # noqa: ANN001
    """Hold a new learner's fixed nodePorts with reservation Services. A port that another
    Service took since it was issued is replaced by a newly issued one."""
    from kubernetes import client
    core = client.CoreV1Api(api)
    ports = list(ports)
    for which in range(len(ports)):
        for _ in range(5):
            try:
                core.create_namespaced_service(learner.namespace, reservation_manifest(
                    learner.namespace, learner.labels(), which, ports[which]))
                break
            except client.ApiException as e:
                if e.status == 409:               # there already (a second run)
                    break
                if e.status != 422 or "allocated" not in (e.body or ""):
                    raise
            ports[which] = node_ports.issue(cluster, learner.workshop, 1, 1)[0][1][0]
            patch = {"metadata": {"annotations": {
                NODE_PORTS_ANNOTATION: ",".join(map(str, ports))}}}
            for ns in learner.namespaces:
                core.patch_namespace(ns, patch)
    return ports


def controller_namespaces(cluster: Cluster) -> list[str]:
    """Where an Ingress controller's Service is (kube-system for K3s's and kubelab's
    Traefik): learners get to read it by name there."""
    out = cluster.kubectl(["get", "services", "--all-namespaces", "-l", CONTROLLER_SELECTOR,
                           "-o", "jsonpath={.items[*].metadata.namespace}"], timeout=60).stdout
    return sorted(set(out.split()))


def _provision(cluster: Cluster, learners: list[Learner], logins: Logins,
               log=print) -> list[dict]:  # noqa: ANN001
    """Make new learners: slots and ports issued, objects applied, ports reserved, the
    rules checked to hold, then the logins."""
    if not learners:
        return []
    issued = node_ports.issue(cluster, learners[0].workshop, len(learners))
    controllers = controller_namespaces(cluster)

    def make(args: tuple[Learner, tuple[int, list[int]]]) -> None:
        learner, (slot, ports) = args
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects_for(
            learner, slot, ports, reservations=False, controller_namespaces=controllers)})
        cluster.kubectl(["apply", "-f", "-"], input=doc, timeout=300)
        _reserve(cluster, logins.api, learner, ports)

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(make, zip(learners, issued)))
    # before any login exists: the rules hold, or nothing is handed out
    wait_until_enforced(cluster, learners[0])
    with ThreadPoolExecutor(PARALLEL) as pool:
        made = list(pool.map(logins.write, learners))
    for m, (slot, ports) in zip(made, issued):
        log(f"{m['learner']:<20} slot {slot:<4} ports {ports[0]},{ports[1]}  "
            f"token until {m['expires']}  {m['kubeconfig']}")
    return made


def create(cluster: Cluster, learners: list[Learner], out_dir: Path, hours: float,
           log=print) -> list[dict]:  # noqa: ANN001
    """A new workshop with these learners. Run again with the same learners (after an
    interruption, say), it makes those still missing and new logins for the others; a
    workshop that has other learners is refused: `add` is the command for those."""
    if not learners:
        return []
    workshop = learners[0].workshop
    have = existing_learners(cluster, workshop)
    others = sorted(set(have) - {learner.name for learner in learners})
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise UsageError(
            tr("workshop {workshop} exists already, with {count} other learners ({names}).",
               workshop=workshop, count=len(others), names=shown),
            tr("to add learners to it: `kubelab workshop add --name {workshop} --learners "
               "NAMES` (or --count N); for new logins: `kubelab workshop renew --name "
               "{workshop} --all`; or pick another --name.", workshop=workshop))
    cluster.kubectl(["apply", "-f", "-"], timeout=120, input=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": workshop_objects(workshop)}))
    logins = Logins(cluster, out_dir, hours)
    new = [learner for learner in learners if learner.name not in have]
    made = {m["learner"]: m for m in _provision(cluster, new, logins, log)}
    for learner in learners:
        if learner.name in have:
            made[learner.name] = logins.write(learner)
            log(f"{learner.name:<20} (already there) new login until "
                f"{made[learner.name]['expires']}  {made[learner.name]['kubeconfig']}")
    ordered = [made[learner.name] for learner in learners]
    logins.record(ordered)
    return ordered


def add(cluster: Cluster, workshop: str, names: list[str] | None, count: int | None,
        out_dir: Path, hours: float, log=print) -> list[dict]:  # noqa: ANN001
    """New learners in a running workshop (late joiners): each gets a slot and fixed
    nodePorts never issued before, and their own objects; nothing of the others changes."""
    check_workshop_name(workshop)
    if not workshop_exists(cluster, workshop):
        raise UsageError(tr("there is no workshop {workshop} on this cluster.",
                            workshop=workshop),
                         tr("create it first: `kubelab workshop create --name {workshop} "
                            "--learners NAMES`.", workshop=workshop))
    have = existing_learners(cluster, workshop)
    learners = learners_from(names, count, workshop, taken=have)
    there = [learner.name for learner in learners if learner.name in have]
    if there:
        raise UsageError(
            tr("already in workshop {workshop}: {names}.", workshop=workshop,
               names=", ".join(there)),
            tr("nothing was added. For a new login: `kubelab workshop renew --name "
               "{workshop} {names}`; for another person, choose another name.",
               workshop=workshop, names=" ".join(there)))
    logins = Logins(cluster, out_dir, hours)
    made = _provision(cluster, learners, logins, log)
    logins.record(made)
    return made


def renew(cluster: Cluster, learners: list[Learner], out_dir: Path, hours: float,
          revoke: bool = False, log=print) -> list[dict]:  # noqa: ANN001
    """A new login for each learner (a fresh TokenRequest). Their old token keeps working
    until it expires: a TokenRequest token cannot be revoked on its own. With `revoke`,
    the learner's ServiceAccount is deleted and made again, which ends every token it had
    (the apiserver checks the account's UID); their objects and progress stay."""
    from kubernetes import client
    logins = Logins(cluster, out_dir, hours)
    core = client.CoreV1Api(logins.api)
    made = []
    for learner in learners:
        if revoke:
            try:
                core.delete_namespaced_service_account(LEARNER_SERVICE_ACCOUNT,
                                                       learner.namespace)
            except client.ApiException as e:
                if e.status != 404:
                    raise
            sa = next(o for o in objects_for(learner, reservations=False)
                      if o["kind"] == "ServiceAccount")
            core.create_namespaced_service_account(learner.namespace, sa)
        m = logins.write(learner)
        made.append(m)
        log(f"{learner.name:<20} {'revoked, ' if revoke else ''}new login until "
            f"{m['expires']}  {m['kubeconfig']}")
    logins.record(made)
    return made
