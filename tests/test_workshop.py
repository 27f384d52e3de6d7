"""Workshop isolation, proven against the real apiserver: learner A is refused everything
outside its own namespaces, can do what the chapters need inside them, and an expired
token is refused. Every attempt is counted; the counts print at the end."""
from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from learner_logins import ATTEMPTS, GREEDY, HOST_PODS, allowed, as_learner, pod, refused

from kubelab import workshop
from kubelab._base.contract import LEARNER_SERVICE_ACCOUNT
from kubelab._base.errors import KubelabError

pytestmark = pytest.mark.cluster
NAME = "wstest"


@pytest.fixture(scope="module")
def logins(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("kubeconfigs")
    learners = workshop.learners_from(["ann", "ben"], None, NAME)
    made = workshop.create(cluster, learners, out, hours=1, log=lambda m: None)
    yield {m["learner"]: Path(m["kubeconfig"]) for m in made}
    workshop.delete(cluster, NAME, log=lambda m: None)
    print(f"\nworkshop isolation attempts: {dict(ATTEMPTS)}")


def test_learner_cannot_exceed_its_quota(logins):
    a, ns = logins["ann"], f"{NAME}-ann"
    proc = as_learner(a, "apply", "-n", ns, "-f", "-", stdin=GREEDY)
    ATTEMPTS["refused as expected" if proc.returncode else "WRONGLY ALLOWED"] += 1
    assert proc.returncode != 0 and "exceeded quota" in proc.stderr, proc.stderr


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
    proc = as_learner(a, "create", "-n", ns, "-f", "-", stdin=pod("plain"))
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
