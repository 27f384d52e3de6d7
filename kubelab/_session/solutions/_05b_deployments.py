"""Chapter 05b's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from typing import Callable

from kubelab._base.versions import IMAGES
from kubelab._session.facts import is_leaving, is_ready, revisions, rollout_complete
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


# Exercise 3 starts broken: cart was rolled from agnhost 2.63.0 to an image no registry
# has (e2e-test-image, without the s); the rollout never completes where containers run.
CART_GOOD = IMAGES["agnhost"]
CART_BROKEN = "registry.k8s.io/e2e-test-image/agnhost:2.63.0"


def _cart_rollout(lab, what: str, done: Callable[[dict], bool]) -> dict:  # noqa: ANN001
    """Wait (bounded) for cart, without stopping at the broken pods' pull errors."""
    return lab.wait_for("Deployment", lambda ds: bool(ds) and done(ds[0]), name="cart",
                        timeout=90, stop_on=False, describe=what)[0]


def _cart_images(lab) -> dict[int, str]:  # noqa: ANN001
    """{revision: image} of cart's ReplicaSets."""
    sets = lab.list("ReplicaSet", selector="app=cart")
    image = {rs["metadata"]["name"]: rs["spec"]["template"]["spec"]["containers"][0]["image"]
             for rs in sets}
    return {rev: image[name] for rev, name in revisions(sets).items()}


def _begun(d: dict) -> bool:
    """The controller has seen cart's latest template and made a pod of it."""
    st = d.get("status") or {}
    return (st.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
            and st.get("updatedReplicas", 0) >= 1)


@solution("repair-cart", reveals=("%kubectl rollout undo deployment/cart",))
def repair_cart(lab) -> None:  # noqa: ANN001
    """kubectl rollout undo deployment/cart (back to the revision that ran 2.63.0)"""
    lab.kubectl(["rollout", "undo", "deployment/cart"])
    _cart_rollout(lab, "cart's rollout back to agnhost 2.63.0", rollout_complete)
    # until the broken pod is gone too: the check's first look passes
    lab.wait_for("Pod", lambda ps: len(ps) == 2 and all(
        is_ready(p) and p["spec"]["containers"][0]["image"] == CART_GOOD for p in ps),
        selector="app=cart", timeout=90, stop_on=False,
        describe="2 Ready pods of cart on agnhost 2.63.0, none other")


def _broken_release_again(lab) -> None:  # noqa: ANN001
    """kubectl rollout undo --to-revision=<the last on 2.63.0>, then the broken set image

    The release again, after a working revision: one undo step goes back to that."""
    good = max(rev for rev, image in _cart_images(lab).items() if image == CART_GOOD)
    lab.kubectl(["rollout", "undo", "deployment/cart", f"--to-revision={good}"])
    _cart_rollout(lab, "cart back on agnhost 2.63.0", rollout_complete)
    lab.kubectl(["set", "image", "deployment/cart", f"agnhost={CART_BROKEN}"])
    _cart_rollout(lab, "cart's broken release to begin", _begun)


# The order matters: the ReplicaSet deleted first comes back as revision 2 again. After
# the restart (revision 3), one undo step would go back to revision 2, the broken release
# again: so its undo rolls the release out once more after a working revision.
@wrong("repair-cart", shows=("revision 2", "comes back"))
def deleted_the_new_replicaset(lab) -> None:  # noqa: ANN001
    """kubectl delete rs <cart's newest ReplicaSet> (the Deployment makes it again)"""
    sets = lab.list("ReplicaSet", selector="app=cart")
    newest = revisions(sets)[max(revisions(sets))]
    lab.kubectl(["delete", "rs", newest, "--wait=true"], timeout=90)
    lab.wait_for("ReplicaSet", lambda rss: any(
        rs["metadata"]["name"] == newest and not is_leaving(rs) for rs in rss),
        selector="app=cart", timeout=60, stop_on=False,
        describe=f"the ReplicaSet {newest} to come back")
    _cart_rollout(lab, "cart's rollout to begin again", _begun)


@wrong("repair-cart", shows=("revision 3", "the same template"), undo=_broken_release_again)
def restarted_the_rollout(lab) -> None:  # noqa: ANN001
    """kubectl rollout restart deployment/cart (new pods of the same broken template)"""
    lab.kubectl(["rollout", "restart", "deployment/cart"])
    _cart_rollout(lab, "cart's restart to begin", _begun)
