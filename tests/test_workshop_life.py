"""A class over its whole life, against the real apiserver: late joiners (`add`) get a slot
and fixed nodePorts never issued before, also after a `remove`; `renew` gives a working
login; `reset` and `remove` touch one learner only; a chapter takes a port out of its
reservation and emptying the namespace holds it again; an expired login names the fix;
more learners than the old limit of 43 get distinct ports, all held; bad input is refused
with one message and nothing changed."""
from __future__ import annotations

import argparse
import base64
import json
import time
from pathlib import Path

import pytest
from learner_logins import as_learner
import yaml

from kubelab import workshop
from kubelab._base.contract import (NODE_PORTS_ANNOTATION, RESERVATION_ANNOTATION,
                                    SLOT_ANNOTATION)
from kubelab._base import versions
from kubelab._base.errors import KubelabError, UsageError

pytestmark = pytest.mark.cluster
NAME = "wslife"
QUIET = {"log": lambda m: None}


def namespace(cluster, name: str) -> dict | None:
    proc = cluster.kubectl(["get", "namespace", name, "-o", "json"], check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def slot_and_ports(cluster, learner: str, ws: str = NAME) -> tuple[int, list[int]]:
    notes = namespace(cluster, f"{ws}-{learner}")["metadata"]["annotations"]
    return int(notes[SLOT_ANNOTATION]), [int(p) for p in notes[NODE_PORTS_ANNOTATION].split(",")]


def reserved(cluster, ns: str) -> dict[int, int]:
    """which -> nodePort of the reservation Services in a namespace."""
    svcs = json.loads(cluster.kubectl(["get", "services", "-n", ns, "-o", "json"]).stdout)
    return {int(s["metadata"]["annotations"][RESERVATION_ANNOTATION]):
            s["spec"]["ports"][0]["nodePort"] for s in svcs["items"]
            if RESERVATION_ANNOTATION in (s["metadata"].get("annotations") or {})}


@pytest.fixture(scope="module")
def klass(cluster, tmp_path_factory):
    """A workshop of two learners, ann and ben; tests add and remove others."""
    out = tmp_path_factory.mktemp("logins")
    workshop.delete(cluster, NAME, **QUIET)           # what an interrupted run left
    made = workshop.create(cluster, workshop.learners_from(["ann", "ben"], None, NAME),
                           out, hours=1, **QUIET)
    yield {"out": out, **{m["learner"]: Path(m["kubeconfig"]) for m in made}}
    workshop.delete(cluster, NAME, **QUIET)


def test_each_learner_has_a_slot_and_two_ports_held_by_reservations(klass, cluster):
    (slot_a, ports_a), (slot_b, ports_b) = (slot_and_ports(cluster, n) for n in ("ann", "ben"))
    assert (slot_a, slot_b) == (0, 1)
    assert len(set(ports_a + ports_b)) == 4
    low, high = workshop.node_port_range(cluster)
    assert (low, high) == (30000, 32767) and all(low <= p <= high for p in ports_a + ports_b)
    assert reserved(cluster, f"{NAME}-ann") == dict(enumerate(ports_a))
    # the ledger remembers what it issued
    next_slot, issued = workshop.ledger(cluster, NAME)
    assert next_slot == 2 and set(ports_a + ports_b) <= issued


def test_late_joiner_gets_a_new_slot_and_new_ports(klass, cluster):
    before = namespace(cluster, f"{NAME}-ann")["metadata"]["resourceVersion"]
    taken = workshop.allocated_node_ports(cluster)
    made = workshop.add(cluster, NAME, ["cho"], None, klass["out"], hours=1, **QUIET)
    try:
        assert as_learner(made[0]["kubeconfig"], "get", "pods").returncode == 0
        slot, ports = slot_and_ports(cluster, "cho")
        assert slot == 2
        assert not set(ports) & taken                   # nobody held them before
        assert reserved(cluster, f"{NAME}-cho") == dict(enumerate(ports))
        # nothing of the others changed
        assert namespace(cluster, f"{NAME}-ann")["metadata"]["resourceVersion"] == before
    finally:
        workshop.remove(cluster, NAME, ["cho"], **QUIET)


def test_remove_then_add_never_reuses_a_slot_or_port(klass, cluster):
    workshop.add(cluster, NAME, ["dan"], None, klass["out"], hours=1, **QUIET)
    old_slot, old_ports = slot_and_ports(cluster, "dan")
    assert workshop.remove(cluster, NAME, ["dan"], **QUIET) == ["dan"]
    assert namespace(cluster, f"{NAME}-dan") is None
    assert workshop.remove(cluster, NAME, ["dan"], **QUIET) == []     # twice is safe
    # the ports are free on the cluster again, and still not issued again
    assert not set(old_ports) & workshop.allocated_node_ports(cluster)
    workshop.add(cluster, NAME, ["dan"], None, klass["out"], hours=1, **QUIET)
    try:
        slot, ports = slot_and_ports(cluster, "dan")
        assert slot > old_slot and not set(ports) & set(old_ports)
    finally:
        workshop.remove(cluster, NAME, ["dan"], **QUIET)


def test_add_by_count_numbers_after_the_last_learner(klass, cluster):
    made = workshop.add(cluster, NAME, None, 2, klass["out"], hours=1, **QUIET)
    try:
        assert [m["learner"] for m in made] == ["learner01", "learner02"]
        assert set(workshop.existing_learners(cluster, NAME)) >= {"learner01", "learner02"}
        assert workshop.learners_from(None, 1, NAME, taken={"learner01", "learner02"})[
            0].name == "learner03"
    finally:
        workshop.remove(cluster, NAME, ["learner01", "learner02"], **QUIET)


def test_renew_gives_a_working_login_and_revoke_ends_the_old_one(klass, cluster, tmp_path):
    (ann,) = workshop.chosen(cluster, NAME, ["ann"], False)
    old = tmp_path / "old.kubeconfig"
    old.write_bytes(klass["ann"].read_bytes())
    (made,) = workshop.renew(cluster, [ann], tmp_path, hours=1, **QUIET)
    new = Path(made["kubeconfig"])
    assert new.stat().st_mode & 0o077 == 0 and new.read_text() != old.read_text()
    assert as_learner(new, "get", "pods").returncode == 0
    assert as_learner(old, "get", "pods").returncode == 0     # not revoked: still valid
    (made,) = workshop.renew(cluster, [ann], tmp_path, hours=1, revoke=True, **QUIET)
    deadline = time.monotonic() + 15            # the apiserver reads accounts from a cache
    while (proc := as_learner(old, "get", "pods")).returncode == 0 and \
            time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.returncode != 0 and "Unauthorized" in proc.stderr, proc.stderr
    assert as_learner(made["kubeconfig"], "get", "pods").returncode == 0
    # the revoked account's rights came back with it
    assert as_learner(made["kubeconfig"], "create", "configmap", "x",
                      "--from-literal=k=v").returncode == 0
    klass["ann"].write_bytes(Path(made["kubeconfig"]).read_bytes())


def test_a_chapter_takes_its_port_from_the_reservation_and_reset_holds_it_again(
        klass, cluster):
    from kubelab._session.scope import workshop_login
    from kubelab.lab import Lab
    _, ports = slot_and_ports(cluster, "ben")
    login, ns = workshop_login(str(klass["ben"]))
    lab = Lab(cluster=login, namespace=ns, chapter="99-test", workshop=True)
    port = lab.node_port(0)
    assert port == ports[0] and 0 not in reserved(cluster, ns) and 1 in reserved(cluster, ns)
    # the learner's own cell now uses it, as chapter 06 does
    lab.kubectl(["create", "service", "nodeport", "web-fixed", "--tcp=80:8080",
                 f"--node-port={port}"])
    lab.kubectl(["create", "configmap", "mine", "--from-literal=k=v"])
    lab.check("a check is recorded", True)
    cluster.kubectl(["create", "configmap", "keep-me", "-n", f"{NAME}-ann",
                     "--from-literal=k=v"])
    workshop.reset(cluster, workshop.chosen(cluster, NAME, ["ben"], False), **QUIET)
    names = cluster.kubectl(["get", "services,configmaps,resourcequotas,limitranges,"
                             "serviceaccounts,roles,rolebindings", "-n", ns, "-o",
                             "name"]).stdout.split()
    assert "service/web-fixed" not in names and "configmap/mine" not in names
    for kept in ("configmap/kubelab-progress", "resourcequota/kubelab-budget",
                 "limitrange/kubelab-defaults", "serviceaccount/learner",
                 "role.rbac.authorization.k8s.io/kubelab-learner"):
        assert kept in names, (kept, names)
    assert reserved(cluster, ns) == dict(enumerate(ports))          # held again
    # ann's namespace was not touched
    assert cluster.kubectl(["get", "configmap", "keep-me", "-n", f"{NAME}-ann"]).returncode == 0
    # the learner's own first cell does the same
    lab.node_port(1)
    lab.reset_namespace()
    assert reserved(cluster, ns) == dict(enumerate(ports))
    cluster.kubectl(["delete", "configmap", "keep-me", "-n", f"{NAME}-ann"])


def test_remove_deletes_only_that_learner(klass, cluster):
    workshop.add(cluster, NAME, ["eve"], None, klass["out"], hours=1, **QUIET)
    selector = f"{workshop.WORKSHOP_LABEL}={NAME}"
    before = set(cluster.kubectl(["get", workshop.DELETED_KINDS, "-l", selector, "-o",
                                  "name"]).stdout.split())
    workshop.remove(cluster, NAME, ["eve"], **QUIET)
    after = set(cluster.kubectl(["get", workshop.DELETED_KINDS, "-l", selector, "-o",
                                 "name"]).stdout.split())
    gone = before - after
    assert gone == {f"namespace/{NAME}-eve", f"namespace/{NAME}-eve-b",
                    f"clusterrole.rbac.authorization.k8s.io/kubelab-{NAME}-eve",
                    f"clusterrolebinding.rbac.authorization.k8s.io/kubelab-{NAME}-eve"}, gone
    assert as_learner(klass["ben"], "get", "pods").returncode == 0


def _token(exp: float) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'RS256'})}.{enc({'exp': int(exp), 'sub': 'x'})}.c2ln"


def test_an_expired_login_names_the_instructors_fix(klass, cluster, tmp_path):
    from kubelab._session.scope import workshop_login
    from kubelab.lab import Lab
    doc = yaml.safe_load(klass["ben"].read_text())
    fix = f"kubelab workshop renew --name {NAME} ben"
    # expired on the way in: refused before any call
    doc["users"][0]["user"]["token"] = _token(time.time() - 60)
    (tmp_path / "old").write_text(yaml.safe_dump(doc))
    with pytest.raises(KubelabError, match="login has expired") as e:
        workshop_login(str(tmp_path / "old"))
    assert fix in e.value.fix
    # refused by the apiserver (401) mid-chapter: kubectl and the API client both say so
    doc["users"][0]["user"]["token"] = _token(time.time() + 3600)
    (tmp_path / "bad").write_text(yaml.safe_dump(doc))
    login, ns = workshop_login(str(tmp_path / "bad"))
    lab = Lab(cluster=login, namespace=ns, chapter="99-test", workshop=True)
    for call in (lambda: lab.kubectl("get pods"), lambda: lab.list("Pod")):
        with pytest.raises(KubelabError, match="login has expired") as e:
            call()
        assert fix in e.value.fix


def test_bad_input_is_refused_with_one_message_and_nothing_changed(klass, cluster, tmp_path):
    selector = f"{workshop.WORKSHOP_LABEL}={NAME}"
    before = cluster.kubectl(["get", workshop.DELETED_KINDS, "-l", selector, "-o",
                              "name"]).stdout
    cases = [
        (lambda: workshop.add(cluster, NAME, ["Ann Smith"], None, tmp_path, 1),
         "DNS labels"),
        (lambda: workshop.add(cluster, NAME, ["ben", "new"], None, tmp_path, 1),
         "already in workshop"),
        (lambda: workshop.add(cluster, "wsnone", ["x"], None, tmp_path, 1),
         "no workshop wsnone"),
        (lambda: workshop.create(cluster, workshop.learners_from(["zed"], None, NAME),
                                 tmp_path, 1), "exists already"),
        (lambda: workshop.chosen(cluster, NAME, ["nobody"], False), "not in workshop"),
    ]
    for call, phrase in cases:
        with pytest.raises(UsageError, match=phrase) as e:
            call()
        assert e.value.fix
    with pytest.raises(UsageError) as e:
        workshop.create(cluster, workshop.learners_from(["zed"], None, NAME), tmp_path, 1)
    assert f"kubelab workshop add --name {NAME}" in e.value.fix
    assert cluster.kubectl(["get", workshop.DELETED_KINDS, "-l", selector, "-o",
                            "name"]).stdout == before
    assert namespace(cluster, f"{NAME}-new") is None


def test_delete_while_learners_work_needs_yes(klass, cluster, monkeypatch):
    from kubelab.cli import workshop as cli
    ns = f"{NAME}-ann"
    cluster.kubectl(["run", "busy", "-n", ns, f"--image={versions.IMAGES['busybox']}",
                     "--restart=Never"])
    try:
        assert workshop.busy_namespaces(cluster, NAME) == [ns]
        monkeypatch.setattr(workshop, "instructor_cluster", lambda c, k: cluster)
        args = argparse.Namespace(name=NAME, context=None, kubeconfig=None, yes=False)
        with pytest.raises(UsageError, match="1 learner namespaces .* still hold pods") as e:
            cli.cmd_delete(args)
        assert "--yes" in e.value.fix
        assert namespace(cluster, ns) is not None
    finally:
        cluster.kubectl(["delete", "pod", "busy", "-n", ns, "--wait=false"])


def test_more_learners_than_the_old_limit_get_distinct_held_ports(cluster, tmp_path):
    ws, count = "wsbig", 61
    workshop.delete(cluster, ws, **QUIET)
    start = time.monotonic()
    made = workshop.create(cluster, workshop.learners_from(None, count, ws), tmp_path,
                           hours=1, **QUIET)
    took = time.monotonic() - start
    try:
        print(f"\n{count} learners in {took:.1f} s")
        assert len(made) == count
        per_learner = {}
        svcs = json.loads(cluster.kubectl(["get", "services", "-A", "-l",
                                           f"{workshop.WORKSHOP_LABEL}={ws}", "-o",
                                           "json"]).stdout)["items"]
        for s in svcs:
            per_learner.setdefault(s["metadata"]["namespace"], set()).add(
                s["spec"]["ports"][0]["nodePort"])
        ports = [p for held in per_learner.values() for p in held]
        assert len(per_learner) == count and all(len(h) == 2 for h in per_learner.values())
        assert len(set(ports)) == 2 * count                  # distinct, and all held
        assert max(ports) > 30085        # beyond the band the old limit of 43 came from
        slots = {slot_and_ports(cluster, m["learner"], ws)[0] for m in made}
        assert slots == set(range(count))
    finally:           # not waited for: deleting 122 namespaces takes the namespace
        cluster.kubectl(["delete", workshop.DELETED_KINDS, "-l",       # controller a minute
                         f"{workshop.WORKSHOP_LABEL}={ws}", "--wait=false"], timeout=120)


def test_the_board_follows_checks_live_and_names_who_is_stuck(klass, cluster):
    """The instructor's board, from the watch API: a learner's failing check shows at once,
    as stuck once it has failed long enough (here: at once), and clears when it passes;
    the other learner's row does not change."""
    from kubelab._base.errors import CheckFailed
    from kubelab._session.scope import workshop_login
    from kubelab.lab import Lab
    from kubelab.workshop.board import Board, wait_until
    board = Board(cluster, NAME, stuck_minutes=0, hours=0.05).start()
    try:
        ben_before = {c: r.checks for c, r in board.records.get("ben", {}).items()}
        login, ns = workshop_login(str(klass["ann"]))
        lab = Lab(cluster=login, namespace=ns, chapter="98-board", workshop=True)
        lab.check("a first check holds", True)
        with pytest.raises(CheckFailed):
            lab.check("a second check holds", False, hint="try again")
        rows = wait_until(board, lambda rows: any(
            r.learner == "ann" and r.stuck and r.stuck[1].failing == "a second check holds"
            for r in rows), timeout=30)
        ann = next(r for r in rows if r.learner == "ann")
        assert ann.chapters["98-board"].checks == {"a first check holds": True,
                                                   "a second check holds": False}
        assert ann.last is not None
        shown = board.text()
        assert "98-board" in shown and "✗ a second check holds" in shown and \
            "self-reported" in shown
        assert "#f5b7b1" in board.html()                     # red: stuck
        lab.check("a second check holds", True)
        wait_until(board, lambda rows: any(r.learner == "ann" and r.stuck is None and
                                           not r.chapters["98-board"].failing for r in rows),
                   timeout=30)
        assert {c: r.checks for c, r in board.records.get("ben", {}).items()} == ben_before
        assert board.events >= 3
        print(board.text())
    finally:
        board.stop()


def test_the_board_notebook_shows_the_class(klass, tmp_path):
    import nbformat
    import papermill
    from notebook_runs import text_of
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "instructor" / "board.ipynb"
    out = tmp_path / "board.ipynb"
    papermill.execute_notebook(str(notebook), str(out), kernel_name="python3",
                               parameters={"workshop": NAME, "hours": 0.001},
                               cwd=str(notebook.parent), progress_bar=False)
    shown = "".join(text_of(c) for c in nbformat.read(out, as_version=4).cells)
    assert "ann" in shown and "ben" in shown and "self-reported" in shown, shown
