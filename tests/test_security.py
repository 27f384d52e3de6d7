"""What keeps secrets secret and learners in their lane, checked without a cluster: the
state directory and its files are private from the start, and a workshop's manifests
carry Pod Security Admission and the token-Secret policy. (tests/test_workshop.py proves
on the sandbox that the apiserver enforces them.)"""
from __future__ import annotations

import json
import os
import stat

import pytest

from kubelab import workshop
from kubelab._cluster.cluster import Cluster
from kubelab._system import paths


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_state_directory_is_created_private(isolated_home, loose_umask):
    assert not isolated_home.exists()
    assert paths.state_dir() == isolated_home
    assert mode(isolated_home) == 0o700


def test_a_state_directory_an_older_kubelab_left_open_is_closed(isolated_home, loose_umask):
    isolated_home.mkdir(mode=0o755)
    (isolated_home / "lab.json").write_text("{}")
    paths.state_dir()
    assert mode(isolated_home) == 0o700


def test_the_default_state_directory_is_closed_whatever_it_holds(tmp_path, monkeypatch,
                                                                 loose_umask):
    monkeypatch.delenv("KUBELAB_HOME", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    (tmp_path / "kubelab" / "something-new").mkdir(parents=True)
    (tmp_path / "kubelab").chmod(0o755)
    assert paths.state_dir() == tmp_path / "kubelab"
    assert mode(tmp_path / "kubelab") == 0o700


@pytest.mark.parametrize("shared", ["sticky", "other things"])
def test_a_folder_shared_on_purpose_is_left_as_it_is(tmp_path, monkeypatch, shared):
    home = tmp_path / "shared"
    home.mkdir()
    if shared == "sticky":
        home.chmod(0o1777)
    else:
        home.chmod(0o755)
        (home / "notes.txt").write_text("mine")
    monkeypatch.setenv("KUBELAB_HOME", str(home))
    before = mode(home)
    paths.state_dir()
    assert mode(home) == before


def test_private_files_are_never_readable_by_others_even_for_a_moment(tmp_path,
                                                                       monkeypatch):
    seen = []
    real_fdopen = os.fdopen

    def spy(fd: int, *a: object, **kw: object):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))   # the mode the file was born with
        return real_fdopen(fd, *a, **kw)

    monkeypatch.setattr(os, "fdopen", spy)
    old = os.umask(0)                  # even with no umask at all
    try:
        new = tmp_path / "new"
        paths.write_private(new, "secret")
    finally:
        os.umask(old)
    assert seen == [0o600] and mode(new) == 0o600 and new.read_text() == "secret"


def test_an_existing_readable_file_becomes_private(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("old and longer")
    path.chmod(0o644)
    paths.write_private(path, "new")
    assert mode(path) == 0o600 and path.read_text() == "new"


def test_the_lab_record_is_private(isolated_home, loose_umask):
    Cluster(backend="sandbox", kubeconfig="/x", context="c", created_by_kubelab=True).save()
    assert mode(isolated_home / "lab.json") == 0o600
    assert mode(isolated_home) == 0o700


# ------------------------------------------------------------------ workshops
def test_learner_namespaces_enforce_baseline_and_warn_about_restricted():
    learner = workshop.learners_from(["ann"], None, "ws")[0]
    namespaces = [o for o in workshop.objects_for(learner) if o["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespaces] == ["ws-ann", "ws-ann-b"]
    for ns in namespaces:
        labels = ns["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        assert labels[workshop.WORKSHOP_LABEL] == "ws"     # what the policy binding selects


def test_the_token_secret_policy_is_scoped_to_the_workshops_namespaces():
    policy, binding = workshop.workshop_objects("ws")
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert policy["kind"] == "ValidatingAdmissionPolicy"
    assert binding["kind"] == "ValidatingAdmissionPolicyBinding"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["secrets"] and "CREATE" in rule["operations"]
    (validation,) = spec["validations"]
    assert "kubernetes.io/service-account-token" in validation["expression"]
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert binding["spec"]["matchResources"]["namespaceSelector"] == {
        "matchLabels": {workshop.WORKSHOP_LABEL: "ws"}}
    # both carry the workshop's label, and delete removes their kinds
    for obj in (policy, binding):
        assert obj["metadata"]["labels"] == {workshop.WORKSHOP_LABEL: "ws"}
    assert {"validatingadmissionpolicies", "validatingadmissionpolicybindings"} <= set(
        workshop.DELETED_KINDS.split(","))


def test_learners_get_no_rights_over_admission_rules():
    rules = json.dumps(workshop.LEARNER_RULES)
    assert "admissionregistration" not in rules and "namespaces" not in rules


def test_the_enforcement_probe_asks_for_exactly_what_must_be_refused():
    learner = workshop.learners_from(["ann"], None, "ws")[0]
    probes = workshop.probe_objects(learner)
    assert probes["ValidatingAdmissionPolicy"]["type"] == "kubernetes.io/service-account-token"
    container = probes["PodSecurity"]["spec"]["containers"][0]
    assert container["securityContext"] == {"privileged": True}
