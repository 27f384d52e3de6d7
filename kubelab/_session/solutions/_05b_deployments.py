"""Chapter 05b's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.facts import is_ready
from kubelab._session.solutions import solution, wrong


@solution("back-to-revision-3", reveals=("rollout undo deployment/web --to-revision=3",))
def back_to_revision_3(lab) -> None:  # noqa: ANN001
    """kubectl rollout undo deployment/web --to-revision=3"""
    lab.kubectl(["rollout", "undo", "deployment/web", "--to-revision=3"])


# The order matters: each starts where the one before left off, and revision 3 (its
# ReplicaSet) stays in the history for the solution.
@wrong("back-to-revision-3", shows=("not revision 3's ReplicaSet", "a new revision"))
def the_same_image_again(lab) -> None:  # noqa: ANN001
    """kubectl set image deployment/web agnhost=...:2.59 (2.59 again, but in a new
    template: GREETING stays)"""
    lab.kubectl(["set", "image", "deployment/web",
                 "agnhost=registry.k8s.io/e2e-test-images/agnhost:2.59"])
    lab.wait_rollout("web")


@wrong("back-to-revision-3", shows=("2.63.0", "one step"))
def plain_undo(lab) -> None:  # noqa: ANN001
    """kubectl rollout undo deployment/web (one step back: the previous revision, not 3)"""
    lab.kubectl(["rollout", "undo", "deployment/web"])
    lab.wait_rollout("web")


@solution("quota-for-three", reveals=("""'{"spec":{"hard":{"pods":"3"}}}'""",))
def quota_for_three(lab, *, team_b: str) -> None:  # noqa: ANN001
    """kubectl patch quota pods-budget -n <team B> -p '{"spec":{"hard":{"pods":"3"}}}',
    then wait for the ReplicaSet's retry"""
    lab.kubectl(["patch", "quota", "pods-budget", "-n", team_b, "-p",
                 '{"spec":{"hard":{"pods":"3"}}}'])
    # the ReplicaSet controller retries refused creates with a back-off that doubles each
    # time (minutes, after a few wrong tries); any change to the ReplicaSet makes it try
    # at once. A refused annotation (a workshop login without the right) only means
    # waiting for the back-off.
    # Admission enforces the quota's status, which the quota controller fills in a
    # moment after the patch: nudge the ReplicaSet only once it says 3.
    lab.wait_for("ResourceQuota", lambda qs: bool(qs) and ((qs[0].get("status") or {})
                                                          .get("hard") or {}).get("pods") == "3",
                 name="pods-budget", namespace=team_b, timeout=60,
                 describe=f"the quota pods-budget in {team_b} to allow 3 pods")
    lab.kubectl(["annotate", "replicaset", "-l", "app=web", "-n", team_b, "--overwrite",
                 "kubelab.dev/retry=after-the-quota-changed"], check=False)
    lab.wait_for("Pod", lambda ps: sum(map(is_ready, ps)) >= 3, namespace=team_b,
                 selector="app=web", timeout=120, stop_on=False,
                 describe=f"3 Ready pods of web in {team_b}")


@wrong("quota-for-three", shows=("2 Ready", "team B's namespace"))
def patched_without_the_namespace(lab, *, team_b: str) -> None:  # noqa: ANN001
    """kubectl patch quota pods-budget -p '{"spec":{"hard":{"pods":"3"}}}' (without -n:
    in the chapter's namespace, which has no such quota)"""
    print(lab.kubectl(["patch", "quota", "pods-budget", "-p",
                       '{"spec":{"hard":{"pods":"3"}}}'], check=False))


@wrong("quota-for-three", shows=("2 Ready", "team B's namespace"))
def a_second_quota(lab, *, team_b: str) -> None:  # noqa: ANN001
    """kubectl create quota more-pods -n <team B> --hard=pods=3 (a second quota: every
    quota must allow the pod, and pods-budget still says 2)"""
    lab.kubectl(["create", "quota", "more-pods", "-n", team_b, "--hard=pods=3"])
