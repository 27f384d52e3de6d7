"""Who is in a workshop now, read from the cluster: the learners' first namespaces (labelled
with the workshop and the learner), and whether the workshop itself exists."""
from __future__ import annotations

import json

from kubelab._base.contract import LEARNER_LABEL, WORKSHOP_LABEL, learner_namespace
from kubelab._base.errors import UsageError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab.workshop.learners import Learner
from kubelab.workshop.manifests import policy_name


def existing_learners(cluster: Cluster, workshop: str) -> dict[str, dict]:
    """learner name -> their first namespace (as the API returns it)."""
    out = cluster.kubectl(["get", "namespaces", "-l", f"{WORKSHOP_LABEL}={workshop}",
                           "-o", "json"], timeout=120).stdout
    found = {}
    for ns in json.loads(out)["items"]:
        name = (ns["metadata"].get("labels") or {}).get(LEARNER_LABEL)
        if name and ns["metadata"]["name"] == learner_namespace(workshop, name):
            found[name] = ns
    return found


def workshop_exists(cluster: Cluster, workshop: str) -> bool:
    """Whether `create` made this workshop (its admission policy is there)."""
    out = cluster.kubectl(["get", "validatingadmissionpolicies", policy_name(workshop),
                           "--ignore-not-found", "-o", "name"]).stdout
    return bool(out.strip())


def chosen(cluster: Cluster, workshop: str, names: list[str] | None,
           every: bool) -> list[Learner]:
    """The learners a command names (or all of them, with `every`), each checked to be in
    the workshop now."""
    have = existing_learners(cluster, workshop)
    if every:
        picked = sorted(have)
    else:
        picked = [n.strip().lower() for n in names or [] if n.strip()]
        if not picked:
            raise UsageError(tr("no learner given."),
                             tr("name the learners (e.g. `kim lee`), or pass --all."))
    missing = [n for n in picked if n not in have]
    if missing:
        raise UsageError(
            tr("not in workshop {workshop}: {names}.", workshop=workshop,
               names=", ".join(missing)),
            tr("`kubelab workshop progress --name {workshop}` lists its learners; add new "
               "ones with `kubelab workshop add --name {workshop} --learners NAMES`.",
               workshop=workshop))
    return [Learner(workshop, n) for n in picked]
