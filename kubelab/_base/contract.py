"""What kubelab writes on a cluster and reads back: labels, annotations and object names.

One side writes each of these and another reads it (`kubelab workshop create` writes a
learner's namespaces, the chapters' Scope reads them; a learner's checks write the
progress record, `kubelab workshop progress` reads it), so they are spelt here once and
both sides import them. Imports nothing of kubelab.
"""
from __future__ import annotations

# ------------------------------------------------------------------ a lab of one's own
LESSON_LABEL = "kubelab.dev/lesson"            # on a chapter's namespaces: the chapter

# ------------------------------------------------------------------ workshops
WORKSHOP_LABEL = "kubelab.dev/workshop"        # on everything a workshop made: its name
LEARNER_LABEL = "kubelab.dev/learner"          # on a learner's objects: the learner's name
NODE_PORT_ANNOTATION = "kubelab.dev/node-port-base"   # on a learner's namespaces: the
#                                                       first of their two fixed nodePorts
SECOND_NAMESPACE_SUFFIX = "-b"                 # a learner's second namespace: NAMESPACE-b
LEARNER_SERVICE_ACCOUNT = "learner"            # in the learner's first namespace: the login
LEARNER_ROLE = "kubelab-learner"               # Role and RoleBinding in both namespaces

# The ConfigMap in a learner's first namespace that their checks keep (one key per
# chapter: a JSON object, check description -> passed) and the instructor reads.
PROGRESS_CONFIGMAP = "kubelab-progress"


def learner_namespace(workshop: str, learner: str) -> str:
    """A learner's first namespace (the one their login defaults to)."""
    return f"{workshop}-{learner}"


def learner_namespaces(namespace: str) -> list[str]:
    """A learner's two namespaces, from the first."""
    return [namespace, f"{namespace}{SECOND_NAMESPACE_SUFFIX}"]
