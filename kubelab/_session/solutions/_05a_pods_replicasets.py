"""Chapter 05a's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.facts import is_leaving
from kubelab._session.solutions import solution, wrong

OLD = "registry.k8s.io/e2e-test-images/agnhost:2.59"
NEW = "registry.k8s.io/e2e-test-images/agnhost:2.63.0"


def _echo_pods(lab, tag: str) -> list[str]:  # noqa: ANN001
    return sorted(p["metadata"]["name"] for p in lab.ready_pods("app=echo")
                  if p["spec"]["containers"][0]["image"].endswith(":" + tag))


@solution("new-image-only", reveals=("%kubectl delete pod NAME` for each old one",))
def new_image_only(lab, **_: object) -> None:  # noqa: ANN001
    """kubectl delete pod <each pod running 2.59>, one at a time, each replaced before
    the next goes"""
    for name in _echo_pods(lab, "2.59"):
        lab.kubectl(["delete", "pod", name, "--wait=true"], timeout=90)
        lab.wait_pods("app=echo", 3)


def _two_old_pods_again(lab, *, view, **_: object) -> None:  # noqa: ANN001
    """kubectl set image rs/echo agnhost=...:2.59, delete two new pods, set image back
    to 2.63.0 (the exercise's start: 2 pods on 2.59, 1 on 2.63.0); the live view forgets
    what it saw"""
    from kubelab._session.live import Seen
    lab.kubectl(["set", "image", "rs/echo", f"agnhost={OLD}"])
    for name in _echo_pods(lab, "2.63.0")[:2]:
        lab.kubectl(["delete", "pod", name, "--wait=true"], timeout=90)
        lab.wait_pods("app=echo", 3)
    lab.kubectl(["set", "image", "rs/echo", f"agnhost={NEW}"])
    lab.wait_for("Pod", lambda ps: len(ps) == 3 and sum(
        p["spec"]["containers"][0]["image"] == OLD for p in ps) == 2,
        selector="app=echo", timeout=60, describe="2 pods of echo on 2.59, 1 on 2.63.0")
    # the view keeps watching; what it saw so far becomes one moment: the pods as now
    moments = view.states("Pod")
    view.seen[:] = [Seen(0, "ADDED", "Pod", name, "", obj)
                    for name, obj in (moments[-1] if moments else {}).items()]


@wrong("new-image-only", shows=("fewest Ready pods", "below 2"), undo=_two_old_pods_again)
def all_at_once(lab, **_: object) -> None:  # noqa: ANN001
    """kubectl delete pods -l app=echo (all at once: no pod serves until the new ones
    are Ready)"""
    lab.kubectl(["delete", "pods", "-l", "app=echo", "--wait=true"], timeout=90)
    lab.wait_pods("app=echo", 3)


@wrong("new-image-only", shows=("2.59", "agnhost 2.63.0"))
def only_one_old_pod(lab, **_: object) -> None:  # noqa: ANN001
    """kubectl delete pod <one pod running 2.59> (the other old one stays)"""
    lab.kubectl(["delete", "pod", _echo_pods(lab, "2.59")[0], "--wait=true"], timeout=90)
    lab.wait_pods("app=echo", 3)


@solution("release-stray", reveals=("%kubectl label pod stray app=free --overwrite",))
def release_stray(lab) -> None:  # noqa: ANN001
    """kubectl label pod stray app=free --overwrite"""
    lab.kubectl(["label", "pod", "stray", "app=free", "--overwrite"])


@wrong("release-stray", shows=("stray's owner: stray", "label"))
def annotated_instead(lab) -> None:  # noqa: ANN001
    """kubectl annotate pod stray app=free (an annotation: selectors read labels)"""
    lab.kubectl(["annotate", "pod", "stray", "app=free", "--overwrite"])


@wrong("release-stray", shows=("stray's owner: stray", "label"))
def added_a_second_label(lab) -> None:  # noqa: ANN001
    """kubectl label pod stray role=free (a new label beside app=stray, which still
    matches)"""
    lab.kubectl(["label", "pod", "stray", "role=free"])


# Exercise 3 starts broken: the ReplicaSet queue's template asks for a node label no node
# has, so its pods stay Pending.
NO_SELECTOR = '{"spec":{"template":{"spec":{"nodeSelector":null}}}}'
BROKEN_SELECTOR = '{"spec":{"template":{"spec":{"nodeSelector":{"disktype":"nvme"}}}}}'


@solution("repair-queue", reveals=(f"%kubectl patch rs queue -p '{NO_SELECTOR}'",
                                   "%kubectl delete pods -l app=queue"))
def repair_queue(lab) -> None:  # noqa: ANN001
    """kubectl patch rs queue (no nodeSelector), then kubectl delete pods -l app=queue

    The replacements come from the repaired template."""
    lab.kubectl(["patch", "rs", "queue", "-p", NO_SELECTOR])
    lab.kubectl(["delete", "pods", "-l", "app=queue", "--wait=true"], timeout=90)
    lab.wait_pods("app=queue", 2)


def _selector_again(lab) -> None:  # noqa: ANN001
    """kubectl patch rs queue (the template's nodeSelector disktype=nvme again)"""
    lab.kubectl(["patch", "rs", "queue", "-p", BROKEN_SELECTOR])


@wrong("repair-queue", shows=("made since it arrived: 0", "leaves the pods it already has"),
       undo=_selector_again)
def repaired_the_template_only(lab) -> None:  # noqa: ANN001
    """kubectl patch rs queue (no nodeSelector), and nothing else: the pods stay Pending

    The ReplicaSet leaves the pods it has as they are."""
    lab.kubectl(["patch", "rs", "queue", "-p", NO_SELECTOR])


@wrong("repair-queue", shows=("Pending", "from its template"))
def deleted_the_pending_pods(lab) -> None:  # noqa: ANN001
    """kubectl delete pods -l app=queue (template unchanged: the new pods wait too)"""
    gone = set(lab.names("Pod", "app=queue"))
    lab.kubectl(["delete", "pods", "-l", "app=queue", "--wait=true"], timeout=90)
    lab.wait_for("Pod", lambda ps: len([p for p in ps if p["metadata"]["name"] not in gone
                                        and not is_leaving(p)]) == 2,
                 selector="app=queue", timeout=60, stop_on=False,
                 describe="2 new pods of queue")
