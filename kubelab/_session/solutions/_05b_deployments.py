"""Chapter 05b's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.facts import is_ready
from kubelab._session.solutions import solution


@solution("back-to-revision-3", reveals=("rollout undo deployment/web --to-revision=3",))
def back_to_revision_3(lab) -> None:  # noqa: ANN001
    """kubectl rollout undo deployment/web --to-revision=3"""
    lab.kubectl(["rollout", "undo", "deployment/web", "--to-revision=3"])


@solution("quota-for-three", reveals=("""'{"spec":{"hard":{"pods":"3"}}}'""",))
def quota_for_three(lab, *, team_b: str) -> None:  # noqa: ANN001
    """kubectl patch quota pods-budget -n <team B> -p '{"spec":{"hard":{"pods":"3"}}}',
    then wait for the ReplicaSet's retry"""
    lab.kubectl(["patch", "quota", "pods-budget", "-n", team_b, "-p",
                 '{"spec":{"hard":{"pods":"3"}}}'])
    # the ReplicaSet backs off after its refused attempts: its next try may take a while
    lab.wait_for("Pod", lambda ps: sum(map(is_ready, ps)) >= 3, namespace=team_b,
                 selector="app=web", timeout=120, stop_on=False,
                 describe=f"3 Ready pods of web in {team_b}")
