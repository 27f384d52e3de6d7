"""Exercises that make the learner think (issue 11, item 4): every exercise's answer lives
in kubelab/solutions/, not in the check cell; the hint a failing check gives is not the
answer; the folded Solution still shows it, and nothing above the fold does. Also the
helpers the checks read through (kubelab/facts.py, kubelab/clients.py). No cluster."""
from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from i18n_tool import catalog
from kubelab._session import clients, facts, solutions

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DETAILS = re.compile(r"<details>.*?</details>", re.S)


def exercise_calls(path: Path) -> list[tuple[ast.Call, str]]:
    """(the lab.exercise call, its cell's source) in a chapter."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        python = catalog._python_source(cell.source)
        if python is None:
            continue
        for node in ast.walk(ast.parse(python)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "exercise"):
                found.append((node, cell.source))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_a_stored_solution_and_none_in_the_notebook(path):
    stored = solutions.load(path.stem)
    ids = []
    for call, _ in exercise_calls(path):
        assert isinstance(call.args[0], ast.Constant), "the first argument is the exercise id"
        ids.append(call.args[0].value)
        assert not [k for k in call.keywords if k.arg in ("solution", "settle")], \
            f"{path.stem}: {call.args[0].value} carries its solution in the notebook"
        hint = [k.value for k in call.keywords if k.arg == "hint"] + call.args[3:4]
        assert hint, f"{call.args[0].value}: a failing check must give a hint"
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(stored), (ids, sorted(stored))
    for fn in stored.values():
        assert solutions.describe(fn) and fn.reveals


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_answer_shows_above_its_fold(path):
    """What gives an answer away appears in a folded Solution, and nowhere else: not in
    a code cell (the check cell included), not in the prose outside <details>."""
    cells = nbformat.read(path, as_version=4).cells
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    folded = "\n".join(DETAILS.findall(prose))
    unfolded = DETAILS.sub("", prose)
    for exercise_id, fn in solutions.load(path.stem).items():
        for text in fn.reveals:
            assert text in folded, f"{exercise_id}: the Solution fold no longer shows {text!r}"
            assert text not in code, f"{exercise_id}: {text!r} is visible in a code cell"
            assert text not in unfolded, f"{exercise_id}: {text!r} is visible above the fold"


def cell_text(source: str) -> str:
    """The text of a code cell's string literals (f-strings' literal parts), joined."""
    return "\n".join(n.value for n in ast.walk(ast.parse(catalog._python_source(source)))
                     if isinstance(n, ast.Constant) and isinstance(n.value, str))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_wrong_answers_its_check_must_refuse(path):
    """Beside each solution, the mistakes learners make (issue 23): CI applies each and
    wants the check to refuse it with words that point at the mistake. Each says what it
    does, which words its refusal must print, and belongs to an exercise of the chapter;
    at least one of its words is the check cell's own text (its description, hint, or
    the detail it formats); the others may be data the detail shows."""
    calls = {call.args[0].value: cell for call, cell in exercise_calls(path)}
    wrong = solutions.wrong_answers(path.stem)
    for exercise_id in calls:
        mine = [fn for fn in wrong if fn.wrong_for == exercise_id]
        assert mine, f"{path.stem}: exercise {exercise_id} has no wrong answer to refuse"
    for fn in wrong:
        assert fn.wrong_for in calls, f"{fn.__name__}: no exercise {fn.wrong_for!r} here"
        assert solutions.describe(fn) != fn.__name__, f"{fn.__name__}: say what it does"
        assert fn.shows and all(w.strip() for w in fn.shows), fn.__name__
        text = cell_text(calls[fn.wrong_for]).lower()
        assert any(w.lower() in text for w in fn.shows), (
            f"{fn.__name__}: none of {fn.shows} is in the description, hint or detail of "
            "its check cell (the others may be data the detail shows)")
        if fn.undo is not None:
            assert solutions.describe(fn.undo) != fn.undo.__name__, fn.undo.__name__


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_wrong_answers_and_undos_take_what_the_check_cell_gives(path):
    """Each is called as fn(lab, **given), with the `given` of its exercise's call."""
    import inspect
    for call, _ in exercise_calls(path):
        exercise_id = call.args[0].value
        given = next((k.value for k in call.keywords if k.arg == "given"), None)
        keys = [k.value for k in given.keys] if isinstance(given, ast.Dict) else []
        fns = [solutions.find(path.stem, exercise_id)]
        for fn in solutions.wrong_answers(path.stem, exercise_id):
            fns += [fn] + ([fn.undo] if fn.undo else [])
        for fn in fns:
            inspect.signature(fn).bind(None, **dict.fromkeys(keys))


def test_a_wrong_answer_is_refused_then_the_solution_runs(monkeypatch, capsys):
    """The order CI follows (no cluster: a Grading with stand-ins): the unsolved check
    fails, each wrong answer is refused with its words and undone, then the solution
    passes; a wrong answer that passes, or a refusal without its words, is ExerciseUnfit."""
    from kubelab._base.errors import ExerciseUnfit
    from kubelab._session.grading import Grading
    from kubelab._session.solutions import wrong

    monkeypatch.setenv("KUBELAB_SOLVE", "1")

    class Scope:
        learner = False

    class Reads:
        def wait_for(self, *a, **kw):
            return []

    state = {"value": 0, "ran": []}
    grading = Grading("00-start-here", [], Reads(), Scope(), subject=state)

    def reset(lab):
        """set it back to 0"""
        lab["ran"].append("undo")
        lab["value"] = 0

    @wrong("x", shows=("seen 3", "four"), undo=reset)
    def three(lab):
        """set it to 3"""
        lab["ran"].append("three")
        lab["value"] = 3

    def solve(lab):
        """set it to 4"""
        lab["ran"].append("solve")
        lab["value"] = 4

    condition = lambda: (state["value"] == 4, f"seen {state['value']}")  # noqa: E731
    grading.exercise("x", "the value is 4", condition, "make it four", solution=solve,
                     wrong=[three])
    assert state["ran"] == ["three", "undo", "solve"]
    assert [r.passed for r in grading.results] == [True]
    assert "refused, as it should be" in capsys.readouterr().out

    state.update(value=0, ran=[])
    three.shows = ("nothing like this",)
    with pytest.raises(ExerciseUnfit, match="does not point at the mistake"):
        grading.exercise("x", "the value is 4", condition, "make it four", solution=solve,
                         wrong=[three])
    state.update(value=0, ran=[])

    @wrong("x", shows=())
    def four(lab):
        """set it to 4 (not a mistake at all)"""
        lab["value"] = 4
    with pytest.raises(ExerciseUnfit, match="accepted a wrong answer"):
        grading.exercise("x", "the value is 4", condition, "make it four", solution=solve,
                         wrong=[four])


def test_solutions_are_found_by_chapter_and_id():
    fn = solutions.find("00-start-here", "scale-web")
    assert solutions.describe(fn) == "kubectl scale deployment/web --replicas=4"
    assert solutions.load("99-nothing") == {}
    with pytest.raises(Exception, match="no stored solution"):
        solutions.find("00-start-here", "nope")


class Recorder:
    """Stands in for a Lab: records what a solution would run."""

    def __init__(self):
        self.ran: list = []

    def kubectl(self, args, **kw):
        self.ran.append(args)
        return ""

    def apply(self, text):
        self.ran.append(text)
        return ""


def test_a_solution_does_what_its_fold_says():
    lab = Recorder()
    solutions.find("04-kubectl", "delete-from-url")(lab, url="http://127.0.0.1:1234/web.yaml")
    assert lab.ran == [["delete", "-f", "http://127.0.0.1:1234/web.yaml"]]
    lab = Recorder()
    solutions.find("06-services", "admin-port")(lab, admin_port=30123)
    assert "nodePort: 30123" in lab.ran[0] and "port: 9000" in lab.ran[0]


# ------------------------------------------------------------------ facts
def rs(name, have, ready):
    return {"metadata": {"name": name}, "status": {"replicas": have, "readyReplicas": ready}}


ROLLING = [{"a": rs("a", 4, 4)}, {"a": rs("a", 4, 4), "b": rs("b", 1, 0)},
           {"a": rs("a", 4, 4), "b": rs("b", 1, 1)}, {"a": rs("a", 3, 3), "b": rs("b", 1, 1)},
           {"a": rs("a", 0, 0), "b": rs("b", 4, 4)}]
RECREATE = [{"a": rs("a", 4, 4)}, {"a": rs("a", 0, 0)}, {"a": rs("a", 0, 0), "b": rs("b", 4, 0)},
            {"a": rs("a", 0, 0), "b": rs("b", 4, 4)}]


def test_rollout_facts():
    assert facts.versions_ready_together(ROLLING) and facts.never_fewer_ready(ROLLING, 4)
    assert not facts.versions_side_by_side(RECREATE) and facts.moment_without_pods(RECREATE)
    assert facts.versions_side_by_side(ROLLING) and not facts.moment_without_pods(ROLLING)
    assert not facts.never_fewer_ready(RECREATE[2:], 4)
    assert facts.rollout_story(ROLLING[-1:]) == "ready/pods per ReplicaSet: 0/0+4/4"


def test_pod_status_and_rollout_complete():
    """What `kubectl get pods` and `kubectl rollout status` say, read from the objects."""
    waiting = {"metadata": {"name": "a"}, "status": {"phase": "Pending", "containerStatuses": [
        {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}
    assert facts.pod_status(waiting) == "ImagePullBackOff"
    assert facts.pod_status({"metadata": {}, "status": {"phase": "Pending"}}) == "Pending"
    assert facts.pod_status({"metadata": {}, "status": {"phase": "Running",
                             "containerStatuses": [{"state": {"running": {}}}]}}) == "Running"
    assert facts.pod_status({"metadata": {"deletionTimestamp": "now"}}) == "Terminating"

    def deployment(generation, observed, updated, available, total=2):
        return {"metadata": {"generation": generation}, "spec": {"replicas": 2},
                "status": {"observedGeneration": observed, "updatedReplicas": updated,
                           "replicas": total, "availableReplicas": available}}
    assert facts.rollout_complete(deployment(2, 2, 2, 2))
    assert not facts.rollout_complete(deployment(2, 2, 1, 2, total=3))   # stuck: old pods serve
    assert not facts.rollout_complete(deployment(3, 2, 2, 2))            # not seen yet
    assert not facts.rollout_complete(None)


def pod(name, ready, leaving=False):
    meta = {"name": name, **({"deletionTimestamp": "now"} if leaving else {})}
    return {"metadata": meta, "status": {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_fewest_ready_pods_reads_a_live_view_of_pods():
    """05a: one old pod at a time keeps 2 Ready; all at once leaves none."""
    a, b, c = pod("a", True), pod("b", True), pod("c", True)
    listing = [{"a": a}, {"a": a, "b": b}, {"a": a, "b": b, "c": c}]
    one_by_one = listing + [{"a": pod("a", True, True), "b": b, "c": c, "d": pod("d", False)},
                            {"b": b, "c": c, "d": pod("d", True)}]
    all_at_once = listing + [{"a": pod("a", True, True), "b": pod("b", True, True),
                              "c": pod("c", True, True)},
                             {"d": pod("d", True), "e": pod("e", False)}]
    assert facts.fewest_ready_pods(one_by_one, 2) == 2
    assert facts.fewest_ready_pods(all_at_once, 2) == 1
    assert facts.fewest_ready_pods(listing[:1], 2) is None


def test_revisions_and_the_port_an_ingress_names():
    rs = [{"metadata": {"name": f"web-{h}", "annotations": {
        "deployment.kubernetes.io/revision": str(r)}}} for h, r in (("aa", 3), ("bb", 5))]
    assert facts.revisions(rs + [{"metadata": {"name": "bare"}}]) == {3: "web-aa", 5: "web-bb"}
    ing = {"spec": {"rules": [{"host": "shop.example.test", "http": {"paths": [
        {"path": "/admin", "backend": {"service": {"name": "admin",
                                                   "port": {"number": 80}}}}]}}]}}
    backend = facts.ingress_backend(ing, "shop.example.test", "/admin")
    assert backend == {"name": "admin", "port": {"number": 80}}
    svc = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    assert facts.service_port(svc, backend["port"])["targetPort"] == 8080
    assert facts.service_port(svc, {"name": "http"})["port"] == 80
    assert facts.service_port(svc, {"number": 8080}) is None
    assert facts.service_port(None, {"number": 80}) is None


def test_per_label_counts_endpoints_and_answers_by_track():
    pods = [{"metadata": {"name": f"shop-{t}-{i}", "labels": {"track": t}},
             "status": {"podIP": f"10.0.0.{n}"}}
            for n, (t, i) in enumerate([("stable", 1), ("stable", 2), ("canary", 1)])]
    pods.append({"metadata": {"name": "pending", "labels": {"track": "canary"}}})   # no IP
    assert facts.per_label(pods, "track", ["10.0.0.0", "10.0.0.1", "10.0.0.2"]) == \
        {"stable": 2, "canary": 1}
    answers = ["shop-stable-1"] * 5 + ["shop-canary-1"] * 2 + ["fail"]
    assert facts.per_label(pods, "track", answers) == {"stable": 5, "canary": 2}


def test_service_and_ingress_facts():
    slices = [{"endpoints": [{"addresses": ["10.0.0.2"], "conditions": {"ready": True}},
                             {"addresses": ["10.0.0.1"], "conditions": {"ready": False}}]}]
    assert facts.ready_addresses(slices) == ["10.0.0.2"]
    svc = {"spec": {"type": "NodePort", "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}}
    assert facts.port_chain(svc) == ("NodePort", 30080, 80, 8080, {"app": "web"})
    assert facts.port_chain(None) is None
    assert facts.node_ports(svc) == [30080] and facts.external_address(svc) == "172.18.255.200"
    ing = {"spec": {"rules": [{"host": "shop.example.test", "http": {"paths": [
        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api"}}}]}}]}}
    assert facts.ingress_routes(ing) == {("shop.example.test", "/api"): "api"}
    assert facts.path_type(ing, "shop.example.test", "/api") == "Prefix"
    assert facts.path_type(ing, "shop.example.test", "/x") is None


def test_gateway_facts():
    waiting = {"status": {"conditions": [
        {"type": "Accepted", "status": "Unknown", "reason": "Pending",
         "message": "Waiting for controller"}]}}
    assert facts.condition(waiting, "Programmed") is None
    assert facts.condition_message(waiting, "Accepted") == \
        "Accepted=Unknown (Pending: Waiting for controller)"
    route = {"spec": {"rules": [{"backendRefs": [{"name": "shop", "port": 80, "weight": 80},
                                                 {"name": "shop-v2", "port": 80}]}]},
             "status": {"parents": [{"parentRef": {"name": "web"}, "conditions": [
                 {"type": "Accepted", "status": "True"}]}]}}
    assert facts.route_accepted(route) and not facts.route_accepted({})
    assert facts.backend_weights(route) == {"shop": 80, "shop-v2": 1}


# ------------------------------------------------------------------ client pods
def test_client_scripts_are_valid_shell_and_read_back():
    script = clients.ask_script([("http://web/hostname", None),
                                 ("http://traefik.kube-system/x", "api.example.test")], 10)
    assert subprocess.run(["sh", "-n", "-c", script]).returncode == 0
    assert "--header 'Host: api.example.test'" in script
    assert clients.parse_answers("answer: web-1\nnoise\nanswer: \n", 3) == ["web-1", "", ""]
    counting = clients.count_script("http://shop/hostname", 200, host="canary.example.test")
    assert subprocess.run(["sh", "-n", "-c", counting]).returncode == 0
    counts = clients.parse_counts("answer: a\nanswer: b\nanswer: a\nanswer: fail\n")
    assert counts == {"a": 2, "b": 1, "fail": 1}


def test_client_scripts_answer_through_a_stand_in_wget(tmp_path):
    """Run the scripts with sh and a fake wget: the first request fails once, then the
    answer comes; the counting loop counts each answer."""
    (tmp_path / "wget").write_text("#!/bin/sh\nif [ -e \"$0.tried\" ]; then echo web-7; "
                                   "else touch \"$0.tried\"; exit 1; fi\n")
    (tmp_path / "wget").chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    out = subprocess.run(["sh", "-c", clients.ask_script([("http://web/", None)], 5)],
                         capture_output=True, text=True, env=env, timeout=30).stdout
    assert clients.parse_answers(out, 1) == ["web-7"]
    out = subprocess.run(["sh", "-c", clients.count_script("http://web/", 3)],
                         capture_output=True, text=True, env=env, timeout=30).stdout
    assert clients.parse_counts(out) == {"web-7": 3}
