"""Workshop isolation, proven against the real apiserver: learner A is refused everything
outside its own namespaces, can do what the chapters need inside them, and an expired
token is refused. Every attempt is counted; the counts print at the end."""
from __future__ import annotations

import base64
import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from kubelab import workshop
from kubelab._backends import sandbox
from kubelab._base import versions
from kubelab._base.contract import LEARNER_SERVICE_ACCOUNT
from kubelab._base.errors import KubelabError
from kubelab._build import binaries

pytestmark = pytest.mark.cluster
ATTEMPTS: Counter = Counter()
NAME = "wstest"


@pytest.fixture(scope="module")
def logins(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("kubeconfigs")
    learners = workshop.learners_from(["ann", "ben"], None, NAME)
    made = workshop.create(cluster, learners, out, hours=1, log=lambda m: None)
    yield {m["learner"]: Path(m["kubeconfig"]) for m in made}
    workshop.delete(cluster, NAME, log=lambda m: None)
    print(f"\nworkshop isolation attempts: {dict(ATTEMPTS)}")


def as_learner(kubeconfig: Path, *args: str, stdin: str | None = None):
    return subprocess.run([str(binaries.kubectl()), "--kubeconfig", str(kubeconfig), *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


def refused(kubeconfig: Path, *args: str, stdin: str | None = None) -> None:
    proc = as_learner(kubeconfig, *args, stdin=stdin)
    ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
    assert proc.returncode != 0, f"allowed: kubectl {' '.join(args)}\n{proc.stdout}"
    assert "forbidden" in proc.stderr.lower(), proc.stderr


def allowed(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    proc = as_learner(kubeconfig, *args, stdin=stdin)
    ATTEMPTS["allowed as expected" if proc.returncode == 0 else "WRONGLY REFUSED"] += 1
    assert proc.returncode == 0, f"refused: kubectl {' '.join(args)}\n{proc.stderr}"
    return proc.stdout


def test_kubeconfigs_are_private_and_point_at_the_learners_namespace(logins):
    for name, path in logins.items():
        assert path.stat().st_mode & 0o077 == 0
        doc = yaml.safe_load(path.read_text())
        assert doc["contexts"][0]["context"]["namespace"] == f"{NAME}-{name}"
        assert "token" in doc["users"][0]["user"]


def test_learner_cannot_touch_another_learners_namespace(logins, cluster):
    a, b_ns = logins["ann"], f"{NAME}-ben"
    cluster.kubectl(["create", "configmap", "private", "-n", b_ns, "--from-literal=k=v"])
    cluster.kubectl(["create", "secret", "generic", "private", "-n", b_ns,
                     "--from-literal=k=v"])
    for verb in (["get", "configmap", "private"], ["get", "secret", "private"],
                 ["get", "pods"], ["get", "deployments"], ["get", "services"],
                 ["get", "secrets"], ["get", "events"]):
        refused(a, *verb, "-n", b_ns)
    refused(a, "create", "configmap", "mine", "-n", b_ns, "--from-literal=k=v")
    refused(a, "create", "deployment", "web", "-n", b_ns, "--image=x/y:1")
    refused(a, "patch", "configmap", "private", "-n", b_ns, "-p", '{"data":{"k":"x"}}')
    refused(a, "delete", "configmap", "private", "-n", b_ns)
    refused(a, "label", "namespace", b_ns, "owner=ann")
    for ns in (f"{b_ns}-b", "default", "kube-system"):
        refused(a, "get", "secrets", "-n", ns)
        refused(a, "create", "configmap", "mine", "-n", ns, "--from-literal=k=v")


def test_learner_cannot_act_on_the_whole_cluster(logins):
    a = logins["ann"]
    refused(a, "create", "namespace", "ann-extra")
    refused(a, "get", "namespaces")
    refused(a, "get", "pods", "-A")
    refused(a, "create", "clusterrole", "mine", "--verb=get", "--resource=pods")
    refused(a, "create", "clusterrolebinding", "mine", "--clusterrole=cluster-admin",
            f"--serviceaccount={NAME}-ann:learner")
    refused(a, "apply", "-f", "-", stdin=json.dumps(sandbox.node_manifest(9)))
    refused(a, "label", "node", "kubelab-node-1", "owner=ann")
    refused(a, "delete", "node", "kubelab-node-1")
    refused(a, "create", "quota", "more", "--hard=pods=100")


def test_learner_cannot_bind_itself_to_more_power(logins):
    a, ns = logins["ann"], f"{NAME}-ann"
    refused(a, "create", "rolebinding", "escalate", "-n", ns, "--clusterrole=cluster-admin",
            f"--serviceaccount={ns}:learner")
    refused(a, "create", "rolebinding", "escalate", "-n", ns, "--clusterrole=admin",
            f"--serviceaccount={ns}:learner")
    refused(a, "create", "role", "mine", "-n", ns, "--verb=*", "--resource=*")
    refused(a, "patch", "resourcequota", "kubelab-budget", "-n", ns, "-p",
            '{"spec":{"hard":{"pods":"1000"}}}')


def test_learner_cannot_exceed_its_quota(logins):
    a, ns = logins["ann"], f"{NAME}-ann"
    greedy = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "greedy"},
              "spec": {"containers": [{"name": "m", "image": versions.IMAGES["busybox"],
                                       "resources": {
                                           "requests": {"cpu": "3"}, "limits": {"cpu": "3"}}}]}}
    proc = as_learner(a, "apply", "-n", ns, "-f", "-", stdin=json.dumps(greedy))
    ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
    assert proc.returncode != 0 and "exceeded quota" in proc.stderr, proc.stderr


def _pod(name: str, **spec: object) -> str:
    container = {"name": "main", "image": versions.IMAGES["busybox"],
                 "command": ["sleep", "3600"]}
    container.update(spec.pop("container", {}))
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [container], **spec}})


HOST_PODS = {
    "privileged": _pod("root-on-the-node", container={"securityContext": {"privileged": True}}),
    "hostPath": _pod("node-disk", volumes=[{"name": "root", "hostPath": {"path": "/"}}],
                     container={"volumeMounts": [{"name": "root", "mountPath": "/host"}]}),
    "hostNetwork": _pod("node-network", hostNetwork=True),
    "hostPID": _pod("node-processes", hostPID=True),
    "capabilities": _pod("node-admin", container={
        "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}),
}


def test_learner_namespaces_enforce_pod_security_baseline(logins, cluster):
    for ns in (f"{NAME}-ann", f"{NAME}-ann-b"):
        labels = json.loads(cluster.kubectl(["get", "namespace", ns, "-o", "json"]).stdout)[
            "metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"


@pytest.mark.parametrize("what", sorted(HOST_PODS))
def test_learner_cannot_run_a_pod_that_reaches_into_the_node(logins, what):
    a = logins["ann"]
    for ns in (f"{NAME}-ann", f"{NAME}-ann-b"):
        proc = as_learner(a, "create", "-n", ns, "-f", "-", stdin=HOST_PODS[what])
        ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
        assert proc.returncode != 0, f"{what} pod allowed in {ns}: {proc.stdout}"
        assert "violates PodSecurity" in proc.stderr and "baseline" in proc.stderr, \
            proc.stderr


def test_a_plain_pod_runs_with_a_warning_about_the_restricted_profile(logins):
    a, ns = logins["ann"], f"{NAME}-ann"
    proc = as_learner(a, "create", "-n", ns, "-f", "-", stdin=_pod("plain"))
    ATTEMPTS["allowed as expected" if proc.returncode == 0 else "WRONGLY REFUSED"] += 1
    try:
        assert proc.returncode == 0, proc.stderr
        assert 'would violate PodSecurity "restricted' in proc.stderr, proc.stderr
    finally:
        as_learner(a, "delete", "pod", "plain", "-n", ns, "--wait=false",
                   "--ignore-not-found")


def test_learner_cannot_mint_a_service_account_token_secret(logins, cluster):
    a = logins["ann"]
    token_secret = json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "forever", "annotations": {
            "kubernetes.io/service-account.name": LEARNER_SERVICE_ACCOUNT}}})
    for ns in (f"{NAME}-ann", f"{NAME}-ann-b"):
        proc = as_learner(a, "create", "-n", ns, "-f", "-", stdin=token_secret)
        ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
        assert proc.returncode != 0, f"token Secret allowed in {ns}: {proc.stdout}"
        assert "denied request" in proc.stderr and "service-account-token" in proc.stderr, \
            proc.stderr
    # the policy is scoped to the workshop's namespaces, and other Secrets still work
    allowed(a, "create", "secret", "generic", "still-fine", "-n", f"{NAME}-ann-b",
            "--from-literal=k=v")
    policy = workshop.policy_name(NAME)
    binding = json.loads(cluster.kubectl(["get", "validatingadmissionpolicybinding", policy,
                                          "-o", "json"]).stdout)
    assert binding["spec"]["matchResources"]["namespaceSelector"] == {
        "matchLabels": {workshop.WORKSHOP_LABEL: NAME}}


def test_learner_cannot_remove_the_rules_that_bind_it(logins):
    a, ns = logins["ann"], f"{NAME}-ann"
    policy = workshop.policy_name(NAME)
    refused(a, "delete", "validatingadmissionpolicybinding", policy)
    refused(a, "delete", "validatingadmissionpolicy", policy)
    refused(a, "label", "namespace", ns, "--overwrite",
            "pod-security.kubernetes.io/enforce=privileged")


def test_learner_can_do_what_the_chapters_need_at_home(logins):
    a, ns = logins["ann"], f"{NAME}-ann"
    allowed(a, "create", "deployment", "web", "--image=registry.k8s.io/e2e-test-images/"
            "agnhost:2.63.0", "--replicas=2")
    allowed(a, "scale", "deployment/web", "--replicas=3")
    allowed(a, "set", "image", "deployment/web", "agnhost=registry.k8s.io/e2e-test-images/"
            "agnhost:2.59")
    allowed(a, "rollout", "undo", "deployment/web")
    allowed(a, "expose", "deployment", "web", "--port=80", "--target-port=8080",
            "--type=NodePort")
    allowed(a, "create", "configmap", "settings", "--from-literal=color=blue")
    allowed(a, "create", "secret", "generic", "token", "--from-literal=t=x")
    allowed(a, "create", "ingress", "web", "--rule=web.example.test/*=web:80")
    allowed(a, "get", "pods,rs,deploy,svc,ep,endpointslices,ingress,quota,limitrange")
    allowed(a, "describe", "deployment", "web")
    allowed(a, "get", "nodes")
    allowed(a, "get", "ingressclasses")
    allowed(a, "get", "namespace", ns)
    allowed(a, "create", "deployment", "web", "-n", f"{ns}-b",
            "--image=registry.k8s.io/e2e-test-images/agnhost:2.63.0")
    allowed(a, "delete", "deployment", "web")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _resign(token: str, key: Path, **claims: int) -> str:
    """The same token with some claims changed, signed again with the cluster's own
    service-account key (the sandbox's key is on this machine)."""
    header, payload, _ = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    signing_input = f"{header}.{_b64url(json.dumps(body).encode())}"
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)],
                         input=signing_input.encode(), capture_output=True, check=True).stdout
    return f"{signing_input}.{_b64url(sig)}"


def test_a_token_past_its_expiry_is_refused(logins, cluster, tmp_path):
    if cluster.backend != "sandbox":
        pytest.skip("needs the cluster's signing key, which only the sandbox keeps locally")
    key = Path(cluster.details["workdir"]) / "clusters" / "kubelab" / "pki" / "admin.key"
    doc = yaml.safe_load(logins["ann"].read_text())
    token = doc["users"][0]["user"]["token"]
    now = int(time.time())

    def with_token(t: str) -> Path:
        doc["users"][0]["user"]["token"] = t
        path = tmp_path / f"kc-{len(list(tmp_path.iterdir()))}"
        path.write_text(yaml.safe_dump(doc))
        return path

    # Control: re-signed with a valid lifetime, the token still works, so the signing is
    # right and only the expiry differs below.
    fresh = with_token(_resign(token, key, iat=now - 60, nbf=now - 60, exp=now + 3600))
    assert as_learner(fresh, "get", "pods").returncode == 0
    expired = with_token(_resign(token, key, iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    proc = as_learner(expired, "get", "pods")
    ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
    assert proc.returncode != 0 and "Unauthorized" in proc.stderr, proc.stderr


def test_progress_reads_what_the_checks_recorded(logins, cluster):
    from kubelab._session.scope import workshop_login
    from kubelab.lab import Lab
    login, ns = workshop_login(str(logins["ben"]))
    lab = Lab(cluster=login, namespace=ns, chapter="99-test", workshop=True)
    lab.check("one thing holds", True)
    with pytest.raises(KubelabError):
        lab.check("another does not", False)
    table = workshop.progress(cluster, NAME)
    assert table["ben"]["99-test"] == {"one thing holds": True, "another does not": False}
    assert table["ann"] == {}
    text = workshop.progress_table(table)
    assert "ben" in text and "1/2" in text


def test_delete_removes_exactly_what_create_made(cluster, tmp_path):
    cluster.kubectl(["create", "namespace", "wsother-keep"])
    try:
        learners = workshop.learners_from(None, 2, "wsother")
        workshop.create(cluster, learners, tmp_path, hours=1, log=lambda m: None)
        labelled = f"{workshop.WORKSHOP_LABEL}=wsother"
        kinds = workshop.DELETED_KINDS
        before = cluster.kubectl(["get", kinds, "-l", labelled, "-o", "name"]).stdout.split()
        # 2 learners: 2 ns, 1 CR, 1 CRB each; and the workshop's policy and its binding
        assert len(before) == 2 * 2 + 2 + 2 + 2
        workshop.delete(cluster, "wsother", log=lambda m: None)
        after = cluster.kubectl(["get", kinds, "-l", labelled, "-o", "name"]).stdout.split()
        assert after == []
        assert cluster.kubectl(["get", "namespace", "wsother-keep"]).returncode == 0
    finally:
        cluster.kubectl(["delete", "namespace", "wsother-keep", "--wait=false"])


@pytest.mark.parametrize("names, count, problem", [
    (["ann smith"], None, "DNS labels"), (["a", "a"], None, "repeat"), (None, None, "no learners"),
])
def test_bad_learner_lists_are_explained(names, count, problem):
    with pytest.raises(KubelabError, match=problem):
        workshop.learners_from(names, count, "ws")


def test_no_limit_on_the_number_of_learners():
    assert len(workshop.learners_from(None, 500, "ws")) == 500
    assert not hasattr(workshop, "MAX_LEARNERS")


def test_the_ledger_writes_issued_ports_as_ranges():
    from kubelab.workshop.ports import format_ports, parse_ports
    ports = {30000, 30001, 30002, 30005, 31000, 31001}
    assert format_ports(ports) == "30000-30002,30005,31000-31001"
    assert parse_ports(format_ports(ports)) == ports and parse_ports("") == set()
